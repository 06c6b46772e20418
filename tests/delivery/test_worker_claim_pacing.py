"""run_forever does not query the queue in a busy loop while its requests are in flight and
nothing else can be claimed (every due job is on a host at its limit)."""

from __future__ import annotations

import asyncio

from federation.delivery.outbox import Audience, send_activity
from tests.delivery.conftest import HANG, PATIENCE, Env
from tests.delivery.test_fanout import SENDER, make_activity

#: How long the worker is watched while its requests hang (an upper bound on claims: a slow
#: machine makes fewer of them, never more).
WATCH = 0.5


async def test_no_busy_claims_while_hosts_are_at_their_limit(env: Env) -> None:
    """With requests hanging and the other jobs on the same host, claims wait for a request to
    finish (or the poll interval) instead of running back to back; then everything is sent."""
    peer = await env.peer()
    paths = [f"/users/{n}/inbox" for n in range(8)]
    for path in paths:
        peer.answer(path, HANG)
    await send_activity(make_activity(env), sender=env.directory.get(SENDER),
                        audience=Audience(inboxes=tuple(peer.url(p) for p in paths)))
    worker = env.worker(poll_interval=1.0, shutdown_grace=PATIENCE)
    claims = 0
    claim = worker.claim

    async def counting(limit: int) -> list:
        nonlocal claims
        claims += 1
        return await claim(limit)

    worker.claim = counting  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        await asyncio.wait_for(peer.hanging.wait(), PATIENCE)
        before = claims
        await asyncio.sleep(WATCH)
        assert claims - before <= 2, f"{claims - before} claims in {WATCH} s with nothing to claim"
        peer.release.set()
        async with asyncio.timeout(PATIENCE):  # polling for completion, not timing
            while peer.count() < len(paths):
                await asyncio.sleep(0.01)
    finally:
        peer.release.set()
        stop.set()
        await asyncio.wait_for(task, PATIENCE)
    assert sorted(r.path for r in peer.received) == sorted(paths)
