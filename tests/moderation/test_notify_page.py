"""``/admin/notifications`` over HTTP: login required, CSRF, bad input answered 400 with nothing
written, both languages; ``moderators edit`` and ``check-config --smtp`` from the command line."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from federation.app import create_app
from federation.db.moderation import ModeratorAccount, NotifyMode
from federation.i18n import messages
from federation.moderation import accounts
from federation.settings import Settings
from tests.config_toml import config_toml

from .conftest import PASSWORD
from .smtp import Credentials, MailInbox, smtp_server
from .test_cli import _run

MESSAGES = {language: messages(language) for language in ("fr", "en")}


@pytest.fixture
async def admin(database_url: str, make_settings: Callable[..., Settings],
                aiohttp_client: Any) -> Any:
    settings = make_settings(database_url, base_url="http://127.0.0.1:8080",
                             server={"run_worker": False})
    client = await aiohttp_client(create_app(settings))
    await accounts.create_account("camille", PASSWORD, language="en")
    return client


async def _login(client: Any) -> str:
    page = await client.get("/admin/login")
    token = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
    answer = await client.post("/admin/login", data={"csrf": token, "username": "camille",
                                                     "password": PASSWORD},
                               allow_redirects=False)
    assert answer.status == 303
    page = await client.get("/admin/notifications")
    assert page.status == 200
    return re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)


def test_both_languages_have_every_message():
    assert MESSAGES["fr"].keys() == MESSAGES["en"].keys()


async def test_the_page_needs_a_session_and_a_csrf_token(admin):
    answer = await admin.get("/admin/notifications", allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"] == "/admin/login"
    await _login(admin)
    for data in ({"email": "x@y.example", "notify": "immediate"},
                 {"email": "x@y.example", "notify": "immediate", "csrf": "forged"}):
        assert (await admin.post("/admin/notifications", data=data)).status == 403
    account = await ModeratorAccount.get(username="camille")
    assert (account.email, account.notify) == ("", NotifyMode.OFF)


async def test_bad_input_is_400_and_nothing_is_written(admin):
    csrf = await _login(admin)
    answer = await admin.post("/admin/notifications",
                              data={"csrf": csrf, "email": "camille@site\r\nBcc: a@b.example",
                                    "notify": "immediate"})
    assert answer.status == 400
    page = await answer.text()
    assert MESSAGES["en"]["notifications.error.email"] in page  # the account's language
    answer = await admin.post("/admin/notifications",
                              data={"csrf": csrf, "email": "", "notify": "digest"})
    assert answer.status == 400
    assert MESSAGES["en"]["notifications.error.needs_email"] in await answer.text()
    answer = await admin.post("/admin/notifications",
                              data={"csrf": csrf, "email": "c@site.example", "notify": "hourly"})
    assert answer.status == 400
    account = await ModeratorAccount.get(username="camille")
    assert (account.email, account.notify) == ("", NotifyMode.OFF)
    answer = await admin.post("/admin/notifications", allow_redirects=False,
                              data={"csrf": csrf, "email": "c@site.example", "notify": "digest"})
    assert answer.status == 303
    account = await ModeratorAccount.get(username="camille")
    assert (account.email, account.notify) == ("c@site.example", NotifyMode.DIGEST)
    page = await (await admin.get("/admin/notifications")).text()
    assert 'value="c@site.example"' in page
    assert MESSAGES["en"]["notifications.no_smtp"] in page  # this bridge has no [smtp]


@pytest.mark.slow
def test_moderators_edit_and_check_config_smtp(tmp_path: Path) -> None:
    """``moderators edit --email --notify``; ``check-config`` reads the password file and
    ``--smtp`` logs in to a real server on loopback (exit 1 when refused)."""
    (tmp_path / "federation.toml").write_text(config_toml(), encoding="utf-8")
    assert _run("migrate", cwd=tmp_path).returncode == 0
    assert _run("moderators", "add", "camille", cwd=tmp_path,
                stdin=PASSWORD + "\n").returncode == 0
    refused = _run("moderators", "edit", "camille", "--notify", "immediate", cwd=tmp_path)
    assert refused.returncode != 0 and "e-mail address" in refused.stderr
    assert "Traceback" not in refused.stderr
    edited = _run("moderators", "edit", "camille", "--email", "camille@collectif.example",
                  "--notify", "immediate", cwd=tmp_path)
    assert edited.returncode == 0, edited.stderr
    assert "notifications immediate" in edited.stdout
    assert "camille@collectif.example" not in edited.stdout
    assert "no [smtp] host" in edited.stderr
    listing = _run("moderators", "list", cwd=tmp_path).stdout.splitlines()
    assert listing[0].split()[4] == "NOTIFY" and listing[1].split()[4] == "immediate"

    async def check() -> None:
        inbox = MailInbox()
        async with smtp_server(inbox, credentials=Credentials("bridge", "relay-pass")) as port:
            (tmp_path / "smtp-password").write_text("relay-pass\n", encoding="utf-8")
            (tmp_path / "federation.toml").write_text(config_toml(sections={"smtp": {
                "host": "127.0.0.1", "port": port, "security": "none", "username": "bridge",
                "password_file": "smtp-password", "from_address": "federation@bridge.example",
            }}), encoding="utf-8")
            good = await asyncio.to_thread(_run, "check-config", "--smtp", cwd=tmp_path)
            assert good.returncode == 0, good.stderr
            assert "connected and accepted" in good.stdout
            (tmp_path / "smtp-password").write_text("wrong\n", encoding="utf-8")
            bad = await asyncio.to_thread(_run, "check-config", "--smtp", cwd=tmp_path)
            assert bad.returncode == 1 and "535" in bad.stderr, bad.stderr
            (tmp_path / "smtp-password").unlink()
            missing = await asyncio.to_thread(_run, "check-config", cwd=tmp_path)
            assert missing.returncode == 2 and "smtp.password_file" in missing.stderr
        assert inbox.messages == []

    asyncio.run(check())
