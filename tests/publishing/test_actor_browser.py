"""/admin/actors in a real headless Chromium (desktop and phone widths): an administrator
creates a collective with an avatar, edits it, and a real follower on loopback receives the
signed ``Update``; a moderator is shown the 403 page."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from PIL import Image

from federation.app import create_app
from federation.db.social import Follower, FollowState, RemoteActor
from federation.delivery.worker import DeliveryWorker
from federation.moderation import accounts
from federation.settings import Settings
from federation.web.state import CLIENT, DIRECTORY, SETTINGS
from tests.moderation.test_browser import (  # noqa: F401 - fixtures
    CHROMIUM,
    Bridge,
    LoopThread,
    _listening_socket,
    browser,
    loop_thread,
    page_for,
)
from tests.publishing.test_actor_admin import Follower_

PASSWORD = "correct horse battery staple"
WIDTHS = {"desktop": {"width": 1000, "height": 800}, "phone": {"width": 360, "height": 740}}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)"),
]


@pytest.fixture
def bridge(database_url: str, make_settings: Callable[..., Settings],
           loop_thread: LoopThread) -> Iterator[Bridge]:
    sock = _listening_socket()
    port = sock.getsockname()[1]
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{port}",
                             allow_loopback_fetch=True, server={"run_worker": False},
                             delivery={"signing_processes": 0, "request_timeout": 30})

    async def start() -> Bridge:
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        await accounts.create_account("ada", PASSWORD, is_admin=True)
        await accounts.create_account("camille", PASSWORD)
        return Bridge(f"http://127.0.0.1:{port}", app, runner, loop_thread)

    bridge = loop_thread.call(start())
    yield bridge
    loop_thread.call(bridge.runner.cleanup())


@pytest.fixture(params=sorted(WIDTHS))
def page(request: Any, browser: Any, bridge: Bridge) -> Iterator[Any]:
    yield from page_for(bridge, browser, WIDTHS[request.param])


async def _login(page: Any, username: str) -> None:
    await page.goto("/admin/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit].primary")


def _avatar() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 200)).save(output, format="JPEG")
    return output.getvalue()


async def _no_horizontal_scroll(page: Any) -> None:
    scroll, width = await page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > width:
        wide = await page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()"
            ".right > window.innerWidth).map(e => e.tagName + '.' + e.className + ' '"
            " + Math.round(e.getBoundingClientRect().right)).slice(0, 8)")
        raise AssertionError(f"scrolls sideways: {scroll} > {width}: {wide}")


def test_admin_creates_and_edits_a_collective_and_the_follower_gets_the_update(
        page, bridge):
    """Create (with an avatar shown from /media/), add a follower, edit the name and the
    approval setting: the follower's server receives one signed Update with the new profile."""
    app = bridge.app

    async def follower() -> Follower_:
        peer = Follower_({})
        peer.documents = []
        peer_app = web.Application()
        peer_app.router.add_post("/{tail:.*}", peer.handle)
        runner = web.AppRunner(peer_app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        peer.base_url = f"http://127.0.0.1:{port}"
        actor = app[DIRECTORY].get("velo")
        peer.keys[actor.key_id] = actor.rsa_public_pem
        remote = await RemoteActor.create(
            uri=f"{peer.base_url}/users/bob", domain="127.0.0.1",
            inbox=f"{peer.base_url}/inbox", fetched_at=datetime.now(UTC))
        await Follower.create(actor_id=actor.db_id, remote=remote,
                              state=FollowState.ACCEPTED, follow_activity_uri="x#f")
        peer.runner = runner  # type: ignore[attr-defined]
        return peer

    async def deliver() -> None:
        worker = DeliveryWorker(app[SETTINGS], app[DIRECTORY], app[CLIENT], random=lambda: 0.0)
        for _ in range(10):
            if not await worker.run_once():
                return

    async def scenario() -> Follower_:
        await _login(page, "ada")
        await page.click("nav >> text=Collectifs")
        await _no_horizontal_scroll(page)
        async with page.expect_navigation():
            await page.click("text=Nouveau collectif")
        await page.fill("#username", "velo")
        await page.fill("#name", "Collectif Vélo")
        await page.fill("#summary", "On répare des vélos.\n\nTous les jeudis.")
        await page.locator("input[name=field_name]").first.fill("Site")
        await page.locator("input[name=field_value]").first.fill("https://site.example/velo")
        await page.set_input_files("#avatar", files=[{
            "name": "avatar.jpg", "mimeType": "image/jpeg", "buffer": _avatar()}])
        await _no_horizontal_scroll(page)
        async with page.expect_navigation():
            await page.click("button[type=submit].primary")
        assert page.url.endswith("/admin/actors/velo?msg=actors.created")
        assert "Collectif créé" in await page.inner_text(".notice")
        width = await page.eval_on_selector("img.preview.avatar", "img => img.naturalWidth")
        assert width == 400  # resized, served by the bridge, allowed by the CSP
        peer = await follower()
        await page.fill("#name", "Collectif Vélo libre")
        await page.check("input[name=manually_approves_followers]")
        async with page.expect_navigation():
            await page.click("button[type=submit].primary")
        assert "Profil enregistré" in await page.inner_text(".notice")
        assert peer.received == []  # the request sent nothing
        await deliver()
        await _no_horizontal_scroll(page)
        assert page.csp_violations == []
        await peer.runner.cleanup()  # type: ignore[attr-defined]
        return peer

    peer = bridge.call(scenario())
    assert peer.refused == []
    [update] = peer.documents
    assert update["type"] == "Update"
    assert update["object"]["name"] == "Collectif Vélo libre"
    assert update["object"]["manuallyApprovesFollowers"] is True
    assert update["object"]["icon"]["url"].startswith(f"{bridge.url}/media/")
    assert peer.received[0].key_id == f"{bridge.url}/actors/velo#main-key"


def test_a_moderator_sees_the_administrators_only_page(page, bridge):
    """A moderator has no Collectifs link, and the URL answers the 403 page, readable."""

    async def scenario() -> None:
        await _login(page, "camille")
        assert await page.locator("nav >> text=Collectifs").count() == 0
        response = await page.goto("/admin/actors/new")
        assert response.status == 403
        assert "Réservé aux administrateurs" in await page.inner_text("h1")
        await _no_horizontal_scroll(page)

    bridge.call(scenario())
