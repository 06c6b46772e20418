"""Deliveries about the same thing reach one inbox in the order they were queued.

A Follow and its Undo, a Create and the Delete of its object: the second one is held while the
first is pending or in flight to that inbox (even while the first waits for a retry), and goes
out after it. Unrelated activities to that inbox, and the same activity to other inboxes, are
not held. Peers are real loopback servers verifying every signature (tests/delivery/conftest.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from federation.db.delivery import DeliveryJob, DeliveryState, FanoutJob
from federation.delivery.fanout import expand
from federation.delivery.outbox import Audience, activity_uri, send_activity
from tests.delivery.conftest import HANG, PATIENCE, Env, Peer
from tests.delivery.test_fanout import SENDER, make_activity

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def send(env: Env, activity: dict[str, Any], *inboxes: str) -> str:
    await send_activity(activity, sender=env.directory.get(SENDER),
                        audience=Audience(inboxes=tuple(inboxes)))
    return str(activity["id"])


def follow_and_undo(env: Env, target: str) -> tuple[dict[str, Any], dict[str, Any]]:
    actor = env.directory.get(SENDER).uri
    follow = {"@context": "https://www.w3.org/ns/activitystreams",
              "id": activity_uri(env.directory, "Follow"), "type": "Follow", "actor": actor,
              "object": target}
    undo = {"@context": "https://www.w3.org/ns/activitystreams",
            "id": activity_uri(env.directory, "Undo"), "type": "Undo", "actor": actor,
            "object": {key: follow[key] for key in ("id", "type", "actor", "object")}}
    return follow, undo


def deletion(env: Env, object_id: str) -> dict[str, Any]:
    return {"@context": "https://www.w3.org/ns/activitystreams",
            "id": activity_uri(env.directory, "Delete"), "type": "Delete",
            "actor": env.directory.get(SENDER).uri,
            "object": {"id": object_id, "type": "Tombstone"}, "to": [PUBLIC]}


async def state_of(activity_id: str, inbox: str) -> DeliveryState:
    job = await DeliveryJob.get(activity__uri=activity_id, inbox_url=inbox)
    return job.state


def order(peer: Peer) -> list[str]:
    return [received.activity_id for received in peer.received]


async def test_an_undo_waits_for_its_follow_in_flight(env: Env) -> None:
    """Queued together to one inbox (a follow undone at once): while the Follow is in flight
    (its request hangs), the Undo stays pending; it goes out after the Follow was answered.
    The grouped claim used to send both at once (two request slots per host), so the Undo
    could overtake the Follow and the peer would keep a follow that had been undone."""
    peer = await env.peer()
    inbox = peer.url("/inbox")
    peer.answer("/inbox", HANG)
    follow, undo = follow_and_undo(env, peer.url("/users/alice"))
    await send(env, follow, inbox)
    await send(env, undo, inbox)
    worker = env.worker()
    first = asyncio.create_task(worker.run_once())
    try:
        async with asyncio.timeout(PATIENCE):
            await peer.hanging.wait()
        assert await state_of(follow["id"], inbox) == DeliveryState.SENDING
        assert await state_of(undo["id"], inbox) == DeliveryState.PENDING
        assert await env.worker().claim(50) == []  # another worker does not take it either
    finally:
        peer.release.set()
    await asyncio.wait_for(first, PATIENCE)
    assert order(peer) == [follow["id"]]
    await env.drain(worker)
    assert order(peer) == [follow["id"], undo["id"]] and not peer.refused
    assert await state_of(undo["id"], inbox) == DeliveryState.DELIVERED


async def test_a_delete_waits_while_its_create_is_retried(env: Env) -> None:
    """The Create failed (500) and waits for its retry; the Delete queued meanwhile is held
    (a Delete before its Create would leave the post on the peer), then follows the Create."""
    peer = await env.peer()
    inbox = peer.url("/inbox")
    peer.answer("/inbox", 500)
    create = make_activity(env)
    await send(env, create, inbox)
    worker = env.worker()
    await env.drain(worker)
    assert await state_of(create["id"], inbox) == DeliveryState.PENDING  # retry later
    delete = deletion(env, create["object"]["id"])
    await send(env, delete, inbox)
    await env.drain(worker)  # expands the Delete's fanout; the Create is not due yet
    assert order(peer) == [] and await state_of(delete["id"], inbox) == DeliveryState.PENDING
    env.clock.advance(seconds=16)
    await env.drain(worker)
    assert order(peer) == [create["id"], delete["id"]] and not peer.refused


async def test_a_delete_goes_once_its_create_failed_for_good(env: Env) -> None:
    """A Create refused for good (a 4xx that ends the job) holds nothing back."""
    peer = await env.peer()
    inbox = peer.url("/inbox")
    peer.answer("/inbox", 422)
    create = make_activity(env)
    await send(env, create, inbox)
    delete = deletion(env, create["object"]["id"])
    await send(env, delete, inbox)
    await env.drain()
    assert await state_of(create["id"], inbox) == DeliveryState.FAILED
    assert order(peer) == [delete["id"]]


async def test_unrelated_activities_are_not_held(env: Env) -> None:
    """Another article's Create to the same inbox, and the Delete to another inbox, go out
    while the first Create waits for its retry there."""
    peer, other = await env.peer(), await env.peer()
    inbox = peer.url("/inbox")
    peer.answer("/inbox", 500)
    create = make_activity(env)
    await send(env, create, inbox)
    worker = env.worker()
    await env.drain(worker)
    unrelated = make_activity(env)
    unrelated["object"] = {**unrelated["object"], "id": "https://bridge.example/objects/article/2"}
    await send(env, unrelated, inbox)
    delete = deletion(env, create["object"]["id"])
    await send(env, delete, inbox, other.url("/inbox"))
    await env.drain(worker)
    assert order(peer) == [unrelated["id"]]
    assert order(other) == [delete["id"]]
    assert await state_of(delete["id"], inbox) == DeliveryState.PENDING


async def test_the_order_is_the_sending_order_whatever_the_expansion_order(env: Env) -> None:
    """Two workers may expand the fanouts of a Follow and its Undo in either order (PostgreSQL
    returned the claimed fanouts in no particular order: the Undo's delivery row could get the
    lower id). The Undo's fanout expanded first still goes out after the Follow."""
    peer = await env.peer()
    inbox = peer.url("/inbox")
    follow, undo = follow_and_undo(env, peer.url("/users/alice"))
    await send(env, follow, inbox)
    await send(env, undo, inbox)
    for fanout in await FanoutJob.all().order_by("-id"):  # the Undo's first
        await expand(fanout, env.settings, env.directory, env.client, env.clock.now)
    first = await DeliveryJob.get(activity__uri=undo["id"])
    assert first.id < (await DeliveryJob.get(activity__uri=follow["id"])).id
    await env.drain()
    assert order(peer) == [follow["id"], undo["id"]] and not peer.refused
