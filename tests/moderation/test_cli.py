"""``federation moderators`` and ``federation moderation`` in a subprocess (SQLite)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest

from federation.db.lifecycle import open_database
from federation.db.moderation import ModeratorAccount, Reply, ReplyState
from federation.identity.directory import ActorDirectory
from federation.moderation.accounts import authenticate
from federation.settings import load_settings
from federation.signing.keys import KeyVault
from tests.cli.conftest import clean_env
from tests.config_toml import config_toml

from .conftest import PASSWORD, Factory


def _run(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "federation", "-c", "federation.toml", *args],
                          cwd=cwd, env=clean_env(), input=stdin, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
def test_moderators_and_moderation_commands(tmp_path: Path) -> None:
    """Add a moderator with the password on stdin, list, change it; approve a reply by id."""
    (tmp_path / "federation.toml").write_text(config_toml(), encoding="utf-8")
    assert _run("migrate", cwd=tmp_path).returncode == 0
    added = _run("moderators", "add", "camille", "--language", "en", cwd=tmp_path,
                 stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout + added.stderr
    listing = _run("moderators", "list", cwd=tmp_path)
    assert "camille" in listing.stdout and "en" in listing.stdout
    assert _run("moderators", "passwd", "camille", cwd=tmp_path,
                stdin="another long password\n").returncode == 0
    token = _run("moderators", "token", "camille", cwd=tmp_path)
    assert token.stdout.startswith("fedmod_")

    settings = load_settings(tmp_path / "federation.toml", env={})

    async def seed() -> int:
        async with open_database(settings.effective_database_url):
            directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
            await directory.load()
            factory = Factory(directory)
            reply = await factory.reply(await factory.article())
            account = await ModeratorAccount.get(username="camille")
            assert account.password_hash.startswith("$argon2id$")
            assert await authenticate("camille", "another long password") is not None
            return reply.id

    reply_id = asyncio.run(seed())
    pending = _run("moderation", "list", cwd=tmp_path)
    assert str(reply_id) in pending.stdout and "@alice@social.example" in pending.stdout
    approved = _run("moderation", "approve", str(reply_id), "--as", "camille", cwd=tmp_path)
    assert approved.returncode == 0 and f"{reply_id}: approved" in approved.stdout

    async def check() -> None:
        async with open_database(settings.effective_database_url):
            assert (await Reply.get(id=reply_id)).state == ReplyState.APPROVED

    asyncio.run(check())
    assert _run("moderators", "remove", "camille", cwd=tmp_path).returncode == 0


def test_new_moderator_gets_the_configured_language(tmp_path: Path) -> None:
    """Without --language, an account speaks `moderation.language` (it was always French)."""
    (tmp_path / "federation.toml").write_text(config_toml(sections={"moderation": {"language": "en"}}),
                                              encoding="utf-8")
    assert _run("migrate", cwd=tmp_path).returncode == 0
    added = _run("moderators", "add", "sam", cwd=tmp_path, stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    listing = _run("moderators", "list", cwd=tmp_path)
    assert re.search(r"^sam\s+en\b", listing.stdout, re.MULTILINE), listing.stdout
