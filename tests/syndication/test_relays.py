"""Relays spread the site's work: subscribed by the instance actor, handed every public post of
every actor (and nothing else), left cleanly, never sent back what they brought.

The relays are loopback models of ActivityRelay and of a Mastodon-style relay
(:mod:`tests.syndication.relays`): they fetch our actor documents from the bridge and verify our
signatures with httpsig against them, and apply those relays' rules.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from federation.db.content import ObjectKind
from federation.db.social import Follower, Following, FollowState, SyndicationPolicy
from federation.db.syndication import ItemState, SyndicatedItem
from federation.delivery.outbox import Audience, activity_uri, send_activity
from federation.ingest.payloads import parse_item
from federation.remote.actors import RemoteActorStore
from federation.syndication import service, subscriptions
from federation.web.state import CLIENT, PUBLISHER

from .conftest import (
    BRIDGE,
    PUBLIC,
    SITE,
    Bridge,
    Peer,
    article,
    deliver_all,
    follow_us,
    trust_bridge,
)
from .relays import RelayPeer, start_relay

HALTE = f"{BRIDGE}/actors/halte-au-controle-numerique"
INSTANCE = f"{BRIDGE}/actor"


def _store(bridge: Bridge) -> RemoteActorStore:
    return RemoteActorStore(bridge.app[CLIENT], local_origin=BRIDGE)


@pytest.fixture
async def make_relay(aiohttp_server: Any, bridge: Bridge, peer_keys: list[Any]) -> Any:
    async def start(style: str = "activityrelay", **options: Any) -> RelayPeer:
        return await start_relay(aiohttp_server, bridge, peer_keys[2], style, **options)
    return start


async def subscribed(bridge: Bridge, relay: RelayPeer,
                     policy: SyndicationPolicy = SyndicationPolicy.REVIEW) -> Following:
    """``relay subscribe`` as an admin runs it (the actor URL of a LitePub relay, the inbox of a
    Mastodon-style one), the relay's answers handed back; what it received is then forgotten."""
    url = relay.actor_uri if relay.style == "activityrelay" else relay.inbox
    result = await subscriptions.subscribe_relay(bridge.directory, _store(bridge), url,
                                                 policy=policy)
    await deliver_all(bridge)
    assert await relay.flush() and relay.refused == []
    await deliver_all(bridge)  # our Accept of its follow-back
    relay.received.clear()
    return await Following.get(id=result.row.id)


async def publish(bridge: Bridge, actor: str, number: int, **extra: Any) -> str:
    item = parse_item({"type": "article", "actor": actor, "id": f"a{number}",
                       "title": f"Article {number}", "published": "2026-05-01T10:00:00+02:00",
                       "summary": "Jeudi, débat.", "content_html": "<p>Texte</p>", **extra})
    return (await bridge.app[PUBLISHER].upsert(item)).object_uri


async def test_activityrelay_takes_the_instance_actor_whatever_the_site_actor_is(
        bridge, make_relay):
    """ActivityRelay follows only Application actors: our site actor is a Group, so the follow
    comes from the instance actor (/actor, an Application found by WebFinger), and is accepted;
    the relay's follow-back of the instance actor is accepted too."""
    relay = await make_relay("activityrelay")
    assert bridge.directory.site_actor.config.type == "Group"
    await subscriptions.subscribe_relay(bridge.directory, _store(bridge), relay.actor_uri)
    await deliver_all(bridge)
    [follow] = relay.of_type("Follow")
    assert follow["actor"] == INSTANCE and follow["object"] == relay.actor_uri
    assert await relay.flush() == [202, 202]  # Accept, and its Follow of our instance actor
    row = await Following.get()
    assert row.state == FollowState.ACCEPTED and row.actor_id == bridge.directory.instance_actor.db_id
    follower = await Follower.get().prefetch_related("remote")
    assert follower.remote.uri == relay.actor_uri and follower.state == FollowState.ACCEPTED
    await deliver_all(bridge)
    assert [a["type"] for a in relay.received] == ["Follow", "Accept"] and relay.refused == []

    found = await bridge.client.get("/.well-known/webfinger",
                                    params={"resource": "acct:bridge.example@bridge.example"},
                                    headers={"Host": "bridge.example"})
    links = (await found.json())["links"]
    assert [link["href"] for link in links if link["rel"] == "self"] == [INSTANCE]
    document = await (await bridge.client.get("/actor", headers={
        "Accept": "application/activity+json", "Host": "bridge.example"})).json()
    assert document["type"] == "Application" and document["id"] == INSTANCE
    assert document["publicKey"]["id"] == f"{INSTANCE}#main-key"
    assert document["endpoints"]["sharedInbox"] == f"{BRIDGE}/inbox"
    hidden = await bridge.client.get("/actors/_instance", headers={
        "Accept": "application/activity+json", "Host": "bridge.example"})
    assert hidden.status == 404  # not one of the site's actors: no profile, no collections
    assert INSTANCE not in {a.uri for a in bridge.directory.all()}


async def test_a_relay_that_rejects_us_is_shown_rejected_and_logged(bridge, make_relay, caplog):
    """A relay whose rules refuse us (ActivityRelay's whitelist) answers Reject: the
    subscription is rejected, and a warning says so."""
    relay = await make_relay("activityrelay", whitelist={"elsewhere.example"})
    await subscriptions.subscribe_relay(bridge.directory, _store(bridge), relay.actor_uri)
    await deliver_all(bridge)
    with caplog.at_level(logging.WARNING):
        assert await relay.flush() == [202]
    assert (await Following.get()).state == FollowState.REJECTED
    assert any("REJECTED our subscription" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)
    row = (await subscriptions.following_of(None, bridge.directory))[0]
    described = subscriptions.describe(row)
    assert described["state"] == "rejected" and described["relay"]
    assert described["actor"] == "(instance)"


async def test_the_instance_actor_rejects_follows_from_anyone_but_its_relays(
        bridge, peer, alice):
    """Only a relay we subscribed to may follow the instance actor: anyone else is rejected."""
    trust_bridge(bridge, peer)
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice.uri}#f",
              "type": "Follow", "actor": alice.uri, "object": INSTANCE}
    assert (await bridge.post(follow, alice)).status == 202
    await deliver_all(bridge)
    assert [a["type"] for a in peer.received] == ["Reject"]
    assert (await Follower.get()).state == FollowState.REJECTED


async def test_public_posts_of_every_actor_reach_each_accepted_relay_once(
        bridge, make_relay, readers, peer_keys):
    """A collective's article (Create, Update, Delete) and the site actor's reach every accepted
    relay once each, whatever else follows; a pending relay gets nothing."""
    litepub, mastodon = await make_relay("activityrelay"), await make_relay("mastodon")
    await subscribed(bridge, litepub)
    await subscribed(bridge, mastodon)
    pending = await make_relay("mastodon")
    await subscriptions.subscribe_relay(bridge.directory, _store(bridge), pending.inbox)
    await deliver_all(bridge)
    pending.received.clear()  # its Accept never comes

    await follow_us(bridge, readers, peer_keys)
    uri = await publish(bridge, "halte-au-controle-numerique", 1)
    await publish(bridge, "halte-au-controle-numerique", 1, title="Article 1, corrigé")
    await bridge.app[PUBLISHER].delete("halte-au-controle-numerique", ObjectKind.ARTICLE,
                                       "push", "a1")
    site_uri = await publish(bridge, "site", 2)
    await deliver_all(bridge)
    for relay in (litepub, mastodon):
        assert relay.refused == []
        assert sorted((a["type"], a["actor"], a["object"]["id"]) for a in relay.received) == [
            ("Create", HALTE, uri), ("Create", SITE, site_uri), ("Delete", HALTE, uri),
            ("Update", HALTE, uri)]
    assert sorted(a["object"] for a in litepub.relayed if a["type"] == "Announce") == sorted(
        [uri, site_uri])
    assert pending.received == []


async def test_nothing_but_public_posts_reaches_a_relay(bridge, make_relay, readers, peer_keys):
    """Follow answers, followers-only and direct posts, pins: none of them reaches a relay, not
    even one that follows the site actor (a relay is never one of our readers)."""
    relay = await make_relay("activityrelay")
    await subscribed(bridge, relay)
    follow_site = relay._new("Follow", SITE, [SITE])  # as LitePub relays follow back
    assert (await bridge.post(follow_site, relay.signer)).status == 202
    carol = await follow_us(bridge, readers, peer_keys)  # our Accept went to carol alone
    site = bridge.directory.site_actor
    followers = bridge.directory.uris.followers(site.identifier)
    note = {"id": f"{BRIDGE}/objects/note/x", "type": "Note", "attributedTo": site.uri,
            "content": "<p>pour les abonnés</p>", "to": [followers]}
    for number, to in enumerate(([followers], [carol.uri])):
        create = {"@context": "https://www.w3.org/ns/activitystreams",
                  "id": activity_uri(bridge.directory, "create"), "type": "Create",
                  "actor": site.uri, "object": {**note, "id": f"{note['id']}{number}", "to": to},
                  "to": to}
        await send_activity(create, sender=site, public=True,  # the addressing decides
                            audience=Audience(followers_of=site.identifier,
                                              actor_uris=(carol.uri,)))
    await publish(bridge, "site", 4)
    await bridge.app[PUBLISHER].pin("site", ObjectKind.ARTICLE, "push", "a4", True)
    await deliver_all(bridge)
    assert sorted(a["type"] for a in readers.received) == ["Add", "Create", "Create", "Create"]
    assert [a["type"] for a in relay.received] == ["Accept", "Create"]  # its follow, answered
    assert relay.received[1]["object"]["name"] == "Article 4"


async def test_unsubscribing_leaves_no_relay_follower(bridge, make_relay):
    """ActivityRelay answers our Undo(Follow) with an Undo wrapping it: it is accepted, the
    relay is no follower of any of ours, and later posts are not sent to it."""
    relay = await make_relay("activityrelay")
    row = await subscribed(bridge, relay)
    # as before the instance actor existed, the relay also followed the site actor back
    follow_site = relay._new("Follow", SITE, [SITE])
    assert (await bridge.post(follow_site, relay.signer)).status == 202
    assert await Follower.filter(remote__uri=relay.actor_uri).count() == 2
    await deliver_all(bridge)
    relay.received.clear()

    await subscriptions.unfollow(bridge.directory, row)
    await deliver_all(bridge)
    [undo] = relay.received
    assert undo["type"] == "Undo" and undo["actor"] == INSTANCE
    assert relay.instances == {}
    assert await relay.flush() == [202]  # its Undo of our Undo
    assert await Follower.filter(remote__uri=relay.actor_uri).count() == 0
    relay.received.clear()
    await publish(bridge, "halte-au-controle-numerique", 5)
    await publish(bridge, "site", 6)
    await deliver_all(bridge)
    assert relay.received == [] and relay.refused == []


async def test_a_relay_undo_of_our_follow_back_is_taken_without_us_unsubscribing(
        bridge, make_relay):
    """A relay that drops us on its side sends an Undo of its own follow-back: the follower row
    goes; an Undo wrapping an activity that is not ours is still refused (403)."""
    relay = await make_relay("activityrelay")
    await subscribed(bridge, relay)
    follower = await Follower.get()
    undo = relay._new("Undo", {"id": follower.follow_activity_uri, "type": "Follow",
                               "actor": relay.actor_uri, "object": INSTANCE}, [INSTANCE])
    assert (await bridge.post(undo, relay.signer)).status == 202
    assert await Follower.all().count() == 0
    forged = relay._new("Undo", {"id": f"{BRIDGE}/activities/not-ours", "type": "Undo",
                                 "actor": INSTANCE, "object": "x"}, [INSTANCE])
    assert (await bridge.post(forged, relay.signer)).status == 403


async def test_an_item_relayed_is_never_boosted_back_into_its_relay(
        bridge, make_relay, peer: Peer, alice, readers, peer_keys):
    """Policy announce on a relay: the item it brought is boosted to our followers, its author
    and the other relays, never to the relay it came through (even one that follows us)."""
    came_through = await make_relay("activityrelay")
    other = await make_relay("mastodon")
    await subscribed(bridge, came_through, SyndicationPolicy.ANNOUNCE)
    await subscribed(bridge, other)
    follow_site = came_through._new("Follow", SITE, [SITE])  # a follow-back of the site actor
    assert (await bridge.post(follow_site, came_through.signer)).status == 202
    await follow_us(bridge, readers, peer_keys)  # delivers the Accept of that follow too
    trust_bridge(bridge, peer)
    document = article(alice)
    peer.serve(document["id"].removeprefix(peer.base), document)
    came_through.received.clear()
    came_through.outbox.append((f"{BRIDGE}/inbox", came_through._new(
        "Announce", document["id"], [f"{came_through.base}/followers"])))
    assert await came_through.flush() == [202]
    item = await SyndicatedItem.get()
    assert item.state == ItemState.APPROVED and item.via_uri == came_through.actor_uri
    await deliver_all(bridge)
    assert came_through.received == []
    assert [a["type"] for a in other.received] == ["Announce"]  # public boosts go to relays
    assert [a["type"] for a in readers.received] == ["Announce"]
    assert [a["type"] for a in peer.received] == ["Announce"]  # its author is told
    assert peer.received[0]["cc"] == [f"{SITE}/followers", alice.uri]
    # our Undo, when an editor rejects it after all, goes the same way: never to that relay
    await service.decide(bridge.directory, item.id, service.Decide.REJECT, "camille")
    await deliver_all(bridge)
    assert came_through.received == [] and came_through.refused == []
    assert [a["type"] for a in peer.received] == ["Announce", "Undo"]
    assert [a["type"] for a in other.received] == ["Announce", "Undo"]
    assert PUBLIC in peer.received[1]["to"]
