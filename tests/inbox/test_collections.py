"""Followers/following: accepted only, counted; lists published only when configured. Item 35."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from federation.db.moderation import Reply
from federation.db.social import Follower, Following, FollowState, RemoteActor

from .conftest import ARTICLE, HALTE, Bridge, create, note

AP = {"Accept": "application/activity+json", "Host": "bridge.example"}


async def _followers(bridge, states) -> None:
    actor = bridge.directory.get("halte-au-controle-numerique")
    for number, state in enumerate(states):
        remote = await RemoteActor.create(uri=f"https://peer.example/users/u{number}", domain="peer.example",
                                          inbox="https://peer.example/inbox", fetched_at=datetime.now(UTC))
        await Follower.create(actor_id=actor.db_id, remote=remote, state=state,
                              follow_activity_uri=f"{remote.uri}#follow")
    await Following.create(actor_id=actor.db_id, target_uri="https://sister.example/actors/site",
                           follow_activity_uri=f"{HALTE}#follow/1", state=FollowState.ACCEPTED)
    await Following.create(actor_id=actor.db_id, target_uri="https://sister.example/actors/other",
                           follow_activity_uri=f"{HALTE}#follow/2")


async def get_json(bridge, path):
    response = await bridge.client.get(path, headers=AP)
    assert response.status == 200
    return await response.json(content_type=None)


async def test_followers_count_only_accepted_and_hide_the_list(bridge):
    """By default followers/following show totalItems of accepted relations only, and no list."""
    await _followers(bridge, [FollowState.ACCEPTED] * 3 + [FollowState.PENDING, FollowState.REJECTED])
    collection = await get_json(bridge, "/actors/halte-au-controle-numerique/followers")
    assert collection["totalItems"] == 3
    assert "first" not in collection and "orderedItems" not in collection
    page = await get_json(bridge, "/actors/halte-au-controle-numerique/followers?page=1")
    assert "orderedItems" not in page and page["totalItems"] == 3
    following = await get_json(bridge, "/actors/halte-au-controle-numerique/following")
    assert following["totalItems"] == 1


@pytest.fixture
async def open_bridge(database_url, make_settings, aiohttp_client) -> Bridge:
    from federation.app import create_app

    app = create_app(make_settings(database_url, inbox={"publish_follower_lists": True}))
    return Bridge(await aiohttp_client(app), app)


async def test_published_follower_lists_are_paged(open_bridge):
    """With publish_follower_lists, accepted followers are listed, paged, newest first."""
    await _followers(open_bridge, [FollowState.ACCEPTED] * 25 + [FollowState.PENDING])
    collection = await get_json(open_bridge, "/actors/halte-au-controle-numerique/followers")
    assert collection["totalItems"] == 25 and collection["first"].endswith("?page=1")
    first = await get_json(open_bridge, "/actors/halte-au-controle-numerique/followers?page=1")
    assert len(first["orderedItems"]) == 20 and first["orderedItems"][0].endswith("/u24")
    second = await get_json(open_bridge, "/actors/halte-au-controle-numerique/followers?page=2")
    assert len(second["orderedItems"]) == 5 and "next" not in second
    assert "https://peer.example/users/u25" not in first["orderedItems"] + second["orderedItems"]
    following = await get_json(open_bridge, "/actors/halte-au-controle-numerique/following?page=1")
    assert following["orderedItems"] == ["https://sister.example/actors/site"]


async def test_pending_reply_appears_in_no_public_document(bridge, peer, alice):
    """(35) A pending or non-public reply appears in no public collection, page or object."""
    article = await bridge.article()
    await bridge.post(create(alice, note(alice, content="<p>secret pending words</p>")), alice)
    await bridge.post(create(alice, note(alice, 2, content="<p>hidden dm words</p>", to=[HALTE], cc=[]), 2), alice)
    assert await Reply.all().count() == 2
    paths = ["/actors/halte-au-controle-numerique", "/actors/halte-au-controle-numerique/outbox",
             "/actors/halte-au-controle-numerique/outbox?page=1",
             "/actors/halte-au-controle-numerique/followers", "/actors/halte-au-controle-numerique/featured",
             ARTICLE.removeprefix("https://bridge.example"),
             ARTICLE.removeprefix("https://bridge.example") + "/replies",
             ARTICLE.removeprefix("https://bridge.example") + "/replies?page=1"]
    for path in paths:
        response = await bridge.client.get(path, headers=AP)
        text = await response.text()
        assert "pending words" not in text and "hidden dm" not in text, path
        assert alice.uri + "/statuses" not in text, path
    assert article.uri == ARTICLE
