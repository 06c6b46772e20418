"""Periodic work as jobs: one recurring job per task (``ref`` names it), so that however many
workers run, one of them does it at a time, and a failure is retried by the kind's policy.

:func:`periodic` turns ``work(now)`` into a :class:`~federation.jobs.worker.Task`: its row is
created when missing (due at once), and after each run it is rescheduled ``every`` later.
:func:`purge_jobs` is the job table's own retention.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from federation.db import column
from federation.db.jobs import Job, JobState
from federation.jobs import store
from federation.jobs.store import ClaimedJob
from federation.jobs.worker import JobKind, Result, Task

log = logging.getLogger(__name__)

REF = "periodic"
FINAL = (JobState.DONE, JobState.FAILED, JobState.ABANDONED)
#: Rows deleted per statement.
PURGE_CHUNK = 1000


def periodic(kind: JobKind, every: timedelta, work: Callable[[datetime], Awaitable[object]],
             clock: Callable[[], datetime]) -> Task:
    """A task running ``work(now)`` once per ``every`` (its result is logged when truthy)."""

    async def prepare(now: datetime) -> None:
        await store.ensure(kind.name, REF, at=now)

    async def handle(job: ClaimedJob) -> Result:
        now = clock()
        done = await work(now)
        if done:
            log.info("%s: %s", kind.name, done)
        return Result.reschedule(now + every)

    return Task(kind, handle, prepare)


async def purge_jobs(now: datetime, retention: timedelta, *,
                     except_kinds: tuple[str, ...] = ()) -> int:
    """Delete jobs that reached a final state more than ``retention`` ago (but those of
    ``except_kinds``: their service keeps them its own time)."""
    deleted = 0
    while True:
        ids: list[int] = await column(Job.filter(
            state__in=list(FINAL),
            finished_at__lt=now - retention,
        ).exclude(kind__in=list(except_kinds)).order_by("id").limit(PURGE_CHUNK), "id")
        if not ids:
            return deleted
        deleted += await Job.filter(id__in=list(ids), state__in=list(FINAL)).delete()
        if len(ids) < PURGE_CHUNK:
            return deleted
