"""Background loops of a bridge process: one way to start, supervise and stop them.

``serve`` and ``federation worker`` run the same loops (:mod:`federation.web.loops` lists
them). Each is a coroutine ``run(stop)`` started by :func:`background` for the duration of a
block:

- the task is named (``asyncio.all_tasks()`` and tracebacks say which loop it is);
- it is supervised (:func:`federation.jobs.supervisor.supervise`): a loop that fails — the
  database restarting, the disk full, a bug — is logged at once and started again after a
  bounded, jittered backoff; nothing but ``stop`` ends it; its :class:`LoopStatus` says how it
  is doing;
- on leaving the block, ``stop`` is set; the loop has ``grace`` seconds to return by itself
  (finishing or giving back what it was doing: the delivery worker, ``None``, waits as long as
  it takes, bounded by its own shutdown grace; the job worker its shutdown grace), then it is
  cancelled. A loop that ignores ``stop`` (``forever``) is cancelled at once. The exit never
  raises the loop's own error (shutdown goes on), and a cancellation of the caller is not
  swallowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from federation.jobs.policy import RetryPolicy
from federation.jobs.supervisor import RESTART_POLICY, LoopStatus, supervise

log = logging.getLogger(__name__)

Loop = Callable[[asyncio.Event], Awaitable[None]]


def _report_end(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:  # only a bug of the supervisor itself gets here
        log.error("background task %s stopped with an error", task.get_name(), exc_info=error)


@contextlib.asynccontextmanager
async def background(name: str, run: Loop, *, grace: float | None = 0.0,
                     status: LoopStatus | None = None,
                     policy: RetryPolicy = RESTART_POLICY) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``run(stop)``, supervised, as the task ``name`` while the block runs (see the
    module's doc)."""
    stop = asyncio.Event()
    status = status or LoopStatus(name)
    task: asyncio.Task[None] = asyncio.create_task(
        supervise(name, run, stop, status, policy=policy), name=name)
    task.add_done_callback(_report_end)
    try:
        yield task
    finally:
        stop.set()
        # asyncio.wait neither raises the task's error nor hides our own cancellation.
        if grace is None or grace > 0:
            await asyncio.wait([task], timeout=grace)
        if not task.done():
            task.cancel()
            await asyncio.wait([task])


def forever(loop: Callable[[], Awaitable[None]]) -> Loop:
    """Adapt a loop that runs until cancelled (it ignores ``stop``)."""

    async def run(stop: asyncio.Event) -> None:
        await loop()

    return run
