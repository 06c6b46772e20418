"""Supervision: a background loop that fails is restarted after a bounded, jittered backoff;
nothing but a clean stop ends it.

:func:`supervise` runs ``run(stop)`` again and again until ``stop`` is set:

- a database or disk fault (:func:`federation.db.faults.is_database_fault`: PostgreSQL
  restarting, SQLite's disk full…) is logged as one line, no traceback;
- any other error (a bug) is logged with its traceback; the loop is restarted all the same;
- a loop that returns while ``stop`` is not set is restarted too (it should not return);
- the wait before a restart doubles from ``first`` to ``cap`` seconds (:data:`RESTART_POLICY`,
  with jitter: processes that lost the database together do not come back together) and is
  cut short by ``stop``; a loop that ran longer than ``cap`` before failing starts again from
  the first wait.

:class:`LoopStatus` keeps per loop (published by :mod:`federation.jobs.status`, read by
``federation status``): running or waiting to restart,
restarts, the last error and when, the last success (reported by the loop through
:meth:`LoopStatus.succeeded`, e.g. the job worker after each cycle that reached the database).
"""

from __future__ import annotations

import asyncio
import logging
import random as random_module
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from federation.db.faults import describe, is_database_fault
from federation.jobs.policy import Curve, RetryPolicy

log = logging.getLogger(__name__)

Loop = Callable[[asyncio.Event], Awaitable[None]]
#: Restarts of a failed loop: 1 s, 2 s, 4 s … 60 s, plus up to half of it at random.
RESTART_POLICY = RetryPolicy(max_attempts=None, curve=Curve.EXPONENTIAL, first=1.0, cap=60.0,
                             jitter=0.5)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class LoopStatus:
    """The health of one supervised loop."""

    name: str
    running: bool = False
    restarts: int = 0
    last_error: str = ""
    last_error_at: datetime | None = None
    last_success_at: datetime | None = None
    clock: Callable[[], datetime] = field(default=_utc_now, repr=False)

    def succeeded(self) -> None:
        self.last_success_at = self.clock()

    def failed(self, error: BaseException) -> None:
        self.last_error = describe(error)
        self.last_error_at = self.clock()

    def to_json(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {"name": self.name, "running": self.running, "restarts": self.restarts,
                "last_error": self.last_error, "last_error_at": iso(self.last_error_at),
                "last_success_at": iso(self.last_success_at)}


class Statuses:
    """Every supervised loop's status in one process (what ``federation status`` shows)."""

    def __init__(self) -> None:
        self._loops: dict[str, LoopStatus] = {}

    def loop(self, name: str) -> LoopStatus:
        status = self._loops.get(name)
        if status is None:
            status = self._loops[name] = LoopStatus(name)
        return status

    def all(self) -> list[LoopStatus]:
        return list(self._loops.values())

    @property
    def healthy(self) -> bool:
        return all(status.running for status in self._loops.values())


async def _as_coroutine(run: Loop, stop: asyncio.Event) -> None:
    await run(stop)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


async def supervise(name: str, run: Loop, stop: asyncio.Event, status: LoopStatus | None = None,
                    *, policy: RetryPolicy = RESTART_POLICY,
                    random: Callable[[], float] = random_module.random,
                    pause: Callable[[asyncio.Event, float], Awaitable[None]] = _pause) -> None:
    """Run ``run(stop)`` until ``stop`` is set, restarting it after a failure (see the module)."""
    status = status or LoopStatus(name)
    failures = 0
    while not stop.is_set():
        started = time.monotonic()
        status.running = True
        try:
            # each run in a task of its own: a fresh copy of our context, so that what a
            # failed run left in its context variables (tortoise's transaction on a dead
            # connection) is not inherited by the next run
            await asyncio.create_task(_as_coroutine(run, stop), name=f"{name}:run")
        except asyncio.CancelledError:
            status.running = False
            raise
        except Exception as error:
            status.running = False
            status.failed(error)
            if time.monotonic() - started > policy.cap:
                failures = 0
            failures += 1
            wait = policy.wait(failures, random())
            if is_database_fault(error):
                log.warning("%s: database or disk fault (%s); restarting in %.1f s",
                            name, describe(error), wait)
            else:
                log.error("%s stopped with an error; restarting in %.1f s", name, wait,
                          exc_info=error)
        else:
            status.running = False
            if stop.is_set():
                return
            failures += 1
            wait = policy.wait(failures, random())
            log.warning("%s returned before being stopped; restarting in %.1f s", name, wait)
        if stop.is_set():
            return
        await pause(stop, wait)
        if not stop.is_set():
            status.restarts += 1
    status.running = False
