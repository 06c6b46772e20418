"""What followed sister sites send us: stored by policy, boosted, withdrawn; origin rules;
and the order of the composed listeners (replies still reach moderation)."""

from __future__ import annotations

from federation.db.content import OutboxActivity
from federation.db.inbox import DeletedObject
from federation.db.moderation import Interaction, Reply
from federation.db.syndication import ItemState, SyndicatedItem

from .conftest import (
    ARTICLE,
    PUBLIC,
    SITE,
    SITE_FOLLOWERS,
    PeerActor,
    activity,
    article,
    deliver_all,
    event,
    follow_row,
    follow_us,
    trust_bridge,
)


async def test_review_policy_keeps_the_item_waiting_and_sends_nothing(bridge, peer, alice):
    """A Create from a followed actor with the review policy: pending_review, sanitised, no Announce."""
    await follow_row(bridge, alice.uri, "review")
    response = await bridge.post(activity("Create", alice, article(alice)), alice)
    assert response.status == 202
    item = await SyndicatedItem.get()
    assert item.state == ItemState.PENDING_REVIEW and item.type == "Article"
    assert item.actor_uri == alice.uri and item.name == "Débat numéro 1"
    assert item.url == "https://sister.example/article1"
    assert "<script>" not in item.document["content"] and "Texte intégral" in item.document["content"]
    assert await OutboxActivity.all().count() == 0


async def test_announce_policy_boosts_to_our_followers_and_its_author(bridge, peer, alice,
                                                                      readers, peer_keys):
    """With the announce policy our actor boosts the item: our followers and the item's author
    (cc'd and delivered, as Mastodon does, so that the author is notified) verify a signed
    Announce; its Undo, when the author deletes the item, goes the same way."""
    await follow_us(bridge, readers, peer_keys)
    trust_bridge(bridge, peer)
    await follow_row(bridge, alice.uri, "announce")
    await bridge.post(activity("Create", alice, article(alice)), alice)
    item = await SyndicatedItem.get()
    assert item.state == ItemState.APPROVED and item.announce_activity_uri
    await deliver_all(bridge)
    assert readers.refused == [] and peer.refused == []
    [boost] = readers.received
    assert boost["type"] == "Announce" and boost["actor"] == SITE
    assert boost["object"] == article(alice)["id"]
    assert boost["to"] == [PUBLIC] and boost["cc"] == [SITE_FOLLOWERS, alice.uri]
    assert boost["id"] == item.announce_activity_uri
    assert peer.received == [boost]  # the author's server got it too
    delete = {**activity("Delete", alice, article(alice)["id"]), "id": f"{alice.uri}#delete"}
    assert (await bridge.post(delete, alice)).status == 202
    await deliver_all(bridge)
    [undo] = [a for a in peer.received if a["type"] == "Undo"]
    assert undo["object"]["id"] == boost["id"] and undo["cc"] == [SITE_FOLLOWERS, alice.uri]
    assert [a["type"] for a in readers.received] == ["Announce", "Undo"]


async def test_store_policy_keeps_the_item_and_sends_nothing(bridge, peer, alice, readers, peer_keys):
    """With the store policy the item is kept for the site only."""
    await follow_us(bridge, readers, peer_keys)
    await follow_row(bridge, alice.uri, "store")
    await bridge.post(activity("Create", alice, event(alice)), alice)
    item = await SyndicatedItem.get()
    assert item.state == ItemState.STORED and item.type == "Event"
    assert item.start_at is not None and item.start_at.hour == 16  # 18:00 +02:00 in UTC
    assert "La Cale" in item.document["location"]
    await deliver_all(bridge)
    assert readers.received == []


async def test_create_from_an_actor_we_do_not_follow_is_not_syndicated(bridge, peer, alice):
    """A top-level article from an actor we do not follow stores nothing at all."""
    response = await bridge.post(activity("Create", alice, article(alice)), alice)
    assert response.status == 202
    assert await SyndicatedItem.all().count() == 0 and await Reply.all().count() == 0


async def test_pending_follow_does_not_syndicate(bridge, peer, alice):
    """Until the sister site accepts our Follow, its posts are not syndicated."""
    from federation.db.social import FollowState

    await follow_row(bridge, alice.uri, "store", state=FollowState.PENDING)
    await bridge.post(activity("Create", alice, article(alice)), alice)
    assert await SyndicatedItem.all().count() == 0


async def test_reply_by_a_followed_actor_still_reaches_moderation(bridge, peer, alice):
    """A followed actor's reply to our article is a pending reply for moderation, not an item."""
    await bridge.article()
    await follow_row(bridge, alice.uri, "announce")
    reply = article(alice, 2, type="Note", inReplyTo=ARTICLE, name=None)
    assert (await bridge.post(activity("Create", alice, reply), alice)).status == 202
    assert await SyndicatedItem.all().count() == 0
    stored = await Reply.get()
    assert stored.uri == reply["id"]
    assert await OutboxActivity.all().count() == 0


async def test_boost_of_our_object_by_a_followed_actor_is_still_counted(bridge, peer, alice):
    """An Announce of our own article by a followed actor is an interaction, not an item."""
    await bridge.article()
    await follow_row(bridge, alice.uri, "announce")
    boost = activity("Announce", alice, ARTICLE)
    assert (await bridge.post(boost, alice)).status == 202
    assert await Interaction.all().count() == 1
    assert await SyndicatedItem.all().count() == 0


async def test_followers_only_post_is_never_republished(bridge, peer, alice):
    """A post addressed to followers only is not kept (nothing non-public leaks)."""
    await follow_row(bridge, alice.uri, "announce")
    private = article(alice, to=[f"{alice.uri}/followers"], cc=[])
    await bridge.post(activity("Create", alice, private), alice)
    assert await SyndicatedItem.all().count() == 0
    assert await OutboxActivity.all().count() == 0


async def test_create_of_an_object_on_another_origin_is_refused(bridge, peer, make_peer, alice):
    """A Create whose object id is on another origin than the actor's stores nothing (403)."""
    other = await make_peer()
    await follow_row(bridge, alice.uri, "announce")
    foreign = {**article(alice), "id": f"{other.base}/articles/1"}
    response = await bridge.post(activity("Create", alice, foreign), alice)
    assert response.status == 403
    assert await SyndicatedItem.all().count() == 0 and await OutboxActivity.all().count() == 0


async def test_create_attributed_to_someone_else_is_refused(bridge, peer, alice):
    """attributedTo must be the activity's actor."""
    await follow_row(bridge, alice.uri, "announce")
    forged = article(alice, attributedTo=f"{peer.base}/users/mallory")
    response = await bridge.post(activity("Create", alice, forged), alice)
    assert response.status == 403
    assert await SyndicatedItem.all().count() == 0


async def test_announce_refetches_the_object_from_its_origin(bridge, peer, make_peer, alice, peer_keys):
    """A followed actor's boost: the embedded copy is ignored, the object is fetched from its origin."""
    origin = await make_peer()
    dave = origin.actor("dave", peer_keys[2])
    real = article(dave, 7)
    origin.serve("/users/dave/articles/7", real)
    await follow_row(bridge, alice.uri, "review")
    forged = {**real, "name": "Faux titre", "content": "<p>faux</p>"}
    response = await bridge.post(activity("Announce", alice, forged), alice)
    assert response.status == 202
    item = await SyndicatedItem.get()
    assert origin.count("/users/dave/articles/7") == 1
    assert item.name == "Débat numéro 7" and "faux" not in item.document["content"]
    assert item.actor_uri == dave.uri and item.via_uri == alice.uri


async def test_announce_of_an_object_claiming_another_id_is_ignored(bridge, peer, make_peer, alice, peer_keys):
    """A fetched document whose id is not the URL fetched is refused: nothing stored."""
    origin = await make_peer()
    dave = origin.actor("dave", peer_keys[2])
    origin.serve("/users/dave/articles/7", article(dave, 8))
    await follow_row(bridge, alice.uri, "review")
    await bridge.post(activity("Announce", alice, f"{origin.base}/users/dave/articles/7"), alice)
    assert await SyndicatedItem.all().count() == 0


async def test_delete_withdraws_undoes_the_boost_and_tombstones(bridge, peer, alice, readers, peer_keys):
    """The source deletes its item: Undo(Announce) to our followers, withdrawn, a replayed Create is a no-op."""
    await follow_us(bridge, readers, peer_keys)
    await follow_row(bridge, alice.uri, "announce")
    create = activity("Create", alice, article(alice))
    await bridge.post(create, alice)
    await deliver_all(bridge)
    announce_uri = (await SyndicatedItem.get()).announce_activity_uri
    tombstone = {"id": article(alice)["id"], "type": "Tombstone"}
    assert (await bridge.post(activity("Delete", alice, tombstone), alice)).status == 202
    item = await SyndicatedItem.get()
    assert item.state == ItemState.WITHDRAWN and item.document == {} and item.name == ""
    assert await DeletedObject.exists(object_uri=item.object_uri)
    await deliver_all(bridge)
    assert [a["type"] for a in readers.received] == ["Announce", "Undo"]
    undo = readers.received[1]
    assert undo["object"]["id"] == announce_uri and undo["object"]["type"] == "Announce"
    replay = {**create, "id": create["id"] + "-again"}
    await bridge.post(replay, alice)
    assert (await SyndicatedItem.get()).state == ItemState.WITHDRAWN
    assert await SyndicatedItem.all().count() == 1


async def test_delete_by_another_actor_changes_nothing(bridge, peer, alice, peer_keys):
    """Only the item's author withdraws it (a known actor deleting another's item: 403)."""
    mallory = peer.actor("mallory", peer_keys[3])
    known = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{mallory.uri}#f",
             "type": "Follow", "actor": mallory.uri, "object": SITE}
    assert (await bridge.post(known, mallory)).status == 202
    await follow_row(bridge, alice.uri, "store")
    await bridge.post(activity("Create", alice, article(alice)), alice)
    response = await bridge.post(activity("Delete", mallory, article(alice)["id"]), mallory)
    assert response.status == 403
    assert (await SyndicatedItem.get()).state == ItemState.STORED


async def test_update_by_the_author_refreshes_the_item(bridge, peer, alice):
    """An Update of an item we hold changes its columns, not its state."""
    await follow_row(bridge, alice.uri, "review")
    await bridge.post(activity("Create", alice, article(alice)), alice)
    changed = article(alice, name="Débat reporté", updated="2026-05-02T10:00:00Z")
    assert (await bridge.post(activity("Update", alice, changed), alice)).status == 202
    item = await SyndicatedItem.get()
    assert item.name == "Débat reporté" and item.state == ItemState.PENDING_REVIEW
    assert item.updated_at is not None


async def test_accept_of_our_follow_is_matched_by_follow_id_and_target(bridge, peer, alice, peer_keys):
    """An Accept from the followed actor accepts; one from another actor changes nothing."""
    from federation.db.social import Following, FollowState

    row = await follow_row(bridge, alice.uri, state=FollowState.PENDING)
    mallory = peer.actor("mallory", peer_keys[3])
    accept = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Accept",
              "object": {"id": row.follow_activity_uri, "type": "Follow", "actor": SITE,
                         "object": alice.uri}}
    await bridge.post({**accept, "id": f"{mallory.uri}#accept", "actor": mallory.uri}, mallory)
    assert (await Following.get()).state == FollowState.PENDING
    await bridge.post({**accept, "id": f"{alice.uri}#accept", "actor": alice.uri}, alice)
    assert (await Following.get()).state == FollowState.ACCEPTED


async def test_create_right_after_the_accept_is_syndicated(bridge, peer, alice):
    """The cached set of followed actors is forgotten when a follow is accepted: no delay."""
    from federation.db.social import FollowState

    row = await follow_row(bridge, alice.uri, "store", state=FollowState.PENDING)
    await bridge.post(activity("Create", alice, article(alice, 1), 1), alice)  # caches "not followed"
    assert await SyndicatedItem.all().count() == 0
    accept = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Accept",
              "id": f"{alice.uri}#accept", "actor": alice.uri,
              "object": {"id": row.follow_activity_uri, "type": "Follow", "actor": SITE,
                         "object": alice.uri}}
    await bridge.post(accept, alice)
    await bridge.post(activity("Create", alice, article(alice, 2), 2), alice)
    assert await SyndicatedItem.filter(object_uri=f"{alice.uri}/articles/2").count() == 1


async def test_mastodon_relay_accept_and_relayed_announce(bridge, peer, make_peer, alice, peer_keys):
    """A Mastodon-style relay answers from its actor (same origin as its inbox); its Announces are syndicated."""
    from federation.db.social import Following, FollowState

    relay = PeerActor(f"{peer.base}/users/alice", peer_keys[0])  # the relay's actor is alice
    row = await follow_row(bridge, f"{peer.base}/inbox", "store", state=FollowState.PENDING,
                           is_relay=True)
    accept = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{relay.uri}#accept",
              "type": "Accept", "actor": relay.uri,
              "object": {"id": row.follow_activity_uri, "type": "Follow", "object": PUBLIC}}
    assert (await bridge.post(accept, relay)).status == 202
    row = await Following.get().prefetch_related("remote")
    assert row.state == FollowState.ACCEPTED and row.remote.uri == relay.uri
    origin = await make_peer()
    dave = origin.actor("dave", peer_keys[2])
    origin.serve("/users/dave/notes/3", article(dave, 3, type="Note", id=f"{dave.uri}/notes/3"))
    await bridge.post(activity("Announce", relay, f"{dave.uri}/notes/3"), relay)
    item = await SyndicatedItem.get()
    assert item.type == "Note" and item.state == ItemState.STORED and item.via_uri == relay.uri
