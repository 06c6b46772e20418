"""Retention: finished deliveries, done fanouts and idle healthy hosts go after retention_days
(hourly, a job of the job engine)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from federation.db.content import OutboxActivity
from federation.db.delivery import DeliveryJob, DeliveryState, FanoutJob, FanoutState, HostHealth
from federation.db.jobs import Job
from federation.delivery.health import SET_ASIDE_AFTER_DAYS, record_failure
from federation.delivery.outbox import Audience, send_activity
from federation.delivery.retention import FAILED_HOST_RETENTION, PURGE_INTERVAL, purge_finished
from federation.jobs.kinds import DELIVERY_PURGE
from federation.jobs.worker import Worker
from federation.web.loops import job_tasks
from tests.delivery.conftest import PATIENCE, Env
from tests.delivery.test_fanout import SENDER, make_activity

WEEK = timedelta(days=7)


async def _activity(env: Env) -> OutboxActivity:
    return await send_activity(make_activity(env), sender=env.directory.get(SENDER),
                               audience=Audience())


async def _fanout(activity: OutboxActivity, state: FanoutState,
                  done_at: datetime | None) -> FanoutJob:
    return await FanoutJob.create(activity=activity, sender=SENDER, audience={}, state=state,
                                  done_at=done_at)


async def _job(fanout: FanoutJob, name: str, state: DeliveryState, at: datetime,
               finished_at: datetime | None, host: str = "peer.example") -> DeliveryJob:
    return await DeliveryJob.create(
        fanout=fanout, activity_id=fanout.activity_id, inbox_url=f"https://{host}/{name}",
        host=host, state=state, next_attempt_at=at, finished_at=finished_at)


async def test_purge_deletes_old_finished_rows_and_keeps_the_rest(env: Env) -> None:
    """Old finished rows go; recent finished, pending and sending rows (and their fanouts) stay."""
    now = env.clock.now
    old, recent = now - WEEK - timedelta(hours=1), now - WEEK + timedelta(hours=1)
    activity = await _activity(env)
    await FanoutJob.all().delete()  # the activity's own (new) fanout is not under test
    emptied = await _fanout(activity, FanoutState.DONE, old)
    for name, state in [("d", DeliveryState.DELIVERED), ("f", DeliveryState.FAILED),
                        ("a", DeliveryState.ABANDONED)]:
        await _job(emptied, name, state, old, old)
    busy = await _fanout(activity, FanoutState.DONE, old)
    pending = await _job(busy, "p", DeliveryState.PENDING, old, None, host="busy.example")
    sending = await _job(busy, "s", DeliveryState.SENDING, old, None)
    await _job(busy, "old", DeliveryState.DELIVERED, old, old)
    keeps_recent = await _fanout(activity, FanoutState.DONE, old)
    fresh = await _job(keeps_recent, "r", DeliveryState.DELIVERED, recent, recent)
    recent_fanout = await _fanout(activity, FanoutState.DONE, recent)
    new_fanout = await _fanout(activity, FanoutState.NEW, None)
    expanding = await _fanout(activity, FanoutState.EXPANDING, None)

    idle = await HostHealth.create(host="idle.example", last_success_at=old)
    never = await HostHealth.create(host="never.example")
    await HostHealth.create(host="busy.example", last_success_at=old)
    await HostHealth.create(host="failing.example", failure_days=[old.date().isoformat()],
                            last_failure_at=old)
    await HostHealth.create(host="aside.example", unavailable=True, set_aside_at=old,
                            set_aside_until=old, failure_days=["2026-01-01"])
    await HostHealth.create(host="lately.example", last_success_at=recent)

    report = await purge_finished(now, WEEK)

    assert (report.deliveries, report.fanouts, report.hosts) == (4, 1, 2)
    assert set(await DeliveryJob.all().values_list("id", flat=True)) == {
        pending.id, sending.id, fresh.id}
    assert set(await FanoutJob.all().values_list("id", flat=True)) == {
        busy.id, keeps_recent.id, recent_fanout.id, new_fanout.id, expanding.id}
    assert emptied.id not in await FanoutJob.all().values_list("id", flat=True)
    hosts = set(await HostHealth.all().values_list("host", flat=True))
    assert hosts == {"busy.example", "failing.example", "aside.example", "lately.example"}
    assert idle.host not in hosts and never.host not in hosts
    assert await OutboxActivity.filter(id=activity.id).exists()
    assert (await purge_finished(now, WEEK)).total == 0  # idempotent


async def test_the_purge_job_deletes_delivered_rows_hourly_on_its_clock(env: Env) -> None:
    """A delivery that failed once then succeeded is forgotten after the retention period."""
    peer = await env.peer()
    peer.answer("/inbox", 500)
    await send_activity(make_activity(env), sender=env.directory.get(SENDER),
                        audience=Audience(inboxes=(peer.url("/inbox"),)))
    worker = env.worker()
    await env.drain(worker)
    env.clock.advance(hours=1)
    await env.drain(worker)
    assert (await DeliveryJob.get()).state == DeliveryState.DELIVERED
    health = await HostHealth.get(host=peer.host)
    assert health.failure_days == [] and health.last_success_at == env.clock.now

    purges = Worker([t for t in job_tasks(env.settings, env.client, None, clock=env.clock)
                     if t.kind is DELIVERY_PURGE], clock=env.clock)
    assert await purges.run_once() == 1  # not old enough yet: nothing purged
    assert await DeliveryJob.exists()
    env.clock.advance(seconds=PURGE_INTERVAL.total_seconds() - 60)
    assert await purges.run_once() == 0  # the purge job is not due yet
    env.clock.advance(days=7)
    assert await purges.run_once() == 1
    assert (await Job.get(kind=DELIVERY_PURGE.name)).next_attempt_at == \
        env.clock.now + PURGE_INTERVAL
    assert not await DeliveryJob.exists() and not await FanoutJob.exists()
    assert not await HostHealth.exists()


async def test_the_purge_job_runs_in_the_job_worker(env: Env) -> None:
    """The continuous job worker purges as soon as it starts (then hourly), one worker at a
    time (a recurring job under a lease)."""
    activity = await _activity(env)
    old = env.clock.now - WEEK - timedelta(days=1)
    fanout = await _fanout(activity, FanoutState.DONE, old)
    await _job(fanout, "d", DeliveryState.DELIVERED, old, old)
    stop = asyncio.Event()
    worker = Worker(job_tasks(env.settings, env.client, None, clock=env.clock),
                    clock=env.clock, poll_interval=0.01)
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(PATIENCE):
            while await FanoutJob.exists():
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await task
    assert not await DeliveryJob.exists()


async def test_hosts_that_failed_long_ago_are_forgotten(env: Env) -> None:
    """Records of failing or set-aside hosts expire once untouched for FAILED_HOST_RETENTION
    (and not before), unless deliveries to them are still pending."""
    now = env.clock.now
    long_ago = now - FAILED_HOST_RETENTION - timedelta(hours=1)
    lately = now - FAILED_HOST_RETENTION + timedelta(hours=1)
    await record_failure("failed.example", "status 500", long_ago)
    await record_failure("failed-lately.example", "status 500", lately)
    for host in ("aside.example", "aside-busy.example"):
        for day in range(SET_ASIDE_AFTER_DAYS):
            await record_failure(host, "timeout", long_ago - timedelta(days=SET_ASIDE_AFTER_DAYS - day))
        assert (await HostHealth.get(host=host)).unavailable
    activity = await _activity(env)
    fanout = await _fanout(activity, FanoutState.DONE, long_ago)
    await _job(fanout, "p", DeliveryState.PENDING, long_ago, None, host="aside-busy.example")

    report = await purge_finished(now, WEEK)

    assert report.hosts == 2
    assert set(await HostHealth.all().values_list("host", flat=True)) == {
        "failed-lately.example", "aside-busy.example"}
    env.clock.advance(days=2)
    assert (await purge_finished(env.clock.now, WEEK)).hosts == 1  # failed-lately's turn
    assert await HostHealth.all().values_list("host", flat=True) == ["aside-busy.example"]
