"""Signing outbound requests as one of our actors (draft-cavage, as Mastodon expects)."""

from __future__ import annotations

from collections.abc import Mapping

from federation.identity.directory import ActorDirectory
from federation.remote.client import Signer
from federation.signing.cavage import sign_request


def signer_for(directory: ActorDirectory, identifier: str) -> Signer:
    """A signer for the hardened client: requests are signed by actor ``identifier``.

    The actor is looked up at each call, so a key rotation takes effect without a restart.
    """

    def sign(method: str, url: str, headers: Mapping[str, str], body: bytes | None
             ) -> Mapping[str, str]:
        actor = directory.sender(identifier)
        return sign_request(method, url, headers, body, actor.key_id, actor.rsa_private)

    return sign
