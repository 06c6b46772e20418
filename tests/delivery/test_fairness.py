"""Slow hosts do not stall everyone: a hung host's backlog never hides other hosts' due work.

The hung hosts' jobs are the oldest due rows (sent first, a second earlier on the fake clock);
the healthy hosts' jobs come after them. The claim must still give the healthy hosts their
work while the hung ones hold at most their per-host cap.
"""

from __future__ import annotations

import asyncio

from federation.db.delivery import DeliveryJob, DeliveryState, HostHealth
from federation.delivery.outbox import Audience, send_activity
from tests.delivery.conftest import HANG, PATIENCE, SHORT_TIMEOUT, Env, Peer
from tests.delivery.test_fanout import SENDER, make_activity


async def backlog(env: Env, hung: list[Peer], healthy: list[Peer], *, hung_jobs: int,
                  healthy_jobs: int) -> None:
    """The hung hosts' jobs due first (every request to them hangs), then the healthy ones'."""
    for peer in hung:
        for n in range(hung_jobs):
            peer.answer(f"/users/{n}/inbox", HANG)
    expander = env.worker()
    for peers, jobs in ((hung, hung_jobs), (healthy, healthy_jobs)):
        inboxes = tuple(p.url(f"/users/{n}/inbox") for p in peers for n in range(jobs))
        await send_activity(make_activity(env), sender=env.directory.get(SENDER),
                            audience=Audience(inboxes=inboxes))
        assert await expander.expand_fanouts() == 1
        env.clock.advance(seconds=1)


def received(peers: list[Peer]) -> int:
    return sum(p.count() for p in peers)


async def sending_on(peer: Peer) -> int:
    return await DeliveryJob.filter(host=peer.host, state=DeliveryState.SENDING).count()


async def test_run_forever_delivers_healthy_hosts_while_others_hang(env: Env) -> None:
    """The reported stall: with the oldest due rows all on hung hosts at their cap, a running
    worker keeps claiming the healthy hosts' jobs (all of them are delivered while the hung
    hosts still hang), and the hung hosts never hold more than their cap."""
    hung = [await env.peer() for _ in range(2)]
    healthy = [await env.peer() for _ in range(10)]
    await backlog(env, hung, healthy, hung_jobs=40, healthy_jobs=5)
    cap = env.settings.delivery.per_host_concurrency * 2  # PER_HOST_QUEUE_FACTOR
    worker = env.worker(concurrency=16, poll_interval=0.01, shutdown_grace=PATIENCE)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        async with asyncio.timeout(PATIENCE):  # polling for completion, not timing
            while received(healthy) < 50:
                await asyncio.sleep(0.01)
        assert [p.count() for p in healthy] == [5] * 10
        assert received(hung) == 0  # ... while every hung host still hangs
        assert [await sending_on(p) for p in hung] == [cap, cap]
        for peer in hung:
            peer.release.set()
        async with asyncio.timeout(PATIENCE):
            while received(hung) < 80:
                await asyncio.sleep(0.01)
    finally:
        for peer in hung:
            peer.release.set()
        stop.set()
        await asyncio.wait_for(task, PATIENCE)
    assert await DeliveryJob.filter(state=DeliveryState.DELIVERED).count() == 130


async def test_one_batch_takes_every_host_before_a_hosts_second_job(env: Env) -> None:
    """run_once: a batch is taken rank by rank across hosts (every host's first due job, then
    every host's second…), so the healthy hosts fill what the hung hosts' cap leaves; the hung
    requests time out and are retried later, the healthy hosts are done in two batches."""
    hung = [await env.peer() for _ in range(3)]
    healthy = [await env.peer() for _ in range(10)]
    await backlog(env, hung, healthy, hung_jobs=70, healthy_jobs=5)
    cap = env.settings.delivery.per_host_concurrency * 2
    batch = env.settings.delivery.batch_size  # 50: 13 hosts × 3 slots, then 11 of the 4th
    worker = env.worker(request_timeout=SHORT_TIMEOUT)
    try:
        assert await worker.run_once() == batch
        assert received(healthy) == batch - 3 * cap
        assert received(hung) == 0
        await worker.run_once()
        assert [p.count() for p in healthy] == [5] * 10
    finally:
        for peer in hung:
            peer.release.set()
    # each batch gave every hung host its cap, no more; those requests timed out (retry later)
    timed_out = await DeliveryJob.filter(state=DeliveryState.PENDING, attempts=1).count()
    assert timed_out == 2 * 3 * cap


async def test_set_aside_hosts_do_not_hide_other_hosts(env: Env) -> None:
    """A set-aside host's due backlog (the oldest rows) is not claimed and hides nothing."""
    down = await env.peer()
    healthy = [await env.peer() for _ in range(4)]
    await backlog(env, [down], healthy, hung_jobs=300, healthy_jobs=2)
    await HostHealth.create(host=down.host, unavailable=True,
                            set_aside_until=env.clock.now.replace(year=env.clock.now.year + 1))
    worker = env.worker()
    assert await worker.run_once() == 8
    assert [p.count() for p in healthy] == [2] * 4 and down.count() == 0
    assert await sending_on(down) == 0
