"""The job table's statements: enqueue, the one fair claim, leases, results.

**The claim** (:func:`claim`) takes due ``pending`` jobs of one kind under a lease, fairly
across their ``key`` (the remote host): due jobs are ranked within their key (oldest first),
a key's jobs already ``running`` count against its cap (a job's slot is its rank plus its key's
running jobs), and the chosen ones are taken slot by slot — every key's first job, then every
key's second… So a host whose backlog is large
(or hangs: its jobs stay running until they time out) gets at most ``per_key`` jobs at once and
never hides the due work of other hosts, however old its backlog is. Its cost does not grow
with the backlog: the oldest due jobs of the kind are read first (``limit × per_key`` of them,
through the index in ``(kind, state, next_attempt_at, id)`` order), and settle the claim when
they hold every due job or ``limit`` first jobs of keys with nothing running; otherwise (a big
old backlog of a few keys, a key at its cap) the kind's keys are walked, each key's oldest due
jobs read through the index in ``(kind, state, key, next_attempt_at, id)`` order: the cost then
grows with the number of keys (one index seek each), never with their backlogs. One statement:

- PostgreSQL: ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) AND state = 'pending'
  RETURNING …`` — concurrent workers (processes) skip each other's rows instead of waiting,
  and the state is checked again on the row's latest version;
- SQLite (one writer at a time): the same ``UPDATE … RETURNING`` without the lock clause; the
  statement is atomic.

The per-key cap is exact within one statement, and across workers only approximate: two
workers claiming at the same instant may each give one key its cap.

**Leases**: a claim's token (``<owner>/<n>``, :class:`LeaseTokens`) is unique; only the holder
of a job's token can record its result (:func:`finish`), give it back (:func:`release`) or
extend its lease (:func:`extend`). A job whose lease expired (its worker died) is pending and
due again (:func:`reclaim_expired`), its attempt counted.

The claim's SQL is :func:`federation.db.raw.fair_claim_sql` (the delivery queue's claim is the
same statement on its own table); the others are the ORM's. Values are converted by the
model's fields, so rows read back through the ORM are the same as if the ORM wrote them.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from federation.db.jobs import ERROR_LENGTH, Job, JobState
from federation.db.raw import db_value, fair_claim_sql, insert_new, insert_new_rows, numbered
from federation.jobs.graph import Event, StateGraph


class LeaseTokens:
    """Lease tokens of one worker: ``<owner>/<n>``, unique per claim."""

    def __init__(self, owner: str | None = None) -> None:
        self.owner = owner or uuid.uuid4().hex[:12]
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self.owner}/{next(self._counter)}"


@dataclass
class ClaimedJob:
    """A job held under our lease (what a handler needs; no ORM object)."""

    id: int
    kind: str
    key: str
    ref: str | None
    attempts: int
    payload: Any
    lease_owner: str
    state: JobState = JobState.RUNNING


def _connection() -> BaseDBAsyncClient:
    return Job._meta.db


def _v(field: str, value: Any) -> Any:
    return db_value(Job, field, value)


def _python(field: str, value: Any) -> Any:
    return Job._meta.fields_map[field].to_python_value(value)


_CLAIM: dict[str, str] = {}
#: Due jobs a claim reads first, per job it may take per key: the head (``limit × per_key ×
#: HEAD_FACTOR`` rows) settles most claims; see :func:`federation.db.raw.fair_claim_sql`.
HEAD_FACTOR = 1


def _claim_sql(dialect: str) -> str:
    sql = _CLAIM.get(dialect)
    if sql is None:
        sql = _CLAIM[dialect] = fair_claim_sql(
            "jobs", key="key", due='"kind" = ? AND "state" = ? AND "next_attempt_at" <= ?',
            busy='"kind" = ? AND "state" = ?', queued='"kind" = ? AND "state" = ?',
            lease='"state" = ?, "attempts" = "attempts" + 1, "lease_owner" = ?, '
                  '"lease_expires_at" = ?',
            guard='"state" = ?', returning='"id", "kind", "key", "ref", "attempts", "payload"',
            dialect=dialect)
    return sql


def claim_statement(kind: str, token: str, now: datetime, lease: timedelta, limit: int,
                    per_key: int, dialect: str) -> tuple[str, list[Any]]:
    """The SQL and parameters of one :func:`claim` (also what ``EXPLAIN`` is asked about)."""
    pending, running = _v("state", JobState.PENDING), _v("state", JobState.RUNNING)
    due = [kind, pending, _v("next_attempt_at", now)]
    head = limit * per_key * HEAD_FACTOR
    params = [running, token, _v("lease_expires_at", now + lease),
              kind, running, *due, head, head, limit, kind, pending, kind, pending,
              *due, per_key, per_key, limit, pending]
    return _claim_sql(dialect), params


async def claim(kind: str, token: str, now: datetime, lease: timedelta, limit: int, *,
                per_key: int = 1) -> list[ClaimedJob]:
    """Claim up to ``limit`` due jobs of ``kind``, at most ``per_key`` running per key."""
    if limit <= 0 or per_key <= 0:
        return []
    connection = _connection()
    rows = await connection.execute_query_dict(*claim_statement(
        kind, token, now, lease, limit, per_key, connection.capabilities.dialect))
    jobs = [ClaimedJob(row["id"], row["kind"], row["key"], row["ref"], row["attempts"],
                       _python("payload", row["payload"]), token) for row in rows]
    return sorted(jobs, key=lambda job: job.id)


async def claim_ref(kind: str, ref: str, token: str, now: datetime,
                    lease: timedelta) -> ClaimedJob | None:
    """Claim the job of ``kind`` for ``ref`` now, due or not, unless it is not ``pending``
    (a worker holds it, or it is finished): None then. One guarded ``UPDATE``, so a worker's
    claim and this one never both succeed (an admin command doing a kind's work by hand)."""
    rows = await Job.filter(kind=kind, ref=ref, state=JobState.PENDING).limit(1).values_list(
        "id", flat=True)
    if not rows:
        return None
    written = await Job.filter(id=rows[0], state=JobState.PENDING).update(
        state=JobState.RUNNING, attempts=F("attempts") + 1, lease_owner=token,
        lease_expires_at=now + lease)
    if not written:
        return None  # a worker claimed it between our two statements
    job = await Job.get(id=rows[0])
    return ClaimedJob(job.id, job.kind, job.key, job.ref, job.attempts, job.payload, token)


async def reclaim_expired(now: datetime) -> int:
    """Jobs whose worker died (lease expired while running) become pending and due again.

    The lost attempt stays counted (attempts are counted at claim), so a job that kills its
    worker every time is still given up after its policy's attempts.
    """
    return await Job.filter(state=JobState.RUNNING, lease_expires_at__lt=now).update(
        state=JobState.PENDING, lease_owner=None, lease_expires_at=None, next_attempt_at=now)


async def extend(jobs: Sequence[ClaimedJob], until: datetime) -> int:
    """Push back the lease of running ``jobs`` we still hold (a long job's heartbeat)."""
    extended = 0
    for token, ids in _by_token(jobs).items():
        extended += await Job.filter(id__in=ids, lease_owner=token,
                                     state=JobState.RUNNING).update(lease_expires_at=until)
    return extended


async def release(jobs: Sequence[ClaimedJob]) -> int:
    """Give back claimed jobs that were not attempted (clean shutdown): pending, due now,
    their attempt not counted."""
    released = 0
    for token, ids in _by_token(jobs).items():
        released += await Job.filter(id__in=ids, lease_owner=token,
                                     state=JobState.RUNNING).update(
            state=JobState.PENDING, attempts=F("attempts") - 1, lease_owner=None,
            lease_expires_at=None)
    return released


def _by_token(jobs: Sequence[ClaimedJob]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for job in jobs:
        grouped.setdefault(job.lease_owner, []).append(job.id)
    return grouped


async def finish(job: ClaimedJob, graph: StateGraph, event: Event, now: datetime, *,
                 next_attempt_at: datetime | None = None, error: str | None = None,
                 payload: Any = None) -> bool:
    """Record the outcome of an attempt: the job moves along ``graph`` by ``event``.

    Written only while we hold the job's lease (False otherwise: it expired and another worker
    took the job; our result is dropped, theirs counts). ``reschedule`` resets the attempts
    (a recurring job starts afresh); ``payload`` (when given) replaces the job's payload.
    """
    target = graph.next(job.state, event)
    values: dict[str, Any] = {"state": target, "lease_owner": None, "lease_expires_at": None,
                              "last_error": error[:ERROR_LENGTH] if error else None}
    if target in graph.final:
        values["finished_at"] = now
    else:
        values["next_attempt_at"] = next_attempt_at or now
    if event is Event.RESCHEDULE:
        values["attempts"] = 0
    if payload is not None:
        values["payload"] = payload
    # one hand-written statement (every processed inbox activity runs it)
    connection = _connection()
    sets = ", ".join(f'"{name}" = ?' for name in values)
    params = [_v(name, value) for name, value in values.items()]
    written = await connection.execute_query(numbered(
        f'UPDATE "jobs" SET {sets} WHERE "id" = ? AND "lease_owner" = ? AND "state" = ?',
        connection.capabilities.dialect), [*params, job.id, job.lease_owner, _v("state", JobState.RUNNING)])
    if written[0]:
        job.state = target
    return bool(written[0])


async def enqueue(kind: str, payload: Any = None, *, key: str = "", at: datetime,
                  ref: str | None = None) -> Job:
    """Queue one job (inside the caller's transaction, if any: then it exists only if the
    caller's work is committed)."""
    return await Job.create(kind=kind, key=key[:255], ref=ref, payload=payload or {},
                            next_attempt_at=at)


async def insert_claimed(kind: str, ref: str, token: str, now: datetime, lease: timedelta, *,
                         key: str = "", payload: Any = None) -> ClaimedJob | None:
    """Store a job of ``kind`` for ``ref`` already held by ``token`` (running, one attempt
    counted, leased until ``now + lease``), in one ``INSERT``; ``None`` when a job of ``kind``
    for ``ref`` exists, whatever its state (the work is a duplicate).

    The caller attempts it at once and records the result with :func:`finish`; if it dies
    first, the lease expires and a worker takes the job up (:func:`reclaim_expired`)."""
    new = await insert_new(Job, {"kind": kind, "ref": ref, "key": key[:255],
                                 "payload": payload or {}, "next_attempt_at": now,
                                 "state": JobState.RUNNING, "attempts": 1,
                                 "lease_owner": token, "lease_expires_at": now + lease})
    if new is None:
        return None
    return ClaimedJob(new, kind, key[:255], ref, 1, payload or {}, token)


async def forget(job: ClaimedJob) -> bool:
    """Delete a job we hold (its work left nothing worth keeping, not even its row)."""
    connection = _connection()
    written = await connection.execute_query(numbered(
        'DELETE FROM "jobs" WHERE "id" = ? AND "lease_owner" = ? AND "state" = ?',
        connection.capabilities.dialect),
        [job.id, job.lease_owner, _v("state", JobState.RUNNING)])
    return bool(written[0])


async def ensure(kind: str, ref: str, *, key: str = "", at: datetime,
                 payload: Any = None) -> int | None:
    """The job of ``kind`` for ``ref``, created due at ``at`` unless it exists (whatever its
    state); the new id, or None when it existed."""
    return await insert_new(Job, {"kind": kind, "ref": ref, "key": key[:255],
                                  "payload": payload or {}, "next_attempt_at": at,
                                  "state": JobState.PENDING})


# -- group commit (federation.db.batch): the inbox's stored activities and their results --


@dataclass(frozen=True)
class NewClaimed:
    """A job to store already claimed (:func:`insert_claimed_many`)."""

    kind: str
    ref: str
    token: str
    key: str = ""
    payload: Any = None


async def insert_claimed_many(jobs: Sequence[NewClaimed], now: datetime,
                              lease: timedelta) -> list[ClaimedJob | None]:
    """:func:`insert_claimed` for several jobs in one ``INSERT`` (all stored or none): for each,
    the claimed job, or ``None`` when a job of its kind for its ref exists — or comes earlier
    in ``jobs`` (the later one is the duplicate)."""
    first: dict[tuple[str, str], int] = {}
    for index, job in enumerate(jobs):
        first.setdefault((job.kind, job.ref), index)
    unique = [jobs[index] for index in sorted(first.values())]
    written = await insert_new_rows(Job, [
        {"kind": job.kind, "ref": job.ref, "key": job.key[:255], "payload": job.payload or {},
         "next_attempt_at": now, "state": JobState.RUNNING, "attempts": 1,
         "lease_owner": job.token, "lease_expires_at": now + lease} for job in unique],
        ("kind", "ref"))
    ids = {(kind, ref): int(new) for new, kind, ref in written}
    claimed: list[ClaimedJob | None] = []
    for index, job in enumerate(jobs):
        new = ids.get((job.kind, job.ref)) if first[(job.kind, job.ref)] == index else None
        claimed.append(None if new is None else ClaimedJob(
            new, job.kind, job.key[:255], job.ref, 1, job.payload or {}, job.token))
    return claimed


async def finish_many(jobs: Sequence[ClaimedJob], graph: StateGraph, now: datetime, *,
                      payload: Any = None) -> list[bool]:
    """:func:`finish` with :data:`~federation.jobs.graph.Event.SUCCEED` for several jobs whose
    success is final in ``graph``, in one ``UPDATE``: for each, whether it was written (we
    still held its lease)."""
    if not jobs:
        return []
    targets = {graph.next(job.state, Event.SUCCEED) for job in jobs}
    if len(targets) != 1 or not targets <= graph.final:
        raise ValueError("finish_many records one final state for every job")
    [target] = targets
    values: dict[str, Any] = {"state": target, "lease_owner": None, "lease_expires_at": None,
                              "last_error": None, "finished_at": now}
    if payload is not None:
        values["payload"] = payload
    connection = _connection()
    sets = ", ".join(f'"{name}" = ?' for name in values)
    held = " OR ".join(['("id" = ? AND "lease_owner" = ?)'] * len(jobs))
    # (the leading comment makes tortoise's asyncpg client fetch the RETURNING rows)
    _, rows = await connection.execute_query(numbered(
        f'/* finish */ UPDATE "jobs" SET {sets} WHERE "state" = ? AND ({held}) RETURNING "id"',
        connection.capabilities.dialect),
        [*(_v(name, value) for name, value in values.items()), _v("state", JobState.RUNNING),
         *(value for job in jobs for value in (job.id, job.lease_owner))])
    done = {int(row["id"]) for row in rows}
    for job in jobs:
        if job.id in done:
            job.state = target
    return [job.id in done for job in jobs]
