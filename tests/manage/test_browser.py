"""The site-management pages in a real headless Chromium (JavaScript disabled: no action needs
it): an admin approves a pending follow request (desktop width), rejects another and removes a
follower after a confirmation page (phone width); a real loopback peer, which sent the signed
Follows, receives the Accept and the Rejects through the delivery queue, and verifies our
signatures with the ``httpsig`` package.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from inbox.conftest import Peer, PeerActor, peer_keys  # noqa: F401 - fixture
from moderation.test_browser import (  # noqa: F401 - fixtures
    CHROMIUM,
    Bridge,
    LoopThread,
    _listening_socket,
    browser,
    loop_thread,
)

from federation.app import create_app
from federation.db.social import Follower, FollowState
from federation.delivery.worker import DeliveryWorker
from federation.moderation import accounts
from federation.settings import Settings
from federation.signing.cavage import sign_request
from federation.web.state import CLIENT, DIRECTORY, SETTINGS

from .conftest import MANUAL, PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)"),
]

PAGES = ["/admin/federation", "/admin/followers", "/admin/feeds", "/admin/following",
         "/admin/tokens", "/admin/deliveries"]


@pytest.fixture
def site(database_url: str, make_settings: Callable[..., Settings],
         loop_thread: LoopThread) -> Iterator[tuple[Bridge, Peer, Any]]:
    """The bridge on 127.0.0.1:port (loopback fetches allowed) with an admin, and a peer
    server on another port whose actors follow our collective."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{port}",
                             allow_loopback_fetch=True, server={"run_worker": False})

    async def start() -> tuple[Bridge, Peer, web.AppRunner]:
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        await accounts.create_account("ada", PASSWORD, is_admin=True)
        peer = Peer()
        peer_app = web.Application()
        peer_app.router.add_get("/{tail:.*}", peer.get)
        peer_app.router.add_post("/{tail:.*}", peer.post)
        peer_runner = web.AppRunner(peer_app)
        await peer_runner.setup()
        peer_site = web.TCPSite(peer_runner, "127.0.0.1", 0)
        await peer_site.start()
        peer.base = f"http://127.0.0.1:{peer_runner.addresses[0][1]}"
        peer.trusted_keys = {a.key_id: a.rsa_public_pem for a in app[DIRECTORY].signing_actors()}
        return Bridge(f"http://127.0.0.1:{port}", app, runner, loop_thread), peer, peer_runner

    bridge, peer, peer_runner = loop_thread.call(start())
    yield bridge, peer, peer_runner
    loop_thread.call(peer_runner.cleanup())
    loop_thread.call(bridge.runner.cleanup())


async def _follow(bridge: Bridge, follower: PeerActor, target: str) -> None:
    """``follower`` sends a signed Follow of ``target`` to the bridge's shared inbox."""
    url = f"{bridge.url}/inbox"
    body = json.dumps({"@context": "https://www.w3.org/ns/activitystreams",
                       "id": f"{follower.uri}#follow-{target.rsplit('/', 1)[-1]}",
                       "type": "Follow", "actor": follower.uri, "object": target}).encode()
    headers = sign_request("POST", url, {}, body, follower.key_id, follower.key)
    headers["Content-Type"] = "application/activity+json"
    async with aiohttp.ClientSession() as session, \
            session.post(url, data=body, headers=headers) as response:
        assert response.status == 202, await response.text()


async def _deliver(bridge: Bridge) -> None:
    worker = DeliveryWorker(bridge.app[SETTINGS], bridge.app[DIRECTORY], bridge.app[CLIENT],
                            random=lambda: 0.0)
    for _ in range(8):
        if not await worker.run_once():
            return


async def _no_horizontal_scroll(page: Any) -> None:
    scroll, width = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= width, page.url


def test_admin_approves_and_rejects_follow_requests_and_the_peer_receives_the_answers(
        browser, site, peer_keys):
    bridge, peer, _ = site
    alice = peer.actor("alice", peer_keys[0])
    bob = peer.actor("bob", peer_keys[1])
    target = f"{bridge.url}/actors/{MANUAL}"

    async def scenario() -> None:
        await _follow(bridge, alice, target)
        await _follow(bridge, bob, target)
        pending = {f.remote.uri: f for f in
                   await Follower.filter(state=FollowState.PENDING).prefetch_related("remote")}
        assert set(pending) == {alice.uri, bob.uri}
        assert peer.received == []  # manual approval: nothing answered yet

        context = await browser.new_context(base_url=bridge.url,
                                            viewport={"width": 1200, "height": 800},
                                            java_script_enabled=False)
        page = await context.new_page()
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text)
                if "Content Security Policy" in m.text else None)
        await page.goto("/admin/login")
        await page.fill("input[name=username]", "ada")
        await page.fill("input[name=password]", PASSWORD)
        async with page.expect_navigation():
            await page.click("button[type=submit].primary")
        await page.goto("/admin/federation")
        async with page.expect_navigation():
            await page.locator(".sections").get_by_role("link", name="Abonnés").click()
        first = page.locator(f"#follower-{pending[alice.uri].id}")
        assert "@alice@127.0.0.1" in await first.inner_text()
        async with page.expect_navigation():
            await first.get_by_role("button", name="Accepter @alice@127.0.0.1").click()
        assert "C'est fait." in await page.inner_text(".notice")
        assert (await Follower.get(id=pending[alice.uri].id)).state == FollowState.ACCEPTED
        assert peer.received == []  # queued, sent by the worker
        await _deliver(bridge)
        assert [(a["type"], a["object"]["actor"]) for a in peer.received] == [
            ("Accept", alice.uri)]
        assert peer.received[0]["actor"] == target and peer.refused == []

        await page.set_viewport_size({"width": 360, "height": 740})
        await page.reload()
        await _no_horizontal_scroll(page)
        second = page.locator(f"#follower-{pending[bob.uri].id}")
        async with page.expect_navigation():
            await second.get_by_role("button", name="Refuser @bob@127.0.0.1").click()
        assert (await Follower.get(id=pending[bob.uri].id)).state == FollowState.REJECTED
        await _deliver(bridge)
        assert [a["type"] for a in peer.received] == ["Accept", "Reject"]
        assert peer.received[1]["object"]["actor"] == bob.uri

        # removing a follower asks first (a page, no script), then a Reject goes out
        async with page.expect_navigation():
            await page.get_by_role("button", name="Retirer l'abonné @alice@127.0.0.1").click()
        assert "Retirer cet abonné" in await page.inner_text("main")
        await _no_horizontal_scroll(page)
        assert await Follower.exists(id=pending[alice.uri].id)
        async with page.expect_navigation():
            await page.get_by_role("button", name="Confirmer @alice@127.0.0.1").click()
        assert "C'est fait." in await page.inner_text(".notice")
        assert not await Follower.exists(id=pending[alice.uri].id)
        await _deliver(bridge)
        assert [a["type"] for a in peer.received] == ["Accept", "Reject", "Reject"]
        for path in PAGES:
            response = await page.goto(path)
            assert response.status == 200, path
            await _no_horizontal_scroll(page)
        assert violations == []
        await context.close()

    bridge.call(scenario())
