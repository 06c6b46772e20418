"""Bearer tokens of the CMS clients: created and revoked by CLI or ``/admin/tokens``, stored as SHA-256 hashes.

The secret is shown once at creation. Checking a token hashes what was presented, looks the
hash up, and compares it in constant time; a revoked token is refused like an unknown one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from federation.db.ingest import ApiToken
from federation.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from federation.identity.directory import ActorDirectory

TOKEN_PREFIX = "fed_"
#: Longest CMS client name (the column's size).
MAX_NAME_LENGTH = 100
MAX_TOKEN_CHARS = 200


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    name: str
    secret: str  # shown once, never stored


async def create_token(name: str, actors: list[str] | None = None, *,
                       directory: ActorDirectory | None = None) -> NewToken:
    """A new token for the CMS client ``name`` (limited to ``actors`` when given; each must be
    a configured actor of ``directory`` when one is given: ``NotFound`` otherwise)."""
    if not 0 < len(name.strip()) <= MAX_NAME_LENGTH:
        raise BadRequest(f"a token's name is 1 to {MAX_NAME_LENGTH} characters")
    if directory is not None:
        for actor in actors or []:
            directory.get(actor)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        await ApiToken.create(name=name, token_hash=hash_token(secret), prefix=secret[:10],
                              actors=sorted(set(actors or [])))
    except IntegrityError:
        raise Conflict(f"a token named {name!r} exists already (revoke it first)") from None
    return NewToken(name, secret)


async def revoke_token(name: str) -> ApiToken:
    """Revoke the active token named ``name``; :class:`NotFound` if there is none."""
    token = await ApiToken.get_or_none(name=name, revoked_at=None)
    if token is None:
        raise NotFound(f"no active token named {name!r}")
    token.revoked_at = datetime.now(UTC)
    await token.save(update_fields=["revoked_at"])
    return token


async def revoke_token_id(token_id: int) -> ApiToken:
    """Revoke the active token ``token_id`` (``/admin/tokens``); :class:`NotFound` otherwise."""
    token = await ApiToken.get_or_none(id=token_id, revoked_at=None) \
        if 0 < token_id < 2**31 else None
    if token is None:
        raise NotFound(f"no active token #{token_id}")
    return await revoke_token(token.name)


async def list_tokens() -> list[ApiToken]:
    return list(await ApiToken.all().order_by("name"))


def bearer_secret(header: str | None) -> str:
    """The secret of an ``Authorization: Bearer …`` header; :class:`Unauthorized` otherwise."""
    if not header:
        raise Unauthorized("an API token is required (Authorization: Bearer …)")
    scheme, _, secret = header.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > MAX_TOKEN_CHARS:
        raise Unauthorized("an API token is required (Authorization: Bearer …)")
    return secret


async def authenticate(header: str | None) -> ApiToken:
    """The active token presented in ``header``; :class:`Unauthorized` for anything else."""
    presented = hash_token(bearer_secret(header))
    token = await ApiToken.get_or_none(token_hash=presented, revoked_at=None)
    if token is None or not hmac.compare_digest(token.token_hash, presented):
        raise Unauthorized("invalid or revoked API token")
    now = datetime.now(UTC)
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
        await token.save(update_fields=["last_used_at"])
    return token


def authorize(token: ApiToken, actor: str) -> None:
    """:class:`Forbidden` unless ``token`` may publish for ``actor``."""
    if token.actors and actor not in token.actors:
        raise Forbidden(f"this token may not publish for {actor!r}")
