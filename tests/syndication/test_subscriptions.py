"""Following sister sites and relays: the Follow sent, the answer tracked, the Undo on unfollow."""

from __future__ import annotations

import json

import pytest

from federation.db.social import Following, FollowState, SyndicationPolicy
from federation.db.syndication import SyndicatedItem
from federation.errors import BadRequest, NotFound
from federation.remote.actors import RemoteActorStore
from federation.syndication import subscriptions
from federation.web.state import CLIENT

from .conftest import BRIDGE, PUBLIC, activity, article, deliver_all, trust_bridge


def _store(bridge):
    return RemoteActorStore(bridge.app[CLIENT], local_origin=BRIDGE)


def _webfinger(peer, name: str) -> None:
    host = peer.base.removeprefix("http://")
    jrd = {"subject": f"acct:{name}@{host}",
           "links": [{"rel": "self", "type": "application/activity+json",
                      "href": f"{peer.base}/users/{name}"}]}
    peer.serve("/.well-known/webfinger", (200, "application/jrd+json", json.dumps(jrd).encode()))


async def test_follow_by_handle_sends_a_follow_and_the_accept_is_tracked(bridge, peer, alice):
    """@name@host is resolved by WebFinger; the Follow reaches the actor; its Accept accepts the row."""
    _webfinger(peer, "alice")
    trust_bridge(bridge, peer)
    host = peer.base.removeprefix("http://")
    result = await subscriptions.follow(bridge.directory, _store(bridge),
                                        f"@alice@{host}", as_actor="halte-au-controle-numerique",
                                        policy=SyndicationPolicy.ANNOUNCE)
    assert result.created and result.sent
    row = await Following.get()
    assert row.target_uri == alice.uri and row.state == FollowState.PENDING
    assert row.policy == SyndicationPolicy.ANNOUNCE
    await deliver_all(bridge)
    [sent] = peer.received
    assert sent["type"] == "Follow" and sent["object"] == alice.uri
    assert sent["id"] == row.follow_activity_uri
    accept = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice.uri}#accept",
              "type": "Accept", "actor": alice.uri, "object": sent["id"]}
    assert (await bridge.post(accept, alice)).status == 202
    assert (await Following.get()).state == FollowState.ACCEPTED


async def test_following_again_changes_the_policy_without_a_new_follow(bridge, peer, alice):
    """The same follow twice keeps one row; the second call only changes the policy."""
    store = _store(bridge)
    await subscriptions.follow(bridge.directory, store, alice.uri)
    again = await subscriptions.follow(bridge.directory, store, alice.uri,
                                       policy=SyndicationPolicy.STORE)
    assert not again.created and not again.sent
    assert await Following.all().count() == 1
    assert (await Following.get()).policy == SyndicationPolicy.STORE


async def test_follow_of_our_own_actor_is_refused(bridge):
    """Following one of our own actors makes no sense and is refused before any fetch."""
    with pytest.raises(BadRequest):
        await subscriptions.follow(bridge.directory, _store(bridge),
                                   f"{BRIDGE}/actors/halte-au-controle-numerique")


async def test_unfollow_sends_undo_and_forgets_the_items(bridge, peer, alice):
    """Undo(Follow) goes to the actor with the original Follow; the row and its items go."""
    trust_bridge(bridge, peer)
    result = await subscriptions.follow(bridge.directory, _store(bridge),
                                        alice.uri, policy=SyndicationPolicy.STORE)
    row = result.row
    row.state = FollowState.ACCEPTED
    await row.save()
    await bridge.post(activity("Create", alice, article(alice)), alice)
    assert await SyndicatedItem.all().count() == 1
    found = await subscriptions.find_following(bridge.directory, alice.uri)
    await subscriptions.unfollow(bridge.directory, found)
    await deliver_all(bridge)
    assert [a["type"] for a in peer.received] == ["Follow", "Undo"]
    undo = peer.received[1]
    assert undo["object"]["id"] == row.follow_activity_uri and undo["object"]["object"] == alice.uri
    assert await Following.all().count() == 0 and await SyndicatedItem.all().count() == 0
    with pytest.raises(NotFound):
        await subscriptions.find_following(bridge.directory, alice.uri)
    for reference in ("99999999999", "0", "²"):  # no row's id (PostgreSQL: an error, not a miss)
        with pytest.raises(NotFound):
            await subscriptions.find_following(bridge.directory, reference)


async def test_mastodon_relay_follows_public_at_the_relay_inbox(bridge, peer, alice):
    """Mastodon style: Follow{object: as:Public} POSTed to the relay's inbox URL, by the
    instance actor (as Mastodon's relays are followed by its instance actor)."""
    trust_bridge(bridge, peer)
    inbox = f"{peer.base}/inbox"
    result = await subscriptions.subscribe_relay(bridge.directory, _store(bridge), inbox)
    assert result.row.is_relay and result.row.target_uri == inbox
    await deliver_all(bridge)
    [sent] = peer.received
    assert sent["type"] == "Follow" and sent["object"] == PUBLIC
    assert sent["actor"] == f"{BRIDGE}/actor"
    await subscriptions.unfollow(bridge.directory, await Following.get())
    await deliver_all(bridge)
    undo = peer.received[1]
    assert undo["type"] == "Undo" and undo["object"]["object"] == PUBLIC


async def test_litepub_relay_follows_the_relay_actor(bridge, peer, alice):
    """LitePub style: a Follow of the relay's actor, answered like any follow."""
    trust_bridge(bridge, peer)
    result = await subscriptions.subscribe_relay(bridge.directory, _store(bridge), alice.uri,
                                                 policy=SyndicationPolicy.STORE)
    assert result.row.is_relay and result.row.target_uri == alice.uri
    await deliver_all(bridge)
    [sent] = peer.received
    assert sent["type"] == "Follow" and sent["object"] == alice.uri
    accept = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice.uri}#accept",
              "type": "Accept", "actor": alice.uri, "object": sent}
    await bridge.post(accept, alice)
    assert (await Following.get()).state == FollowState.ACCEPTED
    assert not await subscriptions.is_mastodon_relay(await Following.get())
