"""Background loops of a bridge process: one way to start, watch and stop them.

``serve`` runs the delivery worker, the feed poller, the webhook sender and the inbox purge
beside the web server; ``federation worker`` runs the first three alone. Each is a coroutine
``run(stop)`` started by :func:`background` for the duration of a block:

- the task is named (``asyncio.all_tasks()`` and tracebacks say which loop it is);
- a loop that stops on its own with an error is logged at once, not at shutdown;
- on leaving the block, ``stop`` is set; the loop has ``grace`` seconds to return by itself
  (finishing or giving back what it was doing: the delivery worker, ``None``, waits as long as
  it takes, bounded by its own shutdown grace; the webhook sender a few seconds), then it is
  cancelled. A loop that ignores ``stop`` (``forever``) is cancelled at once. The exit never
  raises the loop's own error (shutdown goes on), and a cancellation of the caller is not
  swallowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)

Loop = Callable[[asyncio.Event], Awaitable[None]]


def _report_end(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("background task %s stopped with an error", task.get_name(), exc_info=error)


@contextlib.asynccontextmanager
async def background(name: str, run: Loop, *,
                     grace: float | None = 0.0) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``run(stop)`` as the task ``name`` while the block runs (see the module's doc)."""
    stop = asyncio.Event()
    task: asyncio.Task[None] = asyncio.create_task(_as_coroutine(run, stop), name=name)
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


async def _as_coroutine(run: Loop, stop: asyncio.Event) -> None:
    await run(stop)


def forever(loop: Callable[[], Awaitable[None]]) -> Loop:
    """Adapt a loop that runs until cancelled (it ignores ``stop``)."""

    async def run(stop: asyncio.Event) -> None:
        await loop()

    return run
