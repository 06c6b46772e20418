"""The one claim: fair across keys (a hung host's backlog never hides other hosts' due work),
capped per key counting running jobs, never one job to two workers; leases owned by a token."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from federation.db.jobs import Job, JobState
from federation.jobs import store
from federation.jobs.graph import ONE_SHOT, Event
from tests.jobs.conftest import Clock

KIND = "test.kind"
LEASE = timedelta(seconds=60)


async def _queue(clock: Clock, key: str, count: int, *, age: float = 0.0) -> list[int]:
    ids = []
    for n in range(count):
        job = await store.enqueue(KIND, {"n": n}, key=key,
                                  at=clock.now - timedelta(seconds=age + (count - n) * 0.001))
        ids.append(job.id)
    return ids


async def test_a_hung_hosts_old_backlog_does_not_hide_other_hosts(db, clock: Clock):
    """200 old due jobs of one host (two of them running, hung) and one newer job on each of
    five other hosts: a claim of 6 takes the five others' jobs first — the issue's 'oldest
    limit × 4 rows' claim took none of them."""
    await _queue(clock, "hung.example", 200, age=3600)
    hung = await store.claim(KIND, "a/1", clock.now, LEASE, 2, per_key=2)
    assert {j.key for j in hung} == {"hung.example"}
    others = [(await _queue(clock, f"host{n}.example", 1))[0] for n in range(5)]
    claimed = await store.claim(KIND, "b/1", clock.now, LEASE, 6, per_key=2)
    assert sorted(j.id for j in claimed) == sorted(others)  # the hung host is at its cap
    more = await store.claim(KIND, "b/2", clock.now, LEASE, 6, per_key=3)
    assert [j.key for j in more] == ["hung.example"]  # one more: 2 running + 1 ≤ 3


async def test_keys_take_turns_oldest_first_within_a_key(db, clock: Clock):
    """Rank by rank: every key's oldest due job, then every key's second…"""
    a = await _queue(clock, "a.example", 3, age=100)
    b = await _queue(clock, "b.example", 3, age=50)
    claimed = await store.claim(KIND, "w/1", clock.now, LEASE, 4, per_key=5)
    assert [j.id for j in claimed] == sorted([a[0], a[1], b[0], b[1]])


async def test_only_due_pending_jobs_are_claimed_and_attempts_count_at_claim(db, clock: Clock):
    [due] = await _queue(clock, "a.example", 1)
    await store.enqueue(KIND, key="a.example", at=clock.now + timedelta(minutes=1))
    await store.enqueue("other.kind", key="a.example", at=clock.now)
    [job] = await store.claim(KIND, "w/1", clock.now, LEASE, 10, per_key=10)
    assert (job.id, job.attempts, job.payload, job.lease_owner) == (due, 1, {"n": 0}, "w/1")
    row = await Job.get(id=due)
    assert (row.state, row.lease_owner, row.lease_expires_at) == (
        JobState.RUNNING, "w/1", clock.now + LEASE)
    assert await store.claim(KIND, "w/2", clock.now, LEASE, 10, per_key=10) == []


async def test_concurrent_claims_never_share_a_job(db, clock: Clock):
    """Ten claims at once (separate connections on PostgreSQL: SKIP LOCKED) share 60 jobs of
    12 hosts without overlap."""
    for n in range(12):
        await _queue(clock, f"h{n}.example", 5)
    batches = await asyncio.gather(*(
        store.claim(KIND, f"w{n}/1", clock.now, LEASE, 8, per_key=5) for n in range(10)))
    ids = [j.id for batch in batches for j in batch]
    assert len(ids) == len(set(ids))
    rows = await Job.filter(state=JobState.RUNNING)
    assert len(rows) == len(ids) and {r.lease_owner for r in rows} == {
        f"w{n}/1" for n, batch in enumerate(batches) if batch}


async def test_only_the_lease_holder_records_a_result(db, clock: Clock):
    """A worker whose lease expired (and the job went to another) cannot overwrite the other's
    result; the new holder can."""
    await _queue(clock, "a.example", 1)
    [slow] = await store.claim(KIND, "slow/1", clock.now, LEASE, 1)
    clock.advance(seconds=61)
    assert await store.reclaim_expired(clock.now) == 1
    [fast] = await store.claim(KIND, "fast/1", clock.now, LEASE, 1)
    assert fast.attempts == 2  # the lost attempt stays counted
    assert not await store.finish(slow, ONE_SHOT, Event.SUCCEED, clock.now)
    assert await store.finish(fast, ONE_SHOT, Event.FAIL, clock.now, error="refused")
    row = await Job.get(id=fast.id)
    assert (row.state, row.last_error, row.lease_owner, row.finished_at) == (
        JobState.FAILED, "refused", None, clock.now)


async def test_release_gives_back_at_once_without_counting_the_attempt(db, clock: Clock):
    await _queue(clock, "a.example", 2)
    jobs = await store.claim(KIND, "w/1", clock.now, LEASE, 2, per_key=2)
    assert await store.release([*jobs, store.ClaimedJob(999, KIND, "", None, 1, {}, "w/1")]) == 2
    rows = await Job.all()
    assert {(r.state, r.attempts, r.lease_owner) for r in rows} == {(JobState.PENDING, 0, None)}
    assert len(await store.claim(KIND, "w/2", clock.now, LEASE, 2, per_key=2)) == 2


async def test_extend_keeps_a_slow_jobs_lease(db, clock: Clock):
    await _queue(clock, "a.example", 1)
    [job] = await store.claim(KIND, "w/1", clock.now, LEASE, 1)
    clock.advance(seconds=50)
    assert await store.extend([job], clock.now + LEASE) == 1
    clock.advance(seconds=50)
    assert await store.reclaim_expired(clock.now) == 0
    assert await store.extend([store.ClaimedJob(job.id, KIND, "", None, 1, {}, "x/1")],
                              clock.now + LEASE) == 0


async def test_ensure_makes_one_job_per_ref(db, clock: Clock):
    first = await store.ensure("test.recurring", "hourly", at=clock.now)
    assert first is not None
    assert await store.ensure("test.recurring", "hourly", at=clock.now) is None
    assert await store.ensure("test.other", "hourly", at=clock.now) is not None
    assert await Job.filter(ref="hourly").count() == 2
