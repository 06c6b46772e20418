"""Group commit: the writes of callers that arrive together, done by one statement.

Each inbox request stores its activity (one ``INSERT``) and, once processed, records the result
(one ``UPDATE``). Under load many requests do so at the same moment; each statement is a round
trip to PostgreSQL, or a hand-off to aiosqlite's thread and a commit on SQLite. A
:class:`GroupCommit` lets them share it: :meth:`GroupCommit.submit` queues a caller's item and
waits for the write that carries it; the items queued while a write runs go together in the next
one (at most ``max_items``). A lone caller waits for its own write only — no timer, no added
delay —, and a burst of callers shares one write per group.

The write is one statement (or one transaction): it succeeds for the whole group or fails for
the whole group. A database fault (:func:`~federation.db.faults.is_database_fault`: the
database is away or full) is every caller's error (a request answers 503, nothing of its group
was written, nothing is lost: the sender retries); any other error (one item the database
refuses) makes the group's items be written again one by one, so that only the caller whose
item fails gets the error. A caller whose wait is
cancelled does not cancel the group's write (it runs in its own task); the writer's task
cancelled (shutdown) cancels the waits of the callers it had not answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from federation.db.faults import is_database_fault

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

#: Items written together at most (a statement's parameters stay far below SQLite's and
#: PostgreSQL's limits of 32,766 and 32,767 with a dozen columns per item).
MAX_GROUP = 64


class GroupCommit(Generic[Item, Outcome]):
    """Writes submitted items in groups through ``write`` (items in, one outcome per item out,
    in the same order)."""

    def __init__(self, write: Callable[[list[Item]], Awaitable[Sequence[Outcome]]], *,
                 max_items: int = MAX_GROUP) -> None:
        if max_items < 1:
            raise ValueError("a group holds at least one item")
        self._write, self._max = write, max_items
        self._queued: list[tuple[Item, asyncio.Future[Outcome]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Groups written and items carried (for the tests and the bench).
        self.groups = self.items = 0

    @property
    def queued(self) -> int:
        """Items waiting for a write (not yet carried by one that runs)."""
        return len(self._queued)

    async def submit(self, item: Item) -> Outcome:
        """Queue ``item`` and wait for the write of its group; its outcome, or the write's error."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests): nothing of the old one survives
            self._loop, self._queued, self._writer = loop, [], None
        future: asyncio.Future[Outcome] = loop.create_future()
        self._queued.append((item, future))
        if self._writer is None:
            self._writer = loop.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        """Write the queued items, group after group, until none is left."""
        try:
            while self._queued:
                group, self._queued = self._queued[:self._max], self._queued[self._max:]
                await self._commit(group, split=True)
        except BaseException:  # cancelled (shutdown): so are the waits not answered yet
            for _, future in self._queued:
                future.cancel()
            self._queued = []
            raise
        finally:
            self._writer = None

    async def _commit(self, group: list[tuple[Item, asyncio.Future[Outcome]]], *,
                      split: bool) -> None:
        try:
            outcomes = await self._write([item for item, _ in group])
            if len(outcomes) != len(group):
                raise RuntimeError(f"group commit: {len(outcomes)} outcomes for "
                                   f"{len(group)} items")
        except Exception as error:
            if split and len(group) > 1 and not is_database_fault(error):
                log.info("a group of %d writes was refused (%s): written one by one",
                         len(group), type(error).__name__)
                for one in group:
                    await self._commit([one], split=False)
                return
            for _, future in group:  # every caller of the group answers with the error
                if not future.done():
                    future.set_exception(error)
            return
        except BaseException:
            for _, future in group:
                future.cancel()
            raise
        self.groups += 1
        self.items += len(group)
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)
