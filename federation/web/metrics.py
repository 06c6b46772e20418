"""The metrics listener: ``GET /metrics`` in Prometheus's text format, on its own address
(``[metrics] listen``, e.g. ``127.0.0.1:9464``), never on the public port.

Each ``serve`` and ``federation worker`` serves its own counters and histograms
(:class:`federation.metrics.Metrics`); the gauges (the delivery queue by state, hosts set aside,
the moderation queue, jobs by kind and state and their lag) are read from the database at each
scrape — at most once per :data:`GAUGES_FOR` — so every process reports the same values. Two
processes on one machine need two addresses (``FEDERATION_METRICS__LISTEN`` per process).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tortoise.functions import Count

from federation.db.delivery import DeliveryJob, DeliveryState, HostHealth
from federation.db.jobs import Job, JobState
from federation.db.moderation import Reply, ReplyState, Report
from federation.metrics import Metrics
from federation.services import Services
from federation.web.state import SERVICES

log = logging.getLogger(__name__)

#: The database is read for the gauges at most this often (seconds).
GAUGES_FOR = 5.0


class GaugeReader:
    """Sets the database-backed gauges of ``metrics`` (at most once per :data:`GAUGES_FOR`)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._read_at is not None and now - self._read_at < GAUGES_FOR:
                return
            await self._read()
            self._read_at = now

    async def _read(self) -> None:
        metrics = self._metrics
        counts = {row["state"]: row["n"] for row in await DeliveryJob.all().group_by(
            "state").annotate(n=Count("id")).values("state", "n")}
        for state in DeliveryState:
            metrics.delivery_queue.labels(state.value).set(counts.get(state, 0))
        metrics.hosts_set_aside.set(await HostHealth.filter(unavailable=True).count())
        metrics.moderation_queue.labels("replies").set(
            await Reply.filter(state=ReplyState.PENDING).count())
        metrics.moderation_queue.labels("reports").set(
            await Report.filter(resolved=False).count())
        metrics.jobs.clear()
        pending_kinds = []
        for row in await Job.all().group_by("kind", "state").annotate(
                n=Count("id")).values("kind", "state", "n"):
            metrics.jobs.labels(row["kind"], str(row["state"])).set(row["n"])
            if row["state"] == JobState.PENDING:
                pending_kinds.append(row["kind"])
        now = datetime.now(UTC)
        metrics.job_lag.clear()
        for kind in pending_kinds:
            # the oldest due job of the kind: one seek in the claim's index (kind, state,
            # next_attempt_at, id), however many are due
            oldest = await Job.filter(kind=kind, state=JobState.PENDING,
                                      next_attempt_at__lte=now).order_by(
                "next_attempt_at").limit(1).values("next_attempt_at")
            if oldest:
                age = now - oldest[0]["next_attempt_at"]
                metrics.job_lag.labels(kind).set(max(0.0, age.total_seconds()))


def metrics_app(metrics: Metrics) -> web.Application:
    """The listener's application: ``/metrics`` only."""
    reader = GaugeReader(metrics)

    async def scrape(request: web.Request) -> web.Response:
        try:
            await reader.refresh()
        except Exception as error:
            log.warning("metrics: the database gauges could not be read (%s)",
                        type(error).__name__)
        response = web.Response(body=generate_latest(metrics.registry),
                                headers={"Cache-Control": "no-store"})
        response.content_type = CONTENT_TYPE_LATEST.split(";", 1)[0]
        response.charset = "utf-8"
        return response

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    return app


@asynccontextmanager
async def metrics_listener(services: Services) -> AsyncIterator[int | None]:
    """Serve ``/metrics`` on ``[metrics] listen`` while the block runs (nothing when unset);
    yields the bound port."""
    address = services.settings.metrics.address
    if address is None:
        yield None
        return
    runner = web.AppRunner(metrics_app(services.metrics), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, address[0], address[1])
        await site.start()
        port = int(runner.addresses[0][1]) if runner.addresses else address[1]
        log.info("metrics on http://%s:%d/metrics", address[0], port)
        yield port
    finally:
        await runner.cleanup()


METRICS_PORT = web.AppKey("metrics_port", int)


async def _listener(app: web.Application) -> AsyncIterator[None]:
    async with metrics_listener(app[SERVICES]) as port:
        if port is not None:
            app[METRICS_PORT] = port
        yield


def setup(app: web.Application) -> None:
    """``serve``'s metrics listener (after the services are open)."""
    app.cleanup_ctx.append(_listener)
