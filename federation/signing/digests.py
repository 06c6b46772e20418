"""Body digests: ``Digest: SHA-256=<b64>`` (RFC 3230) and ``Content-Digest`` (RFC 9530).

Both are always recomputed over the raw body as received. A header naming only algorithms we
do not know is refused (``unsupported_algorithm``); every known algorithm present must match.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable

import http_sf

from federation.errors import SignatureError

#: Algorithms accepted in ``Digest`` (lower-cased names) and ``Content-Digest``.
DIGEST_ALGORITHMS: dict[str, Callable[[bytes], bytes]] = {
    "sha-256": lambda body: hashlib.sha256(body).digest(),
    "sha-512": lambda body: hashlib.sha512(body).digest(),
}
#: A digest header longer than this is refused before parsing.
MAX_DIGEST_HEADER_LENGTH = 1024


def sha256_digest_header(body: bytes) -> str:
    """The ``Digest`` header value for ``body``: ``SHA-256=<base64>``."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` header value for ``body``: ``sha-256=:<base64>:``."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def _check_all(pairs: list[tuple[str, bytes]], body: bytes, header: str) -> str:
    known = [(alg, value) for alg, value in pairs if alg in DIGEST_ALGORITHMS]
    if not known:
        raise SignatureError("unsupported_algorithm", f"{header} names no supported algorithm")
    for alg, value in known:
        if not hmac.compare_digest(DIGEST_ALGORITHMS[alg](body), value):
            raise SignatureError("digest_mismatch", f"{header} {alg} does not match the body")
    return known[0][0]


def verify_digest_header(value: str | None, body: bytes) -> str:
    """Check a ``Digest`` header against ``body``; return the algorithm used.

    Raises ``SignatureError`` with reason ``missing``, ``malformed``,
    ``unsupported_algorithm`` or ``digest_mismatch``.
    """
    if value is None or not value.strip():
        raise SignatureError("missing", "no Digest header")
    if len(value) > MAX_DIGEST_HEADER_LENGTH:
        raise SignatureError("malformed", "Digest header too long")
    pairs: list[tuple[str, bytes]] = []
    for part in value.split(","):
        alg, sep, encoded = part.strip().partition("=")
        if not sep or not alg:
            raise SignatureError("malformed", "Digest entry without algorithm=value")
        alg = alg.strip().lower()
        if alg not in DIGEST_ALGORITHMS:
            pairs.append((alg, b""))
            continue
        try:
            pairs.append((alg, base64.b64decode(encoded.strip(), validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise SignatureError("malformed", "Digest value is not base64") from exc
    return _check_all(pairs, body, "Digest")


def verify_content_digest_header(value: str | None, body: bytes) -> str:
    """Check an RFC 9530 ``Content-Digest`` header against ``body``; return the algorithm."""
    if value is None or not value.strip():
        raise SignatureError("missing", "no Content-Digest header")
    if len(value) > MAX_DIGEST_HEADER_LENGTH:
        raise SignatureError("malformed", "Content-Digest header too long")
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, UnicodeEncodeError) as exc:
        raise SignatureError("malformed", "Content-Digest is not a structured dictionary") from exc
    if not isinstance(parsed, dict):  # what tltype="dictionary" returns
        raise SignatureError("malformed", "Content-Digest is not a structured dictionary")
    pairs: list[tuple[str, bytes]] = []
    for alg, entry in parsed.items():
        if not isinstance(entry, tuple):  # every dictionary member comes with its parameters
            raise SignatureError("malformed", "Content-Digest member is not a byte sequence")
        member = entry[0]
        if alg in DIGEST_ALGORITHMS and not isinstance(member, bytes):
            raise SignatureError("malformed", "Content-Digest member is not a byte sequence")
        pairs.append((alg, member if isinstance(member, bytes) else b""))
    return _check_all(pairs, body, "Content-Digest")
