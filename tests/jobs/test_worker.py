"""The job worker: results along the graph, the retry policy, bugs retried, database faults
raised, graceful shutdown (running jobs finish within the grace, the others are given back)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import pytest
from tortoise.exceptions import OperationalError

from federation.db.jobs import Job, JobState
from federation.jobs import store
from federation.jobs.graph import ONE_SHOT, RECURRING
from federation.jobs.policy import Curve, RetryPolicy
from federation.jobs.store import ClaimedJob
from federation.jobs.worker import JobKind, Result, Task, Worker
from tests.jobs.conftest import Clock

ONCE = JobKind("test.once", ONE_SHOT, RetryPolicy(max_attempts=3, curve=Curve.EXPONENTIAL,
                                                   first=10.0, cap=100.0), per_key=4)
AGAIN = JobKind("test.again", RECURRING, RetryPolicy(max_attempts=None), per_key=4)
PATIENCE = 10.0


def worker(clock: Clock, *tasks: Task, **options) -> Worker:
    return Worker(tasks, clock=clock, random=lambda: 0.0, poll_interval=0.01, **options)


async def test_results_move_jobs_along_their_graph(db, clock: Clock):
    outcomes = {"a": Result.done(), "b": Result.fail("no"), "c": Result.retry("later")}

    async def handle(job: ClaimedJob) -> Result:
        return outcomes[job.payload["name"]]

    for name in outcomes:
        await store.enqueue(ONCE.name, {"name": name}, key=name, at=clock.now)
    assert await worker(clock, Task(ONCE, handle)).run_once() == 3
    rows = {r.payload["name"]: r for r in await Job.all()}
    assert (rows["a"].state, rows["a"].finished_at) == (JobState.DONE, clock.now)
    assert (rows["b"].state, rows["b"].last_error) == (JobState.FAILED, "no")
    assert (rows["c"].state, rows["c"].last_error, rows["c"].next_attempt_at) == (
        JobState.PENDING, "later", clock.now + timedelta(seconds=10))


async def test_retries_follow_the_policy_then_the_job_is_abandoned(db, clock: Clock):
    async def handle(job: ClaimedJob) -> Result:
        return Result.retry(f"attempt {job.attempts}")

    await store.enqueue(ONCE.name, at=clock.now)
    jobs = worker(clock, Task(ONCE, handle))
    waits = []
    for _ in range(3):
        assert await jobs.run_once() == 1
        row = await Job.get()
        waits.append((row.next_attempt_at - clock.now).total_seconds())
        assert await jobs.run_once() == 0  # not due yet
        clock.now = row.next_attempt_at
    row = await Job.get()
    assert (row.state, row.attempts, row.last_error) == (JobState.ABANDONED, 3, "attempt 3")
    assert waits[:2] == [10.0, 20.0]


async def test_a_recurring_job_is_rescheduled_with_its_attempts_reset(db, clock: Clock):
    async def handle(job: ClaimedJob) -> Result:
        return Result.reschedule(clock.now + timedelta(hours=1), payload={"runs": 1})

    await store.ensure(AGAIN.name, "hourly", at=clock.now)
    assert await worker(clock, Task(AGAIN, handle)).run_once() == 1
    row = await Job.get()
    assert (row.state, row.attempts, row.payload, row.next_attempt_at) == (
        JobState.PENDING, 0, {"runs": 1}, clock.now + timedelta(hours=1))


async def test_a_bug_in_a_handler_is_logged_and_retried(db, clock: Clock, caplog):
    async def handle(job: ClaimedJob) -> Result:
        raise KeyError("bug")

    await store.enqueue(ONCE.name, at=clock.now)
    assert await worker(clock, Task(ONCE, handle)).run_once() == 1
    row = await Job.get()
    assert row.state == JobState.PENDING and row.last_error.startswith("internal error: KeyError")
    assert "failed with an unexpected error" in caplog.text


@pytest.mark.parametrize("fault", [
    OperationalError(sqlite3.OperationalError("database or disk is full")),
    ConnectionRefusedError(111, "Connection refused"),
], ids=["disk-full", "refused"])
async def test_a_database_fault_in_a_handler_stops_the_cycle(db, clock: Clock, fault):
    """Not an attempt of the job: the cycle raises (the supervisor waits it out); the job keeps
    its lease and is taken up again when it expires."""
    async def handle(job: ClaimedJob) -> Result:
        raise fault

    await store.enqueue(ONCE.name, at=clock.now)
    with pytest.raises(type(fault)):
        await worker(clock, Task(ONCE, handle)).run_once()
    assert (await Job.get()).state == JobState.RUNNING


async def test_prepare_runs_at_start_and_then_every_interval(db, clock: Clock):
    calls = []

    async def prepare(now):
        calls.append(now)
        await store.ensure(AGAIN.name, "hourly", at=now)

    async def handle(job: ClaimedJob) -> Result:
        return Result.reschedule(clock.now + timedelta(hours=1))

    jobs = worker(clock, Task(AGAIN, handle, prepare), prepare_interval=timedelta(minutes=5))
    assert await jobs.run_once() == 1
    clock.advance(minutes=1)
    await jobs.run_once()
    clock.advance(minutes=5)
    await jobs.run_once()
    assert len(calls) == 2 and await Job.all().count() == 1


async def test_stop_finishes_running_jobs_within_the_grace_and_gives_back_the_rest(db, clock):
    """Two jobs start; on stop one finishes within the grace (recorded done), the other never
    ends (cancelled, given back: pending, attempt not counted, no lease); run returns."""
    started, finish = asyncio.Event(), asyncio.Event()
    running: list[str] = []

    async def handle(job: ClaimedJob) -> Result:
        running.append(job.key)
        if len(running) == 2:
            started.set()
        if job.key == "quick":
            await finish.wait()
            return Result.done()
        await asyncio.Event().wait()  # hangs
        raise AssertionError

    for key in ("quick", "hung"):
        await store.enqueue(ONCE.name, key=key, at=clock.now)
    stop = asyncio.Event()
    jobs = Worker([Task(ONCE, handle)], clock=clock, poll_interval=0.01, shutdown_grace=0.2)
    task = asyncio.create_task(jobs.run(stop))
    await asyncio.wait_for(started.wait(), PATIENCE)
    stop.set()
    finish.set()
    await asyncio.wait_for(task, PATIENCE)
    rows = {r.key: r for r in await Job.all()}
    assert rows["quick"].state == JobState.DONE
    assert (rows["hung"].state, rows["hung"].attempts, rows["hung"].lease_owner) == (
        JobState.PENDING, 0, None)


async def test_run_extends_the_lease_of_a_long_job(db, clock: Clock):
    """A job running longer than its lease keeps it (heartbeat): no other worker takes it."""
    started, finish = asyncio.Event(), asyncio.Event()
    short = JobKind("test.short", ONE_SHOT, lease=timedelta(seconds=30))

    async def handle(job: ClaimedJob) -> Result:
        started.set()
        await finish.wait()
        return Result.done()

    await store.enqueue(short.name, at=clock.now)
    stop = asyncio.Event()
    jobs = Worker([Task(short, handle)], clock=clock, poll_interval=0.01)
    task = asyncio.create_task(jobs.run(stop))
    await asyncio.wait_for(started.wait(), PATIENCE)
    for _ in range(6):  # two leases' worth of time; the lease is extended every third of one
        # read before the clock moves: the worker may extend the lease as soon as it has moved
        expires = (await Job.get()).lease_expires_at
        clock.advance(seconds=11)
        async with asyncio.timeout(PATIENCE):
            while (await Job.get()).lease_expires_at == expires:
                await asyncio.sleep(0.01)
        assert await store.reclaim_expired(clock.now) == 0
    finish.set()
    stop.set()
    await asyncio.wait_for(task, PATIENCE)
    assert (await Job.get()).state == JobState.DONE
