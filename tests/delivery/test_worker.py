"""The worker against real peers: retries, timeouts, gone inboxes, 429, permanent failures."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from federation.db.delivery import DeliveryJob, DeliveryState
from federation.db.social import Follower
from federation.delivery.outbox import Audience, send_activity
from tests.delivery.conftest import HANG, PATIENCE, SHORT_TIMEOUT, Env, Peer, add_follower
from tests.delivery.test_fanout import SENDER, make_activity


async def send_to(env: Env, *inboxes: str) -> str:
    activity = make_activity(env)
    await send_activity(activity, sender=env.directory.get(SENDER),
                        audience=Audience(inboxes=tuple(inboxes)))
    return activity["id"]


async def only_job() -> DeliveryJob:
    return await DeliveryJob.get()


async def test_remote_500_then_success(env: Env) -> None:
    """A 500 is retried after the backoff; the next attempt succeeds."""
    peer = await env.peer()
    peer.answer("/inbox", 500)
    await send_to(env, peer.url("/inbox"))
    worker = env.worker()
    await env.drain(worker)
    job = await only_job()
    assert (job.state, job.attempts, job.last_status) == (DeliveryState.PENDING, 1, 500)
    assert job.next_attempt_at == env.clock.now + timedelta(seconds=16)
    assert await worker.run_once() == 0  # not due yet
    env.clock.advance(seconds=16)
    await env.drain(worker)
    job = await only_job()
    assert (job.state, job.attempts, job.last_status) == (DeliveryState.DELIVERED, 2, 202)
    assert peer.count() == 1 and not peer.refused


async def test_timeout_is_retried(env: Env) -> None:
    """A peer that does not answer within request_timeout gets another attempt later."""
    peer = await env.peer()
    peer.answer("/inbox", HANG)
    await send_to(env, peer.url("/inbox"))
    await env.drain(env.worker(request_timeout=SHORT_TIMEOUT))
    job = await only_job()
    assert job.state == DeliveryState.PENDING and job.last_error and job.last_status is None
    peer.release.set()
    env.clock.advance(seconds=16)
    await env.drain()
    assert (await only_job()).state == DeliveryState.DELIVERED


async def test_410_removes_followers_of_that_inbox(env: Env) -> None:
    """410 from a personal inbox ends the job and removes that follower only."""
    peer = await env.peer()
    gone = await add_follower(env, peer.url("/users/gone"), peer.url("/users/gone/inbox"))
    await add_follower(env, peer.url("/users/kept"), peer.url("/users/kept/inbox"))
    peer.answer("/users/gone/inbox", 410)
    await send_activity(make_activity(env), sender=env.directory.get(SENDER),
                        audience=Audience(followers_of=SENDER))
    await env.drain()
    job = await DeliveryJob.get(inbox_url=peer.url("/users/gone/inbox"))
    assert (job.state, job.last_status) == (DeliveryState.FAILED, 410)
    remaining = await Follower.all().values_list("remote_id", flat=True)
    assert gone.id not in remaining and len(remaining) == 1


async def test_404_on_shared_inbox_keeps_followers_using_other_inboxes(env: Env) -> None:
    """A shared inbox answering 404 removes followers only if all of that host use it."""
    peer = await env.peer()
    await add_follower(env, peer.url("/users/a"), peer.url("/users/a/inbox"),
                       shared_inbox=peer.url("/shared"))
    await add_follower(env, peer.url("/users/b"), peer.url("/users/b/inbox"))
    peer.answer("/shared", 404)
    await send_activity(make_activity(env), sender=env.directory.get(SENDER),
                        audience=Audience(followers_of=SENDER))
    await env.drain()
    assert await Follower.all().count() == 2


async def test_429_honours_retry_after(env: Env) -> None:
    """429 with Retry-After: 3600 waits an hour, not the backoff."""
    peer = await env.peer()
    peer.answer("/inbox", (429, {"Retry-After": "3600"}))
    await send_to(env, peer.url("/inbox"))
    worker = env.worker()
    await env.drain(worker)
    job = await only_job()
    assert job.next_attempt_at == env.clock.now + timedelta(hours=1)
    env.clock.advance(minutes=59)
    assert await worker.run_once() == 0
    env.clock.advance(minutes=1)
    await env.drain(worker)
    assert (await only_job()).state == DeliveryState.DELIVERED
    assert peer.count() == 1


async def test_permanent_4xx_ends_the_job(env: Env) -> None:
    """403 ends the job at once: never attempted again."""
    peer = await env.peer()
    peer.answer("/inbox", 403)
    await send_to(env, peer.url("/inbox"))
    await env.drain()
    env.clock.advance(days=5)
    assert await env.worker().run_once() == 0
    job = await only_job()
    assert (job.state, job.attempts, job.last_status) == (DeliveryState.FAILED, 1, 403)


async def test_abandoned_after_max_attempts(env: Env) -> None:
    """A peer that always fails is abandoned after max_attempts."""
    peer = await env.peer()
    attempts = env.settings.delivery.max_attempts
    peer.answer("/inbox", *[503] * attempts)
    await send_to(env, peer.url("/inbox"))
    worker = env.worker()
    for _ in range(attempts):
        await env.drain(worker)
        env.clock.advance(days=1)  # also spreads failures over days: the host gets set aside
        await env.drain(worker)
        from federation.delivery.health import host_contacted
        await host_contacted(peer.host, now=env.clock.now)
    job = await only_job()
    assert (job.state, job.attempts) == (DeliveryState.ABANDONED, attempts)


async def test_body_is_the_stored_activity(env: Env) -> None:
    """Every peer receives the activity as stored, signed by the sender's key."""
    peers: list[Peer] = [await env.peer() for _ in range(3)]
    activity_id = await send_to(env, *(p.url("/inbox") for p in peers))
    await env.drain()
    sender = env.directory.get(SENDER)
    for peer in peers:
        assert [(r.activity_id, r.key_id) for r in peer.received] == [(activity_id, sender.key_id)]


async def test_signing_processes_sign_what_peers_verify(env: Env) -> None:
    """With a signing process (keys sent once), every peer verifies its own signature (httpsig)."""
    peers: list[Peer] = [await env.peer() for _ in range(2)]
    inboxes = [p.url(f"/users/{n}/inbox") for p in peers for n in range(20)]
    await send_to(env, *inboxes)
    env.settings = env.settings.model_copy(update={"delivery": env.settings.delivery.model_copy(
        update={"signing_processes": 1})})
    worker = env.worker()
    try:
        await env.drain(worker)
    finally:
        worker.close()
    assert [p.count() for p in peers] == [20, 20] and not any(p.refused for p in peers)
    assert await DeliveryJob.filter(state=DeliveryState.DELIVERED).count() == 40


async def test_worker_keeps_no_entry_for_hosts_it_is_done_with(env: Env) -> None:
    """Per-host request slots exist only while deliveries to that host are in flight (the
    worker forgot no host before: one entry per host ever delivered to); the per-host limit holds."""
    busy, *others = [await env.peer() for _ in range(3)]
    paths = [f"/users/{n}/inbox" for n in range(4)]
    for path in paths:
        busy.answer(path, HANG)
    await send_to(env, *[busy.url(p) for p in paths], *[p.url("/inbox") for p in others])
    arrived = 0
    respond = busy.respond

    async def counting(*args: Any) -> Any:
        nonlocal arrived
        arrived += 1
        return await respond(*args)

    busy.respond = counting  # type: ignore[method-assign]
    worker = env.worker()
    task = asyncio.create_task(worker.run_once())
    try:
        async with asyncio.timeout(PATIENCE):  # polling for progress, not timing
            while arrived < 2 or worker.tracked_hosts > 1:  # the other hosts are done
                await asyncio.sleep(0.01)
        assert arrived == 2  # per_host_concurrency: the other two wait for a slot
        assert worker.tracked_hosts == 1 and sum(p.count() for p in others) == 2
    finally:
        busy.release.set()
        await asyncio.wait_for(task, PATIENCE)
    assert arrived == 4 and busy.count() == 4
    assert worker.tracked_hosts == 0
