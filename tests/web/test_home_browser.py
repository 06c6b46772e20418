"""The home page in a real headless Chromium (JavaScript disabled: nothing needs it), at
desktop and phone widths: the collectives and their handles, a follow that reaches the reader's
instance's authorize_interaction page (a TLS server on loopback that Chromium's resolver rules
name piaille.example: nothing leaves the machine, no DNS is asked), a bad instance
answered by a page with the form again; no CSP violation, no request to another origin, no
horizontal scroll."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from moderation.test_browser import (  # noqa: F401 - fixtures
    CHROMIUM,
    CHROMIUM_ARGS,
    Bridge,
    LoopThread,
    _listening_socket,
    loop_thread,
)
from tlsca import self_signed, serving

from federation.app import create_app
from federation.settings import Settings

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)"),
]


@pytest.fixture
def bridge(database_url: str, make_settings: Callable[..., Settings],
           loop_thread: LoopThread) -> Iterator[Bridge]:
    sock = _listening_socket()
    port = sock.getsockname()[1]
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{port}",
                             server={"run_worker": False})

    async def start() -> Bridge:
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        return Bridge(f"http://127.0.0.1:{port}", app, runner, loop_thread)

    bridge = loop_thread.call(start())
    yield bridge
    loop_thread.call(bridge.runner.cleanup())


@pytest.mark.parametrize("width, height", [(1200, 800), (360, 740)])
def test_a_newcomer_follows_a_collective_from_their_instance(bridge: Bridge, tmp_path: Path,
                                                             width: int, height: int) -> None:
    from playwright.async_api import async_playwright

    port = bridge.url.rsplit(":", 1)[1]
    reached: list[str] = []

    async def authorize(request: web.Request) -> web.Response:  # the reader's instance
        if request.path != "/favicon.ico":
            reached.append(str(request.url))
        return web.Response(text="<!doctype html><title>piaille</title><p>Confirmer</p>",
                            content_type="text/html")

    instance = web.Application()
    instance.router.add_get("/{tail:.*}", authorize)
    certificate = self_signed(tmp_path, "piaille.example")

    async def scenario() -> None:
        async with serving(instance, certificate) as tls_port, \
                async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP piaille.example:443 "
                      f"127.0.0.1:{tls_port}, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
            try:
                await visit(browser)
            finally:
                await browser.close()

    async def visit(browser: Any) -> None:
        context = await browser.new_context(base_url=bridge.url,
                                            viewport={"width": width, "height": height},
                                            java_script_enabled=False, ignore_https_errors=True)
        page = await context.new_page()
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text)
                if "Content Security Policy" in m.text else None)
        elsewhere: list[str] = []
        page.on("request", lambda r: elsewhere.append(r.url)
                if not r.url.startswith(bridge.url) else None)
        response = await page.goto("/")
        assert response.status == 200
        assert await page.title() == "Sur le fédivers — Le Numéro Zéro"
        assert elsewhere == []  # the page loads nothing from another origin
        card = page.locator("#collective-halte-au-controle-numerique")
        assert f"@halteaucontrolenumerique@127.0.0.1:{port}" in await card.inner_text()
        assert await page.get_by_role("link", name="Administration et modération") \
            .get_attribute("href") == "/admin/"
        scroll, client_width = await page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= client_width
        stylesheet = await page.evaluate(
            "getComputedStyle(document.querySelector('.collective')).borderRadius")
        assert stylesheet == "8px"  # the same-origin stylesheet applied under the CSP

        # a bad instance: a page that says so, with the form again
        await card.get_by_role("textbox", name="Votre instance", exact=True).fill("piaille.example/phish")
        async with page.expect_navigation():
            await card.get_by_role("button", name="Suivre Halte au contrôle numérique "
                                   "depuis votre instance").click()
        assert "n'est pas un nom d'instance" in await page.inner_text("[role=alert]")
        assert reached == []

        # then the right one: sent to the instance's authorize_interaction page
        await page.get_by_role("textbox", name="Votre instance", exact=True).fill("@camille@Piaille.example")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Suivre Halte au contrôle numérique "
                                   "depuis votre instance").click()
        assert len(reached) == 1, reached
        target = urlsplit(reached[0])
        assert target.path == "/authorize_interaction"
        assert page.url.startswith("https://piaille.example/authorize_interaction?uri=")
        assert parse_qs(target.query)["uri"] == [
            f"{bridge.url}/actors/halte-au-controle-numerique"]
        assert "Confirmer" in await page.inner_text("body")
        assert violations == []
        await context.close()

    bridge.call(scenario())
