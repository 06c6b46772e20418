"""Accounts: argon2id hashes, session expiry, API tokens stored hashed, the login limiter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from federation.db.moderation import ModeratorSession, ModeratorToken
from federation.errors import BadRequest, Conflict
from federation.moderation import accounts

from .conftest import PASSWORD


async def test_passwords_are_argon2id_and_checked(directory):
    """Hashes are argon2id; a wrong password, an unknown or disabled user are refused."""
    account = await accounts.create_account("camille", PASSWORD)
    assert account.password_hash.startswith("$argon2id$")
    assert await accounts.authenticate("camille", PASSWORD) is not None
    assert await accounts.authenticate("camille", PASSWORD + "x") is None
    assert await accounts.authenticate("nobody", PASSWORD) is None
    account.disabled = True
    await account.save()
    assert await accounts.authenticate("camille", PASSWORD) is None
    with pytest.raises(Conflict):
        await accounts.create_account("camille", PASSWORD)
    with pytest.raises(BadRequest):
        await accounts.create_account("dominique", "short")


async def test_sessions_expire_and_tokens_are_stored_hashed(directory):
    """A session is valid until its expiry; only hashes of cookies and tokens are stored."""
    account = await accounts.create_account("camille", PASSWORD)
    now = datetime.now(UTC)
    token = await accounts.open_session(account, hours=1, now=now)
    assert await accounts.find_session(token, now=now + timedelta(minutes=59)) is not None
    assert await accounts.find_session(token, now=now + timedelta(minutes=61)) is None
    row = await ModeratorSession.get()
    assert token not in (row.token_hash, row.csrf_token)
    api_token = await accounts.create_token("camille")
    assert not await ModeratorToken.filter(token_hash=api_token).exists()
    assert (await accounts.find_token(api_token)).moderator.username == "camille"
    await accounts.set_password("camille", "a brand new password")
    assert await accounts.find_session(token, now=now) is None  # logged out everywhere
