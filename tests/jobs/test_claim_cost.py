"""The claim's cost does not grow with the backlog, and it takes exactly what the fair rule says.

The rule (:func:`federation.db.raw.fair_claim_sql`): a due job's slot is its rank within its key
(oldest first) plus its key's running jobs; slots up to the cap are taken, ordered by slot,
then due time, then id. :func:`expected` is that rule in Python, over the table's rows; random
queues are claimed both ways.

The cost is the database's own count of work for one claim: on SQLite the virtual machine's
instructions (``sqlite3_progress_handler``), on PostgreSQL the rows its plan read from the job
table (``EXPLAIN ANALYZE`` of the claim's statement, rolled back). Before this claim read a
bounded head of the due queue, every claim ranked every due job: ten times the backlog, ten
times the work.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from federation.db.jobs import Job, JobState
from federation.jobs import store
from tests.conftest import sqlite_vm_instructions
from tests.jobs.conftest import START, Clock

KIND = "test.kind"
LEASE = timedelta(seconds=60)


async def fill(rows: list[tuple[str, float, JobState]], kind: str = KIND) -> None:
    """Jobs of ``kind``: (key, due ``seconds`` after START, state) each, ids in list order."""
    await Job.bulk_create([Job(kind=kind, key=key, state=state, payload={},
                               next_attempt_at=START + timedelta(seconds=at),
                               lease_owner="x/1" if state is JobState.RUNNING else None)
                           for key, at, state in rows], batch_size=500)


def backlog(jobs: int, keys: int, *, start: float = -100_000.0) -> list[tuple[str, float, JobState]]:
    """``jobs`` due jobs queued round-robin over ``keys`` keys, one per second from ``start``."""
    return [(f"k{n % keys}.example", start + n, JobState.PENDING) for n in range(jobs)]


async def expected(now_seconds: float, limit: int, per_key: int, kind: str = KIND) -> list[int]:
    """What the fair rule takes, computed in Python from every row of the table."""
    rows = await Job.filter(kind=kind).values("id", "key", "state", "next_attempt_at")
    now = START + timedelta(seconds=now_seconds)
    busy = Counter(r["key"] for r in rows if r["state"] == JobState.RUNNING)
    due = sorted((r for r in rows if r["state"] == JobState.PENDING and r["next_attempt_at"] <= now),
                 key=lambda r: (r["next_attempt_at"], r["id"]))
    rank: Counter[str] = Counter()
    slotted = []
    for row in due:
        rank[row["key"]] += 1
        slot = rank[row["key"]] + busy[row["key"]]
        if slot <= per_key:
            slotted.append((slot, row["next_attempt_at"], row["id"]))
    return sorted(id_ for _, _, id_ in sorted(slotted)[:limit])


async def claim_ids(now_seconds: float, limit: int, per_key: int, token: str = "w/1") -> list[int]:
    jobs = await store.claim(KIND, token, START + timedelta(seconds=now_seconds), LEASE, limit,
                             per_key=per_key)
    return [job.id for job in jobs]


async def claim_work(database_url: str, limit: int, per_key: int) -> int:
    """The database's work for one claim at START (see the module); the claim is made (SQLite)
    or rolled back (PostgreSQL)."""
    connection = Job._meta.db
    if connection.capabilities.dialect == "sqlite":
        return await sqlite_vm_instructions(connection, lambda: store.claim(
            KIND, "cost/1", START, LEASE, limit, per_key=per_key))
    sql, params = store.claim_statement(KIND, "cost/1", START, LEASE, limit, per_key, "postgres")
    return rows_read(await explain(database_url, sql, params, analyze=True))


async def explain(database_url: str, sql: str, params: list[Any], *, analyze: bool) -> Any:
    """PostgreSQL's plan of ``sql`` (JSON), after ``ANALYZE jobs``; an executed statement
    is rolled back."""
    connection = await asyncpg.connect(database_url.replace("postgresql://", "postgres://", 1))
    try:
        await connection.execute("ANALYZE jobs")
        transaction = connection.transaction()
        await transaction.start()
        try:
            options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
            plan = await connection.fetchval(f"EXPLAIN ({options}) {sql}", *params)
        finally:
            await transaction.rollback()
    finally:
        await connection.close()
    return json.loads(plan)[0]["Plan"]


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += nodes(child)
    return found


def rows_read(plan: dict[str, Any]) -> int:
    """Rows the plan's scans of the job table returned or removed by their filter, all loops."""
    return sum(int((n.get("Actual Rows", 0) + n.get("Rows Removed by Filter", 0))
                   * n.get("Actual Loops", 1))
               for n in nodes(plan) if n.get("Relation Name") == "jobs")


async def test_random_queues_are_claimed_by_the_fair_rule(db, clock: Clock):
    """Random queues (keys with old and new backlogs, running jobs, jobs not yet due, another
    kind), claims of random sizes and caps: the claim takes exactly what the rule says, whether
    the oldest due jobs settle it or the keys are walked."""
    rng = random.Random(20261207)
    for round_ in range(12):
        await Job.all().delete()
        keys = [f"h{n}.example" for n in range(rng.choice([1, 3, 12, 40]))]
        rows = []
        for _ in range(rng.randrange(1, 300)):
            key = rng.choice(keys[:2]) if rng.random() < 0.5 else rng.choice(keys)
            state = JobState.RUNNING if rng.random() < 0.1 else JobState.PENDING
            rows.append((key, rng.uniform(-500, 50), state))
        await fill(rows)
        await fill([(rng.choice(keys), -1000.0, JobState.PENDING) for _ in range(20)], "other.kind")
        for n in range(4):
            limit, per_key = rng.choice([1, 2, 8, 30]), rng.choice([1, 2, 4])
            want = await expected(0.0, limit, per_key)
            assert await claim_ids(0.0, limit, per_key, f"w{round_}/{n}") == want, (round_, n)


async def test_a_huge_old_backlog_of_few_keys_hides_no_other_key(db, clock: Clock):
    """3 keys with 2,000 old due jobs each (one of them hung: 4 running), 100 keys with 2 newer
    ones: the first claims take every key's first job (slot by slot), and the keys with the old
    backlogs get their cap, no more."""
    rows = [(f"big{n}.example", -10_000.0 + i * 3 + n, JobState.PENDING)
            for i in range(2000) for n in range(3)]
    rows += [("big0.example", -20_000.0, JobState.RUNNING)] * 4
    rows += [(f"small{n}.example", -100.0 + i, JobState.PENDING) for i in range(2) for n in range(100)]
    await fill(rows)
    claimed = await store.claim(KIND, "w/1", START, LEASE, 60, per_key=4)
    keys = Counter(job.key for job in claimed)
    assert keys["big0.example"] == 0 and keys["big1.example"] == keys["big2.example"] == 1
    assert len(claimed) == 60 and max(keys.values()) == 1  # 58 small keys' first jobs
    claimed += await store.claim(KIND, "w/2", START, LEASE, 400, per_key=4)
    keys = Counter(job.key for job in claimed)
    assert keys["big0.example"] == 0 and keys["big1.example"] == keys["big2.example"] == 4
    assert all(keys[f"small{n}.example"] == 2 for n in range(100))


@pytest.mark.parametrize("case", ["spread", "hung", "one key"])
async def test_a_claims_work_does_not_grow_with_the_backlog(db, clock: Clock, case: str):
    """The work of one claim (8 jobs, cap 4) with a backlog of 1,000 and then 10,000 more due
    jobs: at most 1.5 times (it was ~10 times when every claim ranked every due job).

    - spread: 200 keys, queued round-robin (the oldest due jobs settle the claim);
    - hung: one key at its cap holds every old job, 199 other keys have 5 newer ones each
      (the keys are walked);
    - one key: a kind with one key at its cap (nothing to take)."""
    if case == "spread":
        def rows(jobs: int, start: float) -> list[tuple[str, float, JobState]]:
            return backlog(jobs, 200, start=start)
        head: list[tuple[str, float, JobState]] = []
    elif case == "hung":
        def rows(jobs: int, start: float) -> list[tuple[str, float, JobState]]:
            return [("hung.example", start + n, JobState.PENDING) for n in range(jobs)]
        head = [("hung.example", -200_000.0, JobState.RUNNING)] * 4 + [
            (f"k{n}.example", -10.0 - i, JobState.PENDING) for n in range(199) for i in range(5)]
    else:
        def rows(jobs: int, start: float) -> list[tuple[str, float, JobState]]:
            return [("", start + n, JobState.PENDING) for n in range(jobs)]
        head = [("", -200_000.0, JobState.RUNNING)] * 4
    await fill(head + rows(1_000, -100_000.0))
    want = await expected(0.0, 8, 4)
    small = await claim_work(db, 8, 4)
    await Job.filter(lease_owner="cost/1").update(state=JobState.PENDING, lease_owner=None)
    await fill(rows(10_000, -50_000.0))
    assert await expected(0.0, 8, 4) == want  # the newer backlog changes nothing claimed
    large = await claim_work(db, 8, 4)
    assert large <= 1.5 * small, (small, large)
    await Job.filter(lease_owner="cost/1").update(state=JobState.PENDING, lease_owner=None)
    assert await claim_ids(0.0, 8, 4) == want


@pytest.mark.parametrize("case", ["spread", "hung"])
async def test_the_plan_reads_the_job_table_through_its_indexes_never_whole(db, clock: Clock,
                                                                            case: str):
    """``EXPLAIN``: with 10,000 due jobs, the claim's plan never scans the job table whole nor
    sorts its rows: the oldest due jobs come from the index in (kind, state, next_attempt_at,
    id) order, a key's from the one in (kind, state, key, next_attempt_at, id) order, both
    under a limit; the chosen rows are found by id."""
    rows = backlog(10_000, 200 if case == "spread" else 1)
    await fill(rows + [("k0.example", -200_000.0, JobState.RUNNING)] * 4)
    dialect = Job._meta.db.capabilities.dialect
    sql, params = store.claim_statement(KIND, "w/1", START, LEASE, 8, 4, dialect)
    if dialect == "sqlite":
        plan = [row["detail"] for row in await Job._meta.db.execute_query_dict(
            f"EXPLAIN QUERY PLAN {sql}", params)]
        reads = [line for line in plan if " jobs" in line]
        assert not [line for line in reads if line.startswith("SCAN")], plan
        assert "SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)" in reads
        assert any("(kind=? AND state=? AND next_attempt_at<?)" in line for line in reads)
        assert any("(kind=? AND state=? AND key=? AND next_attempt_at<?)" in line
                   for line in reads)
        return
    found = nodes(await explain(db, sql, params, analyze=False))
    scans = [n for n in found if n.get("Relation Name") == "jobs"]
    assert scans and not [n for n in scans if n["Node Type"] == "Seq Scan"], scans
    for node in found:  # no sort reads the table itself
        if node["Node Type"] == "Sort":
            assert not [c for c in node.get("Plans", []) if c.get("Relation Name") == "jobs"]
    limited = [c for n in found if n["Node Type"] == "Limit" for c in n.get("Plans", [])
               if c.get("Relation Name") == "jobs"]
    # the head, and a key's due rows (the walk's step to the next key is a limit too)
    assert len({c["Index Name"] for c in limited if "next_attempt_at" in c["Index Cond"]}) == 2
