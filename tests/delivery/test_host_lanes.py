"""A host's deliveries share one warm connection; a slow host gets its second request slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from federation.db.delivery import DeliveryJob, DeliveryState
from federation.delivery.worker import SPILL_ANYWAY, DeliveryWorker
from tests.delivery.conftest import HANG, PATIENCE, Env, Peer
from tests.delivery.test_worker import send_to


def record_connections(peer: Peer) -> list[int]:
    """The client port of each request ``peer`` answers, in arrival order (one per connection)."""
    ports: list[int] = []
    respond = peer.respond

    async def recording(request: web.Request, *args: Any) -> Any:
        assert request.transport is not None
        ports.append(request.transport.get_extra_info("peername")[1])
        return await respond(request, *args)

    peer.respond = recording  # type: ignore[method-assign]
    return ports


async def test_a_fast_hosts_deliveries_go_back_to_back_on_one_connection(env: Env) -> None:
    """Five deliveries to one host that answers at once: one connection, in the order queued
    (per_host_concurrency 2 used to open two connections for them)."""
    peer = await env.peer()
    ports = record_connections(peer)
    paths = [f"/users/{n}/inbox" for n in range(5)]
    await send_to(env, *[peer.url(p) for p in paths])
    worker = env.worker(spill_after=PATIENCE)  # no second slot however slow the machine is
    await env.drain(worker)
    assert [r.path for r in peer.received] == paths and not peer.refused
    assert len(ports) == 5 and len(set(ports)) == 1
    assert worker.spills == 0 and worker.tracked_hosts == 0
    assert await DeliveryJob.filter(state=DeliveryState.DELIVERED).count() == 5


async def test_a_slow_host_gets_its_second_slot(env: Env) -> None:
    """While a host's first request hangs, its other deliveries get a second slot (after
    ``spill_after``) and go out on a second connection, never a third (the per-host cap)."""
    peer = await env.peer()
    ports = record_connections(peer)
    paths = [f"/users/{n}/inbox" for n in range(3)]
    peer.answer(paths[0], HANG)
    await send_to(env, *[peer.url(p) for p in paths])
    worker = env.worker(spill_after=0.05)
    task = asyncio.create_task(worker.run_once())
    try:
        async with asyncio.timeout(PATIENCE):  # polling for progress, not timing
            while peer.count() < 2:
                await asyncio.sleep(0.01)
        assert {r.path for r in peer.received} == set(paths[1:])
        assert not peer.count(paths[0]) and worker.spills == 1
        assert len(ports) == 3 and len(set(ports)) == 2  # the first, then one for the others
        assert ports[1] == ports[2]
    finally:
        peer.release.set()
        await asyncio.wait_for(task, PATIENCE)
    assert peer.count() == 3 and not peer.refused
    assert await DeliveryJob.filter(state=DeliveryState.DELIVERED).count() == 3
    assert worker.tracked_hosts == 0


async def second_slot_held_back(env: Env, hold: Callable[[], Awaitable[None]],
                                **worker_options: Any) -> None:
    """A host whose first request hangs while its second delivery waits: during ``hold`` no
    second slot opens; it opens all the same once the queue has waited SPILL_ANYWAY."""
    peer = await env.peer()
    paths = [f"/users/{n}/inbox" for n in range(2)]
    peer.answer(paths[0], HANG)
    await send_to(env, *[peer.url(p) for p in paths])
    worker = env.worker(**worker_options)
    started = time.monotonic()  # before the second delivery began to wait
    task = asyncio.create_task(worker.run_once())
    try:
        async with asyncio.timeout(PATIENCE):
            await peer.hanging.wait()
        await hold()
        assert worker.spills == 0 and peer.count() == 0
        async with asyncio.timeout(PATIENCE):  # polling for progress, not timing
            while peer.count() < 1:
                await asyncio.sleep(0.01)
        assert time.monotonic() - started >= SPILL_ANYWAY
        assert worker.spills == 1 and peer.count(paths[1]) == 1
    finally:
        peer.release.set()
        await asyncio.wait_for(task, PATIENCE)
    assert peer.count() == 2


async def test_no_second_slot_while_the_event_loop_is_behind(env: Env) -> None:
    """When the worker's own loop is late (its CPU is the bottleneck, not the host), a slow
    host's queue waits for its connection instead of opening another — up to SPILL_ANYWAY,
    then the second slot comes all the same (a hung host holds its queue one timeout only)."""

    async def fall_behind() -> None:
        # the loop is held past the spill timer's due time: it fires 0.3 s late or more
        time.sleep(0.6)  # noqa: ASYNC251 -- blocking on purpose: the loop falls behind
        await asyncio.sleep(0.05)

    await second_slot_held_back(env, fall_behind, spill_after=0.3)


async def test_no_second_slot_while_the_workers_cpu_is_saturated(env: Env) -> None:
    """A worker whose process runs flat out (its CPU clock advancing as fast as the wall
    clock) keeps a slow host's queue on its one connection even though its loop is on time:
    another connection would cost CPU and bring nothing — up to SPILL_ANYWAY, then the second
    slot comes all the same."""

    async def stay_on_time() -> None:
        await asyncio.sleep(0.3)  # six spill timers' worth, the loop idle and on time

    await second_slot_held_back(env, stay_on_time, spill_after=0.05,
                                cpu_clock=time.monotonic)  # always saturated


async def test_a_crashing_delivery_does_not_stop_its_hosts_lane(env: Env, caplog: Any) -> None:
    """A bug while deciding one delivery is logged; the host's next deliveries still go out on
    the lane, and the crashed one, still under its lease, is tried again once it expires."""
    peer = await env.peer()
    paths = [f"/users/{n}/inbox" for n in range(3)]
    await send_to(env, *[peer.url(p) for p in paths])
    crashed: list[int] = []

    class Buggy(DeliveryWorker):
        def _decide(self, job: Any, status: Any, retry_after: Any) -> Any:
            if job.inbox_url.endswith(paths[0]) and not crashed:
                crashed.append(job.id)
                raise RuntimeError("a bug")
            return super()._decide(job, status, retry_after)

    worker = Buggy(env.settings, env.directory, env.client, clock=env.clock,
                   random=lambda: 0.0, spill_after=PATIENCE)
    await worker.run_once()
    assert f"delivery {crashed[0]} crashed" in caplog.text
    assert sorted(r.path for r in peer.received) == sorted(paths)  # the lane went on
    assert await DeliveryJob.filter(state=DeliveryState.DELIVERED).count() == 2
    assert (await DeliveryJob.get(id=crashed[0])).state is DeliveryState.SENDING
    assert worker.tracked_hosts == 0
    env.clock.advance(seconds=env.settings.delivery.lease_seconds + 1)
    await env.drain(worker)
    assert await DeliveryJob.filter(state=DeliveryState.DELIVERED).count() == 3
    assert peer.count(paths[0]) == 2  # sent, its answer lost to the bug, sent again
