"""The job worker: claims due jobs of every kind it serves, runs their handlers, records what
comes next along each kind's state graph.

A :class:`JobKind` is data: its name, its :class:`~federation.jobs.graph.StateGraph`, its
:class:`~federation.jobs.policy.RetryPolicy`, its lease and how many of its jobs may run at once
per key. A :class:`Task` pairs a kind with its handler (``async (ClaimedJob) -> Result``) and,
for kinds that keep one job per subject (a feed, a periodic purge), a ``prepare`` that creates
the missing rows (run at start and every ``prepare_interval``).

A handler returns a :class:`Result`: ``Result.done()``, ``Result.retry(error)`` (the kind's
policy says when; ``abandon`` once out of attempts, for kinds that give up), ``Result.fail(error)``
(permanent), ``Result.reschedule(at)`` (a recurring job, due again at ``at``). A handler that
raises is a bug: logged, and the job is retried by its policy — except a database fault,
which stops the cycle (the supervisor waits it out; the job's lease expires and it is retried).

:meth:`Worker.run_once` is one deterministic cycle (tests drive it with a fake clock);
:meth:`Worker.run` keeps up to ``concurrency`` jobs running until ``stop``: then the running
jobs get ``shutdown_grace`` seconds to finish (their results are recorded), the others are
cancelled and given back (:func:`~federation.jobs.store.release`: due at once, the attempt not
counted). While a job runs, its lease is extended (a third of the lease before it ends), so a
slow job is never taken by a second worker while its own is alive.
"""

from __future__ import annotations

import asyncio
import logging
import random as random_module
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from federation.db.faults import is_database_fault
from federation.jobs import store
from federation.jobs.graph import ONE_SHOT, Event, StateGraph
from federation.jobs.policy import RetryPolicy
from federation.jobs.store import ClaimedJob, LeaseTokens

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
POLL_INTERVAL = 2.0
SHUTDOWN_GRACE = 10.0
PREPARE_INTERVAL = timedelta(minutes=5)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JobKind:
    """A kind of job, as data."""

    name: str
    graph: StateGraph = ONE_SHOT
    policy: RetryPolicy = RetryPolicy()
    lease: timedelta = timedelta(seconds=60)
    #: Jobs of this kind running at once per key, across workers (approximately).
    per_key: int = 1


@dataclass(frozen=True)
class Result:
    """What a handler says happens next to its job."""

    event: Event
    at: datetime | None = None
    error: str | None = None
    payload: Any = None
    #: The job succeeded and its row is deleted (its work left nothing worth keeping).
    drop: bool = False

    @classmethod
    def dropped(cls) -> Result:
        return cls(Event.SUCCEED, drop=True)

    @classmethod
    def done(cls, payload: Any = None) -> Result:
        return cls(Event.SUCCEED, payload=payload)

    @classmethod
    def retry(cls, error: str, at: datetime | None = None) -> Result:
        return cls(Event.RETRY, at=at, error=error)

    @classmethod
    def fail(cls, error: str) -> Result:
        return cls(Event.FAIL, error=error)

    @classmethod
    def reschedule(cls, at: datetime, *, error: str | None = None, payload: Any = None) -> Result:
        return cls(Event.RESCHEDULE, at=at, error=error, payload=payload)


Handler = Callable[[ClaimedJob], Awaitable[Result]]
Prepare = Callable[[datetime], Awaitable[object]]


@dataclass(frozen=True)
class Task:
    """A kind served by a worker: its handler and (optionally) how its rows are created."""

    kind: JobKind
    handle: Handler
    prepare: Prepare | None = None


class Worker:
    """Runs the jobs of ``tasks``; several workers (processes) may share one database."""

    def __init__(self, tasks: Iterable[Task], *, clock: Clock = utc_now,
                 random: Callable[[], float] = random_module.random, owner: str | None = None,
                 concurrency: int = 8, poll_interval: float = POLL_INTERVAL,
                 shutdown_grace: float = SHUTDOWN_GRACE,
                 prepare_interval: timedelta = PREPARE_INTERVAL,
                 on_success: Callable[[], None] | None = None) -> None:
        self._tasks = {task.kind.name: task for task in tasks}
        self._clock = clock
        self._random = random
        self._tokens = LeaseTokens(owner)
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._shutdown_grace = shutdown_grace
        self._prepare_interval = prepare_interval
        self._prepared_at: datetime | None = None
        self._on_success = on_success
        self._turn = 0
        #: Set to claim at once (new work was queued in this process).
        self.wake = asyncio.Event()

    @property
    def owner(self) -> str:
        return self._tokens.owner

    @property
    def kinds(self) -> list[str]:
        return list(self._tasks)

    # -- one cycle ------------------------------------------------------------------------

    async def prepare(self, *, force: bool = False) -> None:
        """Create the rows of kinds that keep one job per subject (when due)."""
        now = self._clock()
        if not force and self._prepared_at is not None and \
                now - self._prepared_at < self._prepare_interval:
            return
        for task in self._tasks.values():
            if task.prepare is not None:
                await task.prepare(now)
        self._prepared_at = now

    async def claim(self, room: int) -> list[ClaimedJob]:
        """Claim up to ``room`` due jobs, the kinds taking turns to go first."""
        now = self._clock()
        await store.reclaim_expired(now)
        names = list(self._tasks)
        self._turn = (self._turn + 1) % max(len(names), 1)
        claimed: list[ClaimedJob] = []
        for name in names[self._turn:] + names[:self._turn]:
            if room - len(claimed) <= 0:
                break
            kind = self._tasks[name].kind
            claimed += await store.claim(name, self._tokens.next(), now, kind.lease,
                                         room - len(claimed), per_key=kind.per_key)
        return claimed

    async def attempt(self, job: ClaimedJob) -> Result:
        """Run the job's handler; a bug becomes a retry, a database fault is raised."""
        try:
            return await self._tasks[job.kind].handle(job)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if is_database_fault(error):
                raise
            log.exception("job %d (%s) failed with an unexpected error", job.id, job.kind)
            return Result.retry(f"internal error: {type(error).__name__} (see the log)")

    async def record(self, job: ClaimedJob, result: Result) -> bool:
        """Move the job along its graph by the handler's result (False: lease lost)."""
        kind = self._tasks[job.kind].kind
        return await record(kind, job, result, self._clock(), self._random)

    async def run_once(self) -> int:
        """Prepare, claim what is due (up to ``concurrency``), run it, record; return how many."""
        await self.prepare()
        jobs = await self.claim(self._concurrency)
        results = await asyncio.gather(*(self.attempt(job) for job in jobs))
        for job, result in zip(jobs, results, strict=True):
            await self.record(job, result)
        if self._on_success is not None:
            self._on_success()
        return len(jobs)

    # -- continuous operation -------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run jobs until ``stop`` is set; then finish the running ones (within the grace) or
        give them back. A database fault is raised (after giving back what it can)."""
        inflight: dict[asyncio.Task[Result], ClaimedJob] = {}
        log.info("job worker %s started (%s)", self.owner, ", ".join(self._tasks))
        try:
            await self.prepare(force=True)
            heartbeat_at = self._clock()
            while not stop.is_set():
                await self.prepare()
                room = self._concurrency - len(inflight)
                claimed = await self.claim(room) if room > 0 else []
                for job in claimed:
                    inflight[asyncio.create_task(self.attempt(job),
                                                 name=f"job-{job.kind}-{job.id}")] = job
                if self._on_success is not None:
                    self._on_success()
                if self._clock() >= heartbeat_at:
                    heartbeat_at = await self._heartbeat(inflight.values())
                await self._wait(stop, inflight, busy=bool(claimed) and room > len(claimed))
                await self._collect([t for t in inflight if t.done()], inflight)
        finally:
            await self._shutdown(inflight)

    async def _wait(self, stop: asyncio.Event, inflight: dict[asyncio.Task[Result], ClaimedJob],
                    *, busy: bool) -> None:
        """Until a job ends, new work is announced, ``stop``, or the poll interval."""
        if busy and not self.wake.is_set():
            return  # more may be due at once
        waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait()),
                                             asyncio.ensure_future(self.wake.wait())]
        try:
            await asyncio.wait([*inflight, *waits], timeout=self._poll_interval,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        self.wake.clear()

    async def _heartbeat(self, jobs: Iterable[ClaimedJob]) -> datetime:
        """Extend the leases of running jobs; return when to do it next."""
        now = self._clock()
        by_kind: dict[str, list[ClaimedJob]] = {}
        for job in jobs:
            by_kind.setdefault(job.kind, []).append(job)
        for name, group in by_kind.items():
            await store.extend(group, now + self._tasks[name].kind.lease)
        shortest = min((t.kind.lease for t in self._tasks.values()), default=timedelta(seconds=60))
        return now + shortest / 3

    async def _collect(self, done: Sequence[asyncio.Task[Result]],
                       inflight: dict[asyncio.Task[Result], ClaimedJob]) -> None:
        for task in done:
            job = inflight.pop(task)
            if task.cancelled():
                continue
            error = task.exception()
            if error is not None:
                inflight[task] = job  # not recorded: its lease expires, it is retried
                raise error
            await self.record(job, task.result())

    async def _shutdown(self, inflight: dict[asyncio.Task[Result], ClaimedJob]) -> None:
        if inflight:
            _, pending = await asyncio.wait(inflight, timeout=self._shutdown_grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            unsent = [inflight.pop(task) for task in pending]
            finished = [t for t in inflight if not t.cancelled() and t.exception() is None]
            try:
                for task in finished:
                    await self.record(inflight[task], task.result())
                if unsent:
                    released = await store.release(unsent)
                    log.info("job worker %s released %d lease(s)", self.owner, released)
            except Exception as error:  # the database away: the leases expire instead
                if not is_database_fault(error):
                    raise
                log.warning("job worker %s could not give back its jobs (%s): they are "
                            "taken up again when their leases expire", self.owner, error)
        log.info("job worker %s stopped", self.owner)


async def record(kind: JobKind, job: ClaimedJob, result: Result, now: datetime,
                 random: Callable[[], float] = random_module.random) -> bool:
    """Move ``job`` along its kind's graph by ``result`` (False: our lease was lost).

    Used by :class:`Worker`, and by a caller that attempted a job it stored already claimed
    (:func:`~federation.jobs.store.insert_claimed`)."""
    if result.drop:
        kind.graph.next(job.state, Event.SUCCEED)  # only where the graph allows success
        written = await store.forget(job)
    else:
        event, at = result.event, result.at
        if event is Event.RETRY:
            if kind.policy.gives_up(job.attempts) and kind.graph.allows(job.state, Event.ABANDON):
                event = Event.ABANDON
            elif at is None:
                at = kind.policy.retry_at(job.attempts, now, random())
        written = await store.finish(job, kind.graph, event, now, next_attempt_at=at,
                                     error=result.error, payload=result.payload)
        if written and event in (Event.RETRY, Event.FAIL, Event.ABANDON):
            log.info("job %d (%s), attempt %d: %s%s", job.id, job.kind, job.attempts, event,
                     f" ({result.error})" if result.error else "")
    if not written:
        log.warning("job %d (%s): lease lost before its result was recorded (another "
                    "worker took it)", job.id, job.kind)
    return written
