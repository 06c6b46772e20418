"""Follow → Accept end to end, manual approval, Undo, and answers to our own follows."""

from __future__ import annotations

from datetime import UTC, datetime

from federation.db.content import OutboxActivity
from federation.db.social import Follower, Following, FollowState, RemoteActor
from federation.delivery.worker import DeliveryWorker
from federation.inbox.follows import decide_follower
from federation.web.state import CLIENT, SETTINGS

from .conftest import CAP, HALTE, nothing_stored


def follow(actor, target: str = HALTE, number: int = 1) -> dict:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor.uri}#follows/{number}",
            "type": "Follow", "actor": actor.uri, "object": target}


async def deliver_all(bridge) -> None:
    worker = DeliveryWorker(bridge.app[SETTINGS], bridge.directory, bridge.app[CLIENT],
                            random=lambda: 0.0)
    for _ in range(5):
        if not await worker.run_once():
            return


def trust_bridge(bridge, peer) -> None:
    peer.trusted_keys = {a.key_id: a.rsa_public_pem for a in bridge.directory.all()}


async def test_follow_is_accepted_and_the_follower_verifies_the_accept(bridge, peer, alice):
    """A Follow makes an accepted follower; the follower's server receives a signed Accept it verifies."""
    trust_bridge(bridge, peer)
    response = await bridge.post(follow(alice), alice)
    assert response.status == 202
    follower = await Follower.get().prefetch_related("remote")
    assert follower.state == FollowState.ACCEPTED and follower.remote.uri == alice.uri
    await deliver_all(bridge)
    assert peer.refused == []
    [accept] = peer.received
    assert accept["type"] == "Accept" and accept["actor"] == HALTE
    assert accept["object"]["id"] == f"{alice.uri}#follows/1"
    assert accept["object"]["actor"] == alice.uri


async def test_manual_approval_keeps_follower_pending_until_accepted(bridge, peer, alice):
    """For an actor that approves followers, the follow waits; accepting it by CLI sends the Accept."""
    trust_bridge(bridge, peer)
    assert (await bridge.post(follow(alice, CAP), alice)).status == 202
    follower = await Follower.get()
    assert follower.state == FollowState.PENDING
    assert await OutboxActivity.all().count() == 0
    await decide_follower(bridge.directory, "changer-de-cap", alice.uri, accept=True)
    await deliver_all(bridge)
    assert [a["type"] for a in peer.received] == ["Accept"]
    assert (await Follower.get()).state == FollowState.ACCEPTED


async def test_rejecting_a_pending_follower_sends_reject(bridge, peer, alice):
    """Rejecting a pending follow by CLI sends a Reject and keeps it out of the followers."""
    trust_bridge(bridge, peer)
    await bridge.post(follow(alice, CAP), alice)
    await decide_follower(bridge.directory, "changer-de-cap", alice.uri, accept=False)
    await deliver_all(bridge)
    assert [a["type"] for a in peer.received] == ["Reject"]
    assert (await Follower.get()).state == FollowState.REJECTED


async def test_follow_of_someone_else_is_not_stored(bridge, peer, alice):
    """A Follow of an actor that is not ours stores nothing."""
    response = await bridge.post(follow(alice, "https://elsewhere.example/users/x"), alice)
    assert response.status == 202
    assert await Follower.all().count() == 0 and await RemoteActor.all().count() == 0


async def test_undo_follow_removes_the_follower(bridge, peer, alice):
    """Undo(Follow) by the follower removes it."""
    await bridge.post(follow(alice), alice)
    undo = {"id": f"{alice.uri}#undo/1", "type": "Undo", "actor": alice.uri, "object": follow(alice)}
    assert (await bridge.post(undo, alice)).status == 202
    assert await Follower.all().count() == 0


async def test_undo_with_other_inner_actor_is_403(bridge, peer, alice, peer_keys):
    """(17) Undo whose inner actor is not the outer actor is refused and changes nothing."""
    bob = peer.actor("bob", peer_keys[1])
    await bridge.post(follow(bob), bob)
    undo = {"id": f"{alice.uri}#undo/1", "type": "Undo", "actor": alice.uri, "object": follow(bob)}
    response = await bridge.post(undo, alice)
    assert response.status == 403
    assert await Follower.all().count() == 1


async def test_accept_of_our_follow_updates_following(bridge, peer, alice):
    """Accept of a Follow we sent (sister sites) marks it accepted — only from the followed actor."""
    local = bridge.directory.get("site")
    row = await Following.create(actor_id=local.db_id, target_uri=alice.uri,
                                 follow_activity_uri=f"{local.uri}#follow/1")
    accept = {"id": f"{alice.uri}#accepts/1", "type": "Accept", "actor": alice.uri,
              "object": {"id": row.follow_activity_uri, "type": "Follow", "actor": local.uri,
                         "object": alice.uri}}
    assert (await bridge.post(accept, alice)).status == 202
    await row.refresh_from_db()
    assert row.state == FollowState.ACCEPTED and row.decided_at <= datetime.now(UTC)


async def test_reject_of_our_follow_by_another_actor_changes_nothing(bridge, peer, alice, peer_keys):
    """A Reject of our follow sent by someone we did not follow changes nothing."""
    bob = peer.actor("bob", peer_keys[1])
    local = bridge.directory.get("site")
    row = await Following.create(actor_id=local.db_id, target_uri=alice.uri,
                                 follow_activity_uri=f"{local.uri}#follow/1")
    reject = {"id": f"{bob.uri}#rejects/1", "type": "Reject", "actor": bob.uri,
              "object": row.follow_activity_uri}
    assert (await bridge.post(reject, bob)).status == 202
    await row.refresh_from_db()
    assert row.state == FollowState.PENDING


async def test_follow_from_blocked_actor_is_403(bridge, peer, alice):
    """A verified activity from a blocked actor is refused and nothing about it is kept."""
    from federation.db.social import Block, BlockKind

    await Block.create(kind=BlockKind.ACTOR, value=alice.uri)
    response = await bridge.post(follow(alice), alice)
    assert response.status == 403
    await Block.all().delete()
    assert await nothing_stored()


async def test_follow_of_a_retired_collective_is_not_stored(bridge, peer, alice):
    """A retired collective takes no new follower: the Follow is acknowledged, nothing kept,
    nothing sent back (its personal inbox is gone too)."""
    from federation.identity.images import MediaStore
    from federation.publishing.profiles import ActorAdmin

    await ActorAdmin(bridge.directory, MediaStore(bridge.app[SETTINGS].data_dir)).retire(
        "changer-de-cap")
    sent_before = await OutboxActivity.all().count()  # the retirement's Delete
    assert (await bridge.post(follow(alice, CAP), alice)).status == 202
    assert await Follower.all().count() == 0
    assert await OutboxActivity.all().count() == sent_before
    response = await bridge.post(follow(alice, CAP, 2), alice,
                                 path="/actors/changer-de-cap/inbox")
    assert response.status in (404, 410)
    assert await Follower.all().count() == 0
