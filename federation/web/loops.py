"""The background loops of a bridge process: one list for ``serve`` and ``federation worker``.

:class:`Loops` builds, from the process's :class:`~federation.services.Services` (settings,
directory, client, publisher and the inbox's receiver, built once by
:func:`~federation.services.open_services`):

- ``delivery-worker`` — the delivery queue (:class:`~federation.delivery.worker.DeliveryWorker`,
  its own raw-SQL fast path on the job contract);
- ``job-worker`` — the job engine (:class:`~federation.jobs.worker.Worker`) running the
  inbox activities stored but not processed in their request (the process died, the
  database failed: :mod:`federation.inbox.processor`), the
  moderation webhook's calls (when ``moderation.webhook_url`` is set), the moderators'
  e-mails and their daily digests (when ``[smtp] host`` is set), feed polling (unless
  ``--no-feeds``), and the hourly purges: the inbox's expired claims and tombstones, the
  delivery queue's finished rows, the job table's finished jobs;
- ``key-refresh`` — picks up a key rotation made by another process (the actor documents must
  show the keys that sign), also when this process runs no worker;
- ``status-file`` — writes every loop's status (:attr:`Loops.statuses`) to the process's file
  in ``<data_dir>/status/`` every 15 s (:mod:`federation.jobs.status`; removed at a clean
  stop): what ``federation status`` reads.

``serve`` runs them all unless ``server.run_worker`` is false (then only ``key-refresh`` and
``status-file``: run a ``federation worker`` beside it); ``federation worker`` runs them all. Each loop is supervised
(:mod:`federation.web.background`); :attr:`Loops.statuses` says how each is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from federation.delivery.retention import PURGE_INTERVAL, purge_finished
from federation.delivery.worker import DeliveryWorker
from federation.identity.directory import REFRESH_INTERVAL_SECONDS
from federation.inbox.processor import Processor
from federation.ingest.poller import FeedPoller
from federation.jobs.kinds import DELIVERY_PURGE, INBOX_ACTIVITY, INBOX_PURGE, JOB_PURGE
from federation.jobs.periodic import periodic, purge_jobs
from federation.jobs.status import WRITE_EVERY, StatusFile
from federation.jobs.supervisor import Statuses
from federation.jobs.worker import SHUTDOWN_GRACE, Task, Worker
from federation.metrics import Metrics
from federation.moderation.notify import Notifier, log_disabled
from federation.moderation.webhook import WebhookSender
from federation.publishing.service import Publisher
from federation.remote.client import HardenedClient
from federation.services import Services
from federation.settings import Settings
from federation.web.background import Loop, background
from federation.web.state import SERVICES

log = logging.getLogger(__name__)

#: How often the periodic purges run.
PURGE_EVERY = timedelta(hours=1)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BackgroundLoop:
    name: str
    run: Loop
    #: Seconds the loop gets to return after ``stop`` (None: as long as it takes).
    grace: float | None


def job_tasks(settings: Settings, client: HardenedClient, publisher: Publisher | None, *,
              feeds: bool = True, clock: Callable[[], datetime] = _now,
              inbox: Task | None = None, metrics: Metrics | None = None) -> list[Task]:
    """What the job worker of a process runs (the one list, see the module)."""
    retention = timedelta(days=settings.delivery.retention_days)

    async def purge_deliveries(now: datetime) -> str:
        report = await purge_finished(now, retention)
        return (f"purged {report.deliveries} delivery(ies), {report.fanouts} fanout(s), "
                f"{report.hosts} host(s)") if report.total else ""

    async def purge_finished_jobs(now: datetime) -> str:
        # processed inbox activities are their de-duplication: the inbox purge keeps them
        # ``[inbox] dedup_retention_days``
        deleted = await purge_jobs(now, retention, except_kinds=(INBOX_ACTIVITY.name,))
        return f"{deleted} finished job(s) removed" if deleted else ""

    async def purge_inbox(now: datetime) -> str:
        purged = await Processor(settings, {}).purge_expired(now)
        return f"{purged} expired claim(s) and tombstone(s) removed" if purged else ""

    tasks = [periodic(INBOX_PURGE, PURGE_EVERY, purge_inbox, clock),
             periodic(DELIVERY_PURGE, PURGE_INTERVAL, purge_deliveries, clock),
             periodic(JOB_PURGE, PURGE_EVERY, purge_finished_jobs, clock)]
    if inbox is not None:
        tasks.append(inbox)
    if settings.moderation.webhook_url:
        tasks.append(WebhookSender(settings, client).task())
    if settings.smtp.enabled:
        tasks += Notifier(settings, clock=clock).tasks()
    if feeds and publisher is not None:
        tasks.append(FeedPoller.for_site(settings, client, publisher, metrics).task())
    return tasks


class Loops:
    """The loops of one process (see the module), started by :meth:`running`."""

    def __init__(self, services: Services, *, work: bool = True, feeds: bool = True,
                 concurrency: int | None = None, statuses: Statuses | None = None,
                 process: str = "serve") -> None:
        settings = services.settings
        self.statuses = statuses or Statuses()
        self.status_file = StatusFile(settings.data_dir, process, self.statuses)
        self._directory = services.directory
        self.delivery: DeliveryWorker | None = None
        self.jobs: Worker | None = None
        self.loops: list[BackgroundLoop] = []
        if work:
            log_disabled(settings)
            self.delivery = DeliveryWorker(settings, services.directory, services.client,
                                           concurrency=concurrency, metrics=services.metrics)
            self.jobs = Worker(job_tasks(settings, services.client, services.publisher,
                                         feeds=feeds, inbox=services.receiver.inbox_task(),
                                         metrics=services.metrics),
                               on_success=self.statuses.loop("job-worker").succeeded)
            self.loops += [BackgroundLoop("delivery-worker", self.delivery.run_forever, None),
                           BackgroundLoop("job-worker", self.jobs.run, SHUTDOWN_GRACE + 5.0)]
        self.loops.append(BackgroundLoop("key-refresh", self._refresh_keys, 0.0))
        self.loops.append(BackgroundLoop("status-file", self._write_status, 0.0))

    def wake(self) -> None:
        """New jobs were queued by this process: claim them now."""
        if self.jobs is not None:
            self.jobs.wake.set()

    async def _refresh_keys(self, stop: asyncio.Event) -> None:
        status = self.statuses.loop("key-refresh")
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REFRESH_INTERVAL_SECONDS)
            if not stop.is_set():
                await self._directory.refresh_if_stale()
                status.succeeded()

    async def _write_status(self, stop: asyncio.Event) -> None:
        status = self.statuses.loop("status-file")
        while not stop.is_set():
            await asyncio.to_thread(self.status_file.write)
            status.succeeded()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WRITE_EVERY)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Loops]:
        """Run every loop, supervised, while the block runs; stop them gracefully after (and
        remove the process's status file: a clean stop)."""
        try:
            async with contextlib.AsyncExitStack() as stack:
                for loop in self.loops:  # (the status file last: every loop is started)
                    await stack.enter_async_context(background(
                        loop.name, loop.run, grace=loop.grace,
                        status=self.statuses.loop(loop.name)))
                yield self
        finally:
            self.status_file.remove()


LOOPS = web.AppKey("loops", Loops)


async def _loops(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    loops = Loops(services, work=services.settings.server.run_worker)
    app[LOOPS] = loops
    async with loops.running():
        yield


def setup(app: web.Application) -> None:
    """Run the process's background loops with the application (after every other part's
    cleanup context: they use the database, the client and the publisher)."""
    app.cleanup_ctx.append(_loops)
