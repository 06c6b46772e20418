"""Runs a delivery worker inside ``federation serve`` (unless ``server.run_worker`` is false).

No routes: :func:`setup` appends a cleanup context that starts the worker once the database,
the directory and the client are open, and stops it cleanly (in-flight requests finish or give
their leases back) before they close.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from federation.delivery.worker import DeliveryWorker
from federation.web.background import background
from federation.web.state import CLIENT, DIRECTORY, SETTINGS

WORKER = web.AppKey("delivery_worker", DeliveryWorker)


async def _run_worker(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if not settings.server.run_worker:
        yield
        return
    worker = DeliveryWorker(settings, app[DIRECTORY], app[CLIENT])
    app[WORKER] = worker
    async with background("delivery-worker", worker.run_forever, grace=None):
        yield


def setup(app: web.Application) -> None:
    """Start an in-process delivery worker with the application (if configured)."""
    app.cleanup_ctx.append(_run_worker)
