"""``/admin/notifications`` in a real headless Chromium, at desktop and phone widths: a
moderator sets their address and chooses immediate e-mails; a new reply's e-mail reaches a real
SMTP server on loopback, and its link opens the reply in the admin."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from federation.app import create_app
from federation.db.jobs import Job
from federation.db.moderation import ModeratorAccount, NotifyMode
from federation.jobs.kinds import NOTIFY_MAIL
from federation.jobs.worker import Task, Worker
from federation.moderation import accounts, notify
from federation.moderation.notify import Notifier
from federation.settings import Settings
from federation.web.state import DIRECTORY, SETTINGS

from .conftest import PASSWORD, Factory
from .smtp import MailInbox, smtp_server
from .test_browser import (  # noqa: F401 (fixtures)
    CHROMIUM,
    Bridge,
    LoopThread,
    _listening_socket,
    _login,
    browser,
    loop_thread,
    page_for,
    pytestmark,
)

WIDTHS = {"desktop": {"width": 1000, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def mail_bridge(database_url: str, make_settings: Callable[..., Settings],
                loop_thread: LoopThread) -> Iterator[tuple[Bridge, MailInbox]]:
    """The application on a real socket, with [smtp] set to a real server on loopback."""
    inbox = MailInbox()
    sock = _listening_socket()
    port = sock.getsockname()[1]
    smtp = smtp_server(inbox)

    async def start() -> Bridge:
        smtp_port = await smtp.__aenter__()
        settings = make_settings(database_url, base_url=f"http://127.0.0.1:{port}",
                                 server={"run_worker": False},
                                 smtp={"host": "127.0.0.1", "port": smtp_port,
                                       "security": "none",
                                       "from_address": "federation@bridge.example"})
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        await accounts.create_account("camille", PASSWORD)
        return Bridge(f"http://127.0.0.1:{port}", app, runner, loop_thread)

    bridge = loop_thread.call(start())
    yield bridge, inbox
    loop_thread.call(bridge.runner.cleanup())
    loop_thread.call(smtp.__aexit__(None, None, None))


@pytest.fixture(params=sorted(WIDTHS))
def page(request: Any, browser: Any, mail_bridge: tuple[Bridge, MailInbox]) -> Iterator[Any]:
    bridge, _ = mail_bridge

    yield from page_for(bridge, browser, WIDTHS[request.param])


def test_a_moderator_asks_for_e_mails_and_follows_the_link(page, mail_bridge):
    bridge, inbox = mail_bridge

    async def scenario() -> None:
        await _login(page)
        async with page.expect_navigation():
            await page.get_by_role("link", name="Mes notifications").click()
        assert page.url.endswith("/admin/notifications")
        assert await page.get_by_role("radio", name="Jamais").is_checked()
        # an address the browser lets through but we refuse: 400, the form as typed
        await page.get_by_label("Adresse e-mail").fill("camille@localhost")
        await page.get_by_role("radio", name="À chaque nouvel élément").check()
        async with page.expect_navigation() as navigation:
            await page.get_by_role("button", name="Enregistrer").click()
        assert (await navigation.value).status == 400
        assert "n'est pas valide" in await page.get_by_role("alert").inner_text()
        assert await page.get_by_label("Adresse e-mail").input_value() == "camille@localhost"
        assert await page.get_by_role("radio", name="À chaque nouvel élément").is_checked()
        account = await ModeratorAccount.get(username="camille")
        assert (account.email, account.notify) == ("", NotifyMode.OFF)
        # a good one
        await page.get_by_label("Adresse e-mail").fill("camille@collectif.example")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Enregistrer").click()
        assert "C'est fait." in await page.inner_text(".notice")
        account = await ModeratorAccount.get(username="camille")
        assert (account.email, account.notify) == ("camille@collectif.example",
                                                   NotifyMode.IMMEDIATE)
        width = await page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= await page.evaluate("window.innerWidth")  # reads on a phone
        # a reply arrives; the worker sends its e-mail to the SMTP server
        factory = Factory(bridge.app[DIRECTORY])
        reply = await factory.reply(await factory.article(title="Débat sur la numérisation"),
                                    content="<p>Une réponse à lire</p>")
        settings = bridge.app[SETTINGS]
        await notify.item_received(settings, notify.REPLY, reply.id)
        worker = Worker([Task(NOTIFY_MAIL, Notifier(settings).send)], random=lambda: 0.0)
        assert await worker.run_once() == 1
        assert await Job.filter(kind=NOTIFY_MAIL.name).count() == 1
        [message] = inbox.messages
        text = message.get_content()
        match = re.search(r"Modérer : (\S+)", text)
        assert match, text
        await page.goto(match.group(1))
        item = page.locator(f"#reply-{reply.id}")
        assert "Une réponse à lire" in await item.inner_text()
        assert page.csp_violations == []

    bridge.call(scenario())
