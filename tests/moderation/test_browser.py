"""The admin UI in a real headless Chromium (Debian's, driven by Playwright): log in, approve,
reject, forged POST refused, CSP, rate limit, languages, phone width.

The bridge runs in a thread on 127.0.0.1 with its own event loop; the test creates rows through
that loop. One browser per module; a fresh context (cookies) per test.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from federation.app import create_app
from federation.db.moderation import Reply, ReplyState
from federation.moderation import accounts
from federation.settings import Settings
from federation.web.state import DIRECTORY

from .conftest import PASSWORD, Factory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)"),
]


class LoopThread:
    """An event loop in a thread: hosts the browser (async Playwright) and the bridge.

    The test's own thread stays free of a running loop, so the database fixtures (which use
    ``asyncio.run``) keep working.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()


@dataclass
class Bridge:
    url: str
    app: web.Application
    runner: web.AppRunner
    loop: LoopThread

    def call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.call(coroutine)


def _listening_socket() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1, kept open until the server serves on it
    (closing it and binding the port again later would leave a window to lose the port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def browser(loop_thread: LoopThread) -> Iterator[Any]:
    from playwright.async_api import async_playwright

    async def launch() -> tuple[Any, Any]:
        playwright = await async_playwright().start()
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_ARGS)
        return playwright, browser

    playwright, browser = loop_thread.call(launch())
    yield browser
    loop_thread.call(browser.close())
    loop_thread.call(playwright.stop())


@pytest.fixture
def bridge(database_url: str, make_settings: Callable[..., Settings],
           loop_thread: LoopThread) -> Iterator[Bridge]:
    """The whole application on a real socket, 127.0.0.1:port."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{port}",
                             server={"run_worker": False},
                             moderation={"login_attempts_per_username": 3})

    async def start() -> Bridge:
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        await accounts.create_account("camille", PASSWORD)
        return Bridge(f"http://127.0.0.1:{port}", app, runner, loop_thread)

    bridge = loop_thread.call(start())
    yield bridge
    loop_thread.call(bridge.runner.cleanup())


async def new_page(browser: Any, base_url: str, viewport: dict[str, int]) -> tuple[Any, Any]:
    """A fresh context (no cookies) and its page, which collects the console's Content
    Security Policy violations in ``page.csp_violations``."""
    context = await browser.new_context(base_url=base_url, viewport=viewport)
    page = await context.new_page()
    page.csp_violations = []
    page.on("console", lambda message: page.csp_violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    return context, page


def page_for(bridge: Bridge, browser: Any, viewport: dict[str, int]) -> Iterator[Any]:
    """The body of a ``page`` fixture: a page on ``bridge``, its context closed after."""
    context, page = bridge.call(new_page(browser, bridge.url, viewport))
    yield page
    bridge.call(context.close())


@pytest.fixture
def page(browser: Any, bridge: Bridge) -> Iterator[Any]:
    yield from page_for(bridge, browser, {"width": 1000, "height": 800})


def _seed(bridge: Bridge) -> list[Reply]:
    async def make() -> list[Reply]:
        assert bridge.app is not None
        factory = Factory(bridge.app[DIRECTORY])
        article = await factory.article(title="Débat « Ce que la numérisation fait »")
        first = await factory.reply(article, content="<p>Première réponse, bravo</p>")
        second = await factory.reply(
            article, await factory.remote("troll", "troll.example", "Troll"),
            content="<p>Réponse à refuser</p>")
        return [first, second]

    return bridge.call(make())


async def _state(reply_id: int) -> str:
    """Read on the bridge's loop (called from scenarios)."""
    return str((await Reply.get(id=reply_id)).state)


async def _login(page: Any, password: str = PASSWORD) -> Any:
    await page.goto("/admin/login")
    await page.fill("input[name=username]", "camille")
    await page.fill("input[name=password]", password)
    async with page.expect_navigation():
        await page.click("button[type=submit].primary")
    return page


def test_moderator_logs_in_approves_one_and_rejects_another(page, bridge):
    """Log in, see both pending replies with their article, approve one, reject the other."""
    first, second = _seed(bridge)

    async def scenario() -> None:
        response = await page.goto("/admin/login")
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["x-frame-options"] == "DENY"
        await _login(page)
        assert page.url.endswith("/admin/")
        item = page.locator(f"#reply-{first.id}")
        text = await item.inner_text()
        assert "Première réponse, bravo" in text
        assert "Débat « Ce que la numérisation fait »" in text
        assert "@alice@social.example" in text
        assert await item.locator(".avatar").inner_text() == "AM"  # initials, no remote image
        async with page.expect_navigation():
            await item.get_by_role("button", name="Valider").click()
        assert await _state(first.id) == ReplyState.APPROVED
        assert "Réponse d'Alice Martin validée." in await page.inner_text(".notice")
        assert await page.locator(f"#reply-{first.id}").count() == 0
        async with page.expect_navigation():
            await page.locator(f"#reply-{second.id}").get_by_role(
                "button", name="Refuser la réponse de Troll", exact=True).click()
        assert await _state(second.id) == ReplyState.REJECTED
        await page.goto("/admin/approved")
        assert await page.locator(f"#reply-{first.id}").count() == 1
        await page.goto("/admin/log")
        assert await page.locator("table.log tbody tr").count() == 2
        assert page.csp_violations == []  # the stylesheet is ours, nothing was blocked
        background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(246, 246, 244)"  # /admin/static/admin.css applied

    bridge.call(scenario())


def test_bulk_selection_and_undo(page, bridge):
    """Tick two replies, reject them together, then undo one from the rejected view."""
    first, second = _seed(bridge)

    async def scenario() -> None:
        await _login(page)
        await page.check(f"#reply-{first.id} input[name=ids]")
        await page.check(f"#reply-{second.id} input[name=ids]")
        async with page.expect_navigation():
            await page.locator(".bulk").get_by_role("button", name="Refuser").click()
        assert await _state(first.id) == await _state(second.id) == ReplyState.REJECTED
        await page.goto("/admin/rejected")
        async with page.expect_navigation():
            await page.locator(f"#reply-{first.id}").get_by_role(
                "button", name="Annuler la décision").click()
        assert await _state(first.id) == ReplyState.PENDING

    bridge.call(scenario())


def test_forged_post_without_csrf_token_is_refused(page, bridge):
    """With a valid session cookie, a POST lacking the form's CSRF token is a 403."""
    first, _ = _seed(bridge)

    async def scenario() -> None:
        await _login(page)
        for form in ({"one": f"approve:{first.id}"},
                     {"one": f"approve:{first.id}", "csrf": "guess"}):
            forged = await page.request.post(f"{bridge.url}/admin/replies", form=form,
                                             max_redirects=0)
            assert forged.status == 403
        assert await _state(first.id) == ReplyState.PENDING

    bridge.call(scenario())


def test_login_rate_limit(page, bridge):
    """Three wrong passwords, then even the right one is refused for a while."""

    async def scenario() -> None:
        for _ in range(3):
            await _login(page, "not the password")
            assert "Identifiant ou mot de passe incorrect." in await page.inner_text(".error")
        await _login(page)
        assert "Trop de tentatives" in await page.inner_text(".error")
        assert not page.url.endswith("/admin/")

    bridge.call(scenario())


def test_french_english_and_phone_width(page, bridge):
    """French by default, English by the toggle; no horizontal scrolling at phone width."""
    _seed(bridge)

    async def scenario() -> None:
        await page.goto("/admin/login")
        assert await page.get_attribute("html", "lang") == "fr"
        async with page.expect_navigation():
            await page.click("text=English")
        assert await page.get_attribute("html", "lang") == "en"
        assert "Log in" in await page.inner_text("h1")
        await _login(page)
        await page.set_viewport_size({"width": 360, "height": 740})
        assert "En attente" in await page.inner_text("nav")  # the account's language
        async with page.expect_navigation():
            await page.locator("header").get_by_role("button", name="English").click()
        assert "Pending" in await page.inner_text("nav")
        scroll, width = await page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= width

    bridge.call(scenario())
