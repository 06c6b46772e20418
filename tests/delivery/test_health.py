"""Host health: failures on 7 distinct days set a host aside; a contact or a success restores it."""

from __future__ import annotations

from federation.db.delivery import DeliveryJob, DeliveryState, HostHealth
from federation.delivery.health import PROBE_INTERVAL, add_failure_day, host_contacted
from federation.delivery.outbox import Audience, send_activity
from tests.delivery.conftest import Env, Peer
from tests.delivery.test_fanout import SENDER, make_activity


async def fail_on_seven_days(env: Env, peer: Peer) -> None:
    peer.answer("/inbox", *[500] * 7)
    await send_activity(make_activity(env), sender=env.directory.get(SENDER),
                        audience=Audience(inboxes=(peer.url("/inbox"),)))
    worker = env.worker()
    for day in range(7):
        if day:
            env.clock.advance(days=1)
        await env.drain(worker)


def test_failure_days_are_distinct_and_bounded() -> None:
    """The same day counts once; at most 14 days are remembered."""
    from datetime import UTC, datetime, timedelta
    day = datetime(2026, 1, 1, tzinfo=UTC)
    days = add_failure_day(add_failure_day([], day), day + timedelta(hours=3))
    assert days == ["2026-01-01"]
    for n in range(30):
        days = add_failure_day(days, day + timedelta(days=n))
    assert len(days) == 14 and days[-1] == "2026-01-30"


async def test_host_set_aside_after_seven_days_and_restored_by_contact(env: Env) -> None:
    """After failures on 7 days the host's jobs stay pending unattempted until it contacts us."""
    peer = await env.peer()
    await fail_on_seven_days(env, peer)
    health = await HostHealth.get(host=peer.host)
    assert health.unavailable and len(health.failure_days) == 7
    env.clock.advance(hours=2)  # the job is due, but the host is set aside
    assert await env.worker().run_once() == 0
    job = await DeliveryJob.get()
    assert (job.state, job.attempts) == (DeliveryState.PENDING, 7)
    assert await host_contacted(f"http://{peer.host}/actor#main-key", now=env.clock.now)
    assert not await host_contacted(peer.host, now=env.clock.now)  # already available
    await env.drain()
    assert (await DeliveryJob.get()).state == DeliveryState.DELIVERED
    assert peer.count() == 1


async def test_set_aside_host_restored_by_a_successful_probe(env: Env) -> None:
    """A set-aside host is probed after a day; a success forgets its failures."""
    peer = await env.peer()
    await fail_on_seven_days(env, peer)
    env.clock.advance(seconds=PROBE_INTERVAL.total_seconds())
    await env.drain()
    health = await HostHealth.get(host=peer.host)
    assert not health.unavailable and health.failure_days == []
    assert health.last_success_at == env.clock.now
    assert (await DeliveryJob.get()).state == DeliveryState.DELIVERED
