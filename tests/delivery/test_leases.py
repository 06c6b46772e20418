"""Leases: a dead worker's jobs are taken up after the lease; concurrent workers never double-send."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from federation.db.delivery import DeliveryJob, DeliveryState, FanoutJob, FanoutState
from federation.delivery.outbox import Audience, send_activity
from federation.delivery.queue import claim_fanouts
from tests.delivery.conftest import HANG, PATIENCE, Env, Peer
from tests.delivery.test_fanout import SENDER, make_activity


async def send_to_many(env: Env, peers: list[Peer], per_peer: int) -> None:
    inboxes = tuple(p.url(f"/users/{n}/inbox") for p in peers for n in range(per_peer))
    await send_activity(make_activity(env), sender=env.directory.get(SENDER),
                        audience=Audience(inboxes=inboxes))


async def test_worker_killed_mid_delivery_is_replaced_after_lease(env: Env) -> None:
    """Jobs claimed by a worker that died are delivered by another once the lease expires."""
    peer = await env.peer()
    await send_to_many(env, [peer], 6)
    dead = env.worker()
    await dead.expand_fanouts()
    claimed = await dead.claim(4)  # ... and never finishes them
    assert len(claimed) == 4
    survivor = env.worker()
    await env.drain(survivor)
    assert peer.count() == 2  # the two unclaimed ones only
    env.clock.advance(seconds=env.settings.delivery.lease_seconds + 1)
    await env.drain(survivor)
    assert peer.count() == 6 and len({r.path for r in peer.received}) == 6
    assert await DeliveryJob.filter(state=DeliveryState.DELIVERED).count() == 6


async def test_worker_killed_mid_fanout_is_replaced_after_lease(env: Env) -> None:
    """A fanout claimed by a dead worker is expanded by another after the lease."""
    peer = await env.peer()
    await send_to_many(env, [peer], 3)
    assert len(await claim_fanouts("dead/1", env.clock.now, timedelta(seconds=300), 5)) == 1
    survivor = env.worker()
    assert await survivor.run_once() == 0
    env.clock.advance(seconds=301)
    await env.drain(survivor)
    assert (await FanoutJob.get()).state == FanoutState.DONE
    assert peer.count() == 3


async def test_clean_shutdown_releases_in_flight_leases(env: Env) -> None:
    """Stopping a worker mid-request gives the job back at once (no wait for the lease)."""
    peer = await env.peer()
    peer.answer("/users/0/inbox", HANG)
    await send_to_many(env, [peer], 1)
    stop = asyncio.Event()
    worker = env.worker(poll_interval=0.01, shutdown_grace=0.05)
    task = asyncio.create_task(worker.run_forever(stop))
    await asyncio.wait_for(peer.hanging.wait(), PATIENCE)
    stop.set()
    await asyncio.wait_for(task, PATIENCE)
    job = await DeliveryJob.get()
    assert (job.state, job.lease_owner, job.attempts) == (DeliveryState.PENDING, None, 0)
    peer.release.set()
    await env.drain()
    assert peer.count() == 1


async def test_run_forever_delivers_and_stops(env: Env) -> None:
    """The continuous loop delivers everything and stops when asked."""
    peers = [await env.peer() for _ in range(3)]
    await send_to_many(env, peers, 5)
    stop = asyncio.Event()
    task = asyncio.create_task(env.worker(poll_interval=0.01).run_forever(stop))
    try:
        async with asyncio.timeout(PATIENCE):  # polling for completion, not timing
            while await DeliveryJob.filter(state=DeliveryState.DELIVERED).count() < 15:
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(task, PATIENCE)
    assert [p.count() for p in peers] == [5, 5, 5]


async def test_concurrent_workers_never_send_a_job_twice(env: Env) -> None:
    """Three workers draining one queue concurrently (own transactions): each inbox once."""
    peers = [await env.peer() for _ in range(4)]
    await send_to_many(env, peers, 25)
    first = env.worker()
    await first.expand_fanouts()
    workers = [first, env.worker(), env.worker()]

    async def drain(worker) -> None:
        while await worker.run_once():
            pass

    await asyncio.gather(*(drain(w) for w in workers))
    received = [(p.host, r.path) for p in peers for r in p.received]
    assert len(received) == 100 and len(set(received)) == 100
    assert await DeliveryJob.filter(state=DeliveryState.DELIVERED).count() == 100
