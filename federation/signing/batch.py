"""Signing many messages with keys parsed once: what a signing process runs. Pure, no I/O.

RSA signing holds the GIL, so a worker that wants a second core for it signs in other
processes (:mod:`federation.delivery.signer` runs the pool). Such a process is started with
:func:`load_keys` as its initializer (the private keys' PEMs, sent once through the pool's
pipe, never logged) and then answers :func:`sign_batch` calls: one call signs many signing
strings, so the cost of a round trip is shared by the batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from federation.signing.cavage import sign_bytes
from federation.signing.keys import PrivateKey, load_private_key_pem

_keys: dict[str, PrivateKey] = {}


def load_keys(pems: Mapping[str, str]) -> None:
    """Parse the private keys (PEM by key id) this process will sign with."""
    _keys.clear()
    _keys.update({key_id: load_private_key_pem(pem) for key_id, pem in pems.items()})


def sign_batch(key_id: str, messages: Sequence[bytes]) -> list[bytes]:
    """The signatures of ``messages`` by the key ``key_id`` (``KeyError`` if not loaded)."""
    key = _keys[key_id]
    return [sign_bytes(key, message) for message in messages]
