"""Slow hosts do not stall everyone: a hung host's backlog never hides other hosts' due work.

The hung hosts' jobs are the oldest due rows (sent first, a second earlier on the fake clock);
the healthy hosts' jobs come after them. The claim must still give the healthy hosts their
work while the hung ones hold at most their per-host cap.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

import pytest

from federation.db.delivery import DeliveryJob, DeliveryState, HostHealth
from federation.delivery.outbox import Audience, send_activity
from federation.delivery.queue import LeaseTokens, claim_deliveries
from tests.conftest import sqlite_vm_instructions
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


async def test_one_batch_fills_what_the_hung_hosts_cap_leaves(env: Env) -> None:
    """run_once: the hung hosts (oldest due rows) take their cap, no more; the healthy hosts
    fill the rest of the batch, each up to its cap (its deliveries together); the hung requests
    time out and are retried later, the healthy hosts are done in two batches."""
    hung = [await env.peer() for _ in range(3)]
    healthy = [await env.peer() for _ in range(10)]
    await backlog(env, hung, healthy, hung_jobs=70, healthy_jobs=5)
    cap = env.settings.delivery.per_host_concurrency * 2
    batch = env.settings.delivery.batch_size  # 50: 3 hung hosts × 4, 9 healthy × 4 and 2
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


async def queue(env: Env, peers: list[Peer], jobs: int) -> None:
    """``jobs`` deliveries to each peer, of one activity (queued round-robin over hosts)."""
    inboxes = tuple(p.url(f"/users/{n}/inbox") for p in peers for n in range(jobs))
    await send_activity(make_activity(env), sender=env.directory.get(SENDER),
                        audience=Audience(inboxes=inboxes))
    assert await env.worker().expand_fanouts() == 1


async def claim_hosts(limit: int, now: datetime) -> list[str]:
    """The hosts of the deliveries one claim of ``limit`` takes (cap 4 per host)."""
    return [job.host for job in await claim_deliveries(
        LeaseTokens("w").next(), now, timedelta(minutes=5), limit, per_host=4)]


async def test_a_claim_takes_a_hosts_deliveries_together(env: Env) -> None:
    """Grouping: with 6 hosts × 5 deliveries (queued round-robin over hosts, as a fanout
    does), a claim of 8 takes 4 deliveries (the cap) of 2 hosts, not one of 8 hosts, so they go
    out back to back on a warm connection; once a host's deliveries are finished, its fifth
    comes first again (its connection is still open), before hosts not started yet."""
    peers = [await env.peer() for _ in range(6)]
    await queue(env, peers, 5)
    hosts_in_id_order = await DeliveryJob.all().order_by("id").values_list("host", flat=True)
    assert len(set(hosts_in_id_order[:6])) == 6  # round-robin: ids alone would take 8 hosts
    first = Counter(await claim_hosts(8, env.clock.now))
    assert sorted(first.values()) == [4, 4]
    done, other = sorted(first)
    await DeliveryJob.filter(host=done, state=DeliveryState.SENDING).update(
        state=DeliveryState.DELIVERED)
    second = await claim_hosts(5, env.clock.now)
    assert second.count(done) == 1 and other not in second  # the other is at its cap
    assert Counter(second).most_common(1)[0][1] == 4  # and a new host's four


async def test_grouped_claims_keep_every_host_under_its_cap(env: Env) -> None:
    """However the claims are cut, a host never has more than its cap sending, and every
    host's deliveries are all claimed in the end: a big backlog hides no other host's."""
    big = await env.peer()
    small = [await env.peer() for _ in range(5)]
    await queue(env, [big], 40)
    await queue(env, small, 3)
    claimed: Counter[str] = Counter()
    for _ in range(40):
        hosts = await claim_hosts(7, env.clock.now)
        if not hosts:
            break
        for host in set(hosts):
            assert await DeliveryJob.filter(host=host, state=DeliveryState.SENDING).count() <= 4
        claimed.update(hosts)
        # the big host's deliveries finish; the small hosts' stay sending
        await DeliveryJob.filter(host=big.host, state=DeliveryState.SENDING).update(
            state=DeliveryState.DELIVERED)
    assert claimed[big.host] == 40
    assert all(claimed[p.host] == 3 for p in small)


async def test_a_claims_work_does_not_grow_with_the_pending_deliveries(env: Env) -> None:
    """SQLite: one claim's virtual-machine instructions with 200 pending deliveries, then with
    2,000 more (newer): at most 1.5 times. The chosen deliveries are found by id: the update
    once found them by walking every pending delivery of the state index (ten times the
    backlog, ten times the work). PostgreSQL finds them by its primary key (``= ANY``); its
    rows read are checked for the job claim (tests/jobs/test_claim_cost.py)."""
    connection = DeliveryJob._meta.db
    if connection.capabilities.dialect != "sqlite":
        pytest.skip("counts SQLite's virtual-machine instructions")
    peers = [await env.peer() for _ in range(5)]

    async def claim_eight() -> None:
        assert len(await claim_hosts(8, env.clock.now)) == 8

    async def work() -> int:
        steps = await sqlite_vm_instructions(connection, claim_eight)
        await DeliveryJob.filter(state=DeliveryState.SENDING).update(
            state=DeliveryState.PENDING, lease_owner=None, lease_expires_at=None)
        return steps

    await queue(env, peers, 40)
    small = await work()
    env.clock.advance(seconds=1)
    await queue(env, peers, 400)
    large = await work()
    assert large <= 1.5 * small, (small, large)


async def test_a_claims_work_barely_grows_with_the_hosts_in_flight(env: Env) -> None:
    """SQLite: a claim of 100 with 10 hosts sending under the worker's leases, then with 250:
    at most 1.5 times the work. Each head row's busy count used to be found by scanning every
    busy host (no index on the CTE; SQLite built none inside the UPDATE): 200 head rows × 250
    hosts, six times the work of the whole claim."""
    connection = DeliveryJob._meta.db
    if connection.capabilities.dialect != "sqlite":
        pytest.skip("counts SQLite's virtual-machine instructions")
    inboxes = [f"https://busy{n}.example/inbox" for n in range(250)]
    inboxes += [f"https://h{n}.example/users/{k}/inbox" for n in range(100) for k in range(3)]
    await send_activity(make_activity(env), sender=env.directory.get(SENDER),
                        audience=Audience(inboxes=tuple(inboxes)))
    assert await env.worker().expand_fanouts() == 1
    lease = timedelta(minutes=5)

    async def work(busy_hosts: int) -> int:
        await DeliveryJob.filter(host__startswith="busy").update(
            state=DeliveryState.PENDING, lease_owner=None)
        busy = await DeliveryJob.filter(host__startswith="busy").order_by("id").limit(
            busy_hosts).values_list("id", flat=True)
        await DeliveryJob.filter(id__in=list(busy)).update(state=DeliveryState.SENDING,
                                                            lease_owner="w/0")
        await DeliveryJob.filter(host__startswith="busy", state=DeliveryState.PENDING).update(
            next_attempt_at=env.clock.now + lease)  # not due: only the h… hosts are claimed

        async def claim() -> None:
            jobs = await claim_deliveries("w/1", env.clock.now, lease, 100, per_host=4)
            assert len(jobs) == 100 and all(job.host.startswith("h") for job in jobs)
            await DeliveryJob.filter(id__in=[job.id for job in jobs]).update(
                state=DeliveryState.PENDING, lease_owner=None, attempts=0)

        return await sqlite_vm_instructions(connection, claim)

    few, many = await work(10), await work(250)
    assert many <= 1.5 * few, (few, many)
