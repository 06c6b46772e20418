"""Runs a delivery worker inside ``federation serve`` (unless ``server.run_worker`` is false).

No routes: :func:`setup` appends a cleanup context that starts the worker once the database,
the directory and the client are open, and stops it cleanly (in-flight requests finish or give
their leases back) before they close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from federation.delivery.worker import DeliveryWorker
from federation.web.state import CLIENT, DIRECTORY, SETTINGS

log = logging.getLogger(__name__)

WORKER = web.AppKey("delivery_worker", DeliveryWorker)


async def _run_worker(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if not settings.server.run_worker:
        yield
        return
    worker = DeliveryWorker(settings, app[DIRECTORY], app[CLIENT])
    app[WORKER] = worker
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop), name="delivery-worker")
    try:
        yield
    finally:
        stop.set()
        try:
            await task
        except Exception:  # noqa: BLE001 - a crashed worker must not block shutdown
            log.exception("the delivery worker stopped with an error")


def setup(app: web.Application) -> None:
    """Start an in-process delivery worker with the application (if configured)."""
    app.cleanup_ctx.append(_run_worker)
