"""Moderator accounts, their sessions and API tokens, and the login rate limiter.

- Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).
  Checking an unknown username still runs one verification, so timing does not tell which
  usernames exist.
- A session is a random cookie token of which only the sha-256 is stored, with its CSRF token
  (synchronizer pattern) and an expiry. Logging out deletes the row.
- An API token is shown once; only its sha-256 is stored, with its scopes. Tokens are 256
  random bits looked up by their hash: they cannot be guessed, so their checks are not counted
  (login attempts are: :mod:`federation.moderation.logins`).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from tortoise.exceptions import IntegrityError

from federation.db.moderation import (
    ModeratorAccount,
    ModeratorSession,
    ModeratorToken,
    NotifyMode,
)
from federation.errors import BadRequest, Conflict, NotFound
from federation.i18n import languages
from federation.settings import EMAIL_RE, USERNAME_RE

#: Scopes of moderator API tokens: ``moderation`` (every action) or ``moderation:read`` (lists).
SCOPE_MODERATION = "moderation"
SCOPE_READ = "moderation:read"
KNOWN_SCOPES = frozenset({SCOPE_MODERATION, SCOPE_READ})
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()  # argon2id (a parameter holder: computes nothing)


@functools.cache
def _dummy_hash() -> str:
    """The hash checked when there is no account (same cost as a real check), made at the first
    such login rather than at import (it costs an argon2 hash)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (checked for length first)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadRequest("the password is too long")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; always spends one verification."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password[:MAX_PASSWORD_LENGTH]) and (
            password_hash is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- accounts -----------------------------------------------------------------------------


def _check_username(username: str) -> str:
    if not USERNAME_RE.match(username):
        raise BadRequest("a username has 1-64 letters, digits, '_', '.' or '-'")
    return username


async def create_account(username: str, password: str, *, language: str = "fr",
                         is_admin: bool = False) -> ModeratorAccount:
    _check_username(username)
    if language not in languages():
        raise BadRequest(f"language must be one of {', '.join(languages())}")
    password_hash = hash_password(password)
    try:
        return await ModeratorAccount.create(
            username=username, password_hash=password_hash, language=language, is_admin=is_admin
        )
    except IntegrityError:
        raise Conflict(f"a moderator named {username!r} exists already") from None


async def get_account(username: str) -> ModeratorAccount:
    account = await ModeratorAccount.get_or_none(username=username)
    if account is None:
        raise NotFound(f"no moderator named {username!r}")
    return account


async def set_password(username: str, password: str) -> None:
    account = await get_account(username)
    account.password_hash = hash_password(password)
    await account.save(update_fields=["password_hash"])
    await ModeratorSession.filter(moderator=account).delete()  # log out everywhere


def clean_email(value: str) -> str:
    """An address as typed (spaces around removed; empty: none), or BadRequest."""
    value = value.strip()
    if value and (len(value) > 254 or not EMAIL_RE.match(value)):
        raise BadRequest("the e-mail address is not valid (an address such as "
                         "camille@site.example, in ASCII)")
    return value


async def set_notifications(account: ModeratorAccount, *, email: str | None = None,
                            notify: NotifyMode | str | None = None, language: str | None = None,
                            now: datetime | None = None) -> ModeratorAccount:
    """Change a moderator's notification preferences (what is ``None`` stays). Notifications
    need an address; choosing the daily digest starts its period now (no digest of the past).
    Everything is checked before anything is written."""
    fields: list[str] = []
    if email is not None:
        account.email = clean_email(email)
        fields.append("email")
    if notify is not None:
        try:
            mode = NotifyMode(notify)
        except ValueError:
            raise BadRequest(f"notify must be one of {', '.join(m.value for m in NotifyMode)}"
                             ) from None
        if mode == NotifyMode.DIGEST and account.notify != NotifyMode.DIGEST:
            account.digest_sent_at = now or datetime.now(UTC)
            fields.append("digest_sent_at")
        account.notify = mode
        fields.append("notify")
    if language is not None:
        if language not in languages():
            raise BadRequest(f"language must be one of {', '.join(languages())}")
        account.language = language
        fields.append("language")
    if account.notify != NotifyMode.OFF and not account.email:
        raise BadRequest("notifications need an e-mail address")
    if fields:
        await account.save(update_fields=fields)
    return account
async def set_admin(username: str, is_admin: bool) -> None:
    """Give or take the administrator role (the admin pages: /admin/actors…)."""
    account = await get_account(username)
    account.is_admin = is_admin
    await account.save(update_fields=["is_admin"])


async def remove_account(username: str) -> None:
    account = await get_account(username)
    await account.delete()


async def authenticate(username: str, password: str) -> ModeratorAccount | None:
    """The account if ``password`` is right and the account enabled, else None."""
    account = await ModeratorAccount.get_or_none(username=username[:64])
    # argon2 takes tens of milliseconds: keep the event loop serving other requests
    ok = await asyncio.to_thread(verify_password, account.password_hash if account else None,
                                 password)
    if not ok or account is None or account.disabled:
        return None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
        await account.save(update_fields=["password_hash"])
    return account


# -- sessions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionInfo:
    """A valid session: its moderator and its CSRF token."""

    account: ModeratorAccount
    csrf_token: str
    session_id: int


async def open_session(account: ModeratorAccount, *, hours: int,
                       now: datetime | None = None) -> str:
    """Create a session for ``account``; return the cookie token (stored only hashed)."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    await ModeratorSession.filter(expires_at__lt=now).delete()
    await ModeratorSession.create(
        token_hash=sha256_hex(token), csrf_token=secrets.token_urlsafe(32), moderator=account,
        expires_at=now + timedelta(hours=hours),
    )
    return token


async def find_session(token: str | None, *, now: datetime | None = None) -> SessionInfo | None:
    if not token or len(token) > 128:
        return None
    now = now or datetime.now(UTC)
    row = await ModeratorSession.get_or_none(token_hash=sha256_hex(token)).prefetch_related(
        "moderator"
    )
    if row is None or row.expires_at <= now or row.moderator.disabled:
        return None
    return SessionInfo(row.moderator, row.csrf_token, row.id)


async def close_session(token: str | None) -> None:
    if token and len(token) <= 128:
        await ModeratorSession.filter(token_hash=sha256_hex(token)).delete()


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


# -- API tokens ---------------------------------------------------------------------------


async def create_token(username: str, *, name: str = "",
                       scopes: tuple[str, ...] = (SCOPE_MODERATION,)) -> str:
    """A new API token for ``username``; the value is returned once and stored hashed."""
    unknown = set(scopes) - KNOWN_SCOPES
    if unknown:
        raise BadRequest(f"unknown scope(s): {', '.join(sorted(unknown))}")
    account = await get_account(username)
    token = "fedmod_" + secrets.token_urlsafe(32)
    await ModeratorToken.create(token_hash=sha256_hex(token), name=name[:64], scopes=list(scopes),
                                moderator=account)
    return token


async def find_token(token: str) -> ModeratorToken | None:
    """The token row (with its moderator) for a presented bearer token, if valid."""
    if not token or len(token) > 256:
        return None
    row = await ModeratorToken.get_or_none(token_hash=sha256_hex(token)).prefetch_related(
        "moderator"
    )
    if row is None or row.moderator.disabled:
        return None
    row.last_used_at = datetime.now(UTC)
    await row.save(update_fields=["last_used_at"])
    return row


async def revoke_tokens(username: str) -> int:
    account = await get_account(username)
    return await ModeratorToken.filter(moderator=account).delete()
