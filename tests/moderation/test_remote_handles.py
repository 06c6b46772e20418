"""A remote handle keeps its port: ``@alice@127.0.0.1:PORT`` (a real loopback peer, on the
non-default port the test server got) is what the moderation queue, the JSON API, the replies
exports, the webhook payload and the syndication listing show — for a handle both hosts
confirmed as for a plain ``preferredUsername`` on the actor's host — and WebFinger of such a
handle asks that port."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from inbox.conftest import Peer, PeerActor, make_peer, peer_keys  # noqa: F401 - fixtures

from federation.app import create_app
from federation.db.moderation import ReplyState
from federation.db.social import Following, FollowState, RemoteActor
from federation.moderation import accounts
from federation.moderation.service import reply_summary
from federation.remote.actors import RemoteActorStore
from federation.settings import Settings
from federation.syndication import subscriptions
from federation.web.state import CLIENT, DIRECTORY

from .conftest import PASSWORD, Factory

BASE = "http://127.0.0.1:8080"


@pytest.fixture
async def admin(database_url: str, make_settings: Callable[..., Settings],
                aiohttp_client: Any) -> Any:
    settings = make_settings(database_url, base_url=BASE, allow_loopback_fetch=True,
                             server={"run_worker": False})
    client = await aiohttp_client(create_app(settings))
    await accounts.create_account("camille", PASSWORD)
    return client


@pytest.fixture
async def server(make_peer: Callable[[], Any], peer_keys: list[Any]) -> tuple[Peer, PeerActor]:
    peer = await make_peer()
    return peer, peer.actor("alice", peer_keys[0])


def _authority(peer: Peer) -> str:
    return peer.base.removeprefix("http://")


async def _login(client: Any) -> None:
    page = await (await client.get("/admin/login")).text()
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    response = await client.post("/admin/login", allow_redirects=False, data={
        "csrf": match.group(1), "username": "camille", "password": PASSWORD})
    assert response.status == 303


async def test_a_handle_on_a_non_default_port_is_shown_with_it_everywhere(admin, server):
    """alice is fetched from her server (127.0.0.1:PORT); she never confirmed a handle, so her
    preferredUsername on her actor's host is shown: with the port, in every listing."""
    peer, alice = server
    port_handle = f"@alice@{_authority(peer)}"
    assert not _authority(peer).endswith((":80", ":443"))
    store = RemoteActorStore(admin.app[CLIENT], local_origin=BASE)
    remote = await store.lookup(alice.uri)
    assert remote.acct is None and remote.handle == port_handle

    factory = Factory(admin.app[DIRECTORY])
    article = await factory.article()
    pending = await factory.reply(article, remote)
    approved = await factory.reply(article, remote, state=ReplyState.APPROVED)

    await _login(admin)
    queue = await (await admin.get("/admin/")).text()
    assert f">{port_handle}<" in queue
    assert f"{_authority(peer)}<" in queue  # the instance line
    assert "@alice@127.0.0.1<" not in queue

    token = await accounts.create_token("camille")
    listing = await (await admin.get("/api/v1/moderation/replies", headers={
        "Authorization": f"Bearer {token}"})).json()
    assert {item["author"]["handle"] for item in listing["items"]} == {port_handle}

    export = await (await admin.get("/api/v1/replies", params={"object": article.uri})).json()
    assert [r["author"]["handle"] for r in export["replies"]] == [port_handle]

    assert reply_summary(pending, with_content=False)["author"]["handle"] == port_handle
    assert reply_summary(approved, with_content=True)["author"]["handle"] == port_handle

    site = admin.app[DIRECTORY].site_actor
    row = await Following.create(actor_id=site.db_id, target_uri=alice.uri, remote=remote,
                                 state=FollowState.ACCEPTED, follow_activity_uri=f"{BASE}/f/1",
                                 decided_at=datetime.now(UTC))
    rows = await subscriptions.following_of(None, admin.app[DIRECTORY])
    assert [subscriptions.describe(r)["handle"] for r in rows if r.id == row.id] == [port_handle]


async def test_webfinger_of_a_handle_with_a_port_asks_that_port(admin, server):
    """``alice@127.0.0.1:PORT`` is looked up at that port; the confirmed handle keeps it, and
    the same handle written otherwise (``acct:``, ``@``, upper case, the default port) finds
    the same row."""
    peer, alice = server
    handle = f"alice@{_authority(peer)}"
    answer = {"subject": f"acct:{handle}", "links": [
        {"rel": "self", "type": "application/activity+json", "href": alice.uri}]}
    peer.serve("/.well-known/webfinger", (200, "application/jrd+json", json.dumps(answer).encode()))
    store = RemoteActorStore(admin.app[CLIENT], local_origin=BASE)
    remote = await store.fetch_handle(f"acct:{handle}")
    assert peer.gets[0] == f"/.well-known/webfinger?resource=acct:{handle}"
    assert remote.acct == handle and remote.handle == f"@{handle}"
    site = admin.app[DIRECTORY].site_actor
    await Following.create(actor_id=site.db_id, target_uri=alice.uri, remote=remote,
                           state=FollowState.ACCEPTED, follow_activity_uri=f"{BASE}/f/2")
    found = await subscriptions.find_following(admin.app[DIRECTORY], f"@{handle.upper()}")
    assert found.target_uri == alice.uri
    assert await RemoteActor.all().count() == 1
