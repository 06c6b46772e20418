"""``/healthz`` and ``/readyz``: what a process supervisor, a load balancer or an orchestrator
asks, cheaply (not NodeInfo, which counts posts).

- ``/healthz`` — the process is alive and its event loop answers: always 200, touches nothing.
- ``/readyz`` — the bridge can do its work: the database answers (``SELECT 1``, bounded by
  :data:`DATABASE_TIMEOUT`), its schema is current (no migration pending: checked once, then
  every :data:`SCHEMA_RECHECK` — another process may have migrated, or a newer release may
  have been deployed beside an old schema), and a worker was seen recently: a process
  (this one, or a ``federation worker``) whose ``delivery-worker`` and ``job-worker`` loops run
  reported in ``<data_dir>/status/`` within :data:`~federation.jobs.status.STALE_AFTER`
  (``server.ready_needs_worker = false`` drops that check when the workers run on other
  machines). 200 when every check passes, else 503; the body names each check's state. The
  answer is kept for :data:`ANSWER_FOR` so that a burst of probes costs one round of checks.

Neither says anything a stranger could use: no addresses, no database name, no error text.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from tortoise import connections

from federation.db.lifecycle import pending_migrations_here
from federation.jobs.status import read_all
from federation.settings import Settings
from federation.web.state import SETTINGS

#: The database's answer to ``SELECT 1`` must come within (seconds).
DATABASE_TIMEOUT = 2.0
#: A current schema is checked again after (seconds).
SCHEMA_RECHECK = 60.0
#: One answer serves the probes of this many seconds.
ANSWER_FOR = 1.0
#: The loops a worker runs (:mod:`federation.web.loops`).
WORKER_LOOPS = frozenset({"delivery-worker", "job-worker"})

NO_STORE = {"Cache-Control": "no-store"}


async def _database_answers() -> None:
    async with asyncio.timeout(DATABASE_TIMEOUT):
        await connections.get("default").execute_query("SELECT 1")


@dataclass
class Readiness:
    """The checks of ``/readyz`` with their small caches (one per application)."""

    settings: Settings
    clock: Callable[[], float] = time.monotonic
    database: Callable[[], Awaitable[None]] = _database_answers
    _schema_current_at: float | None = None
    _answer: tuple[float, bool, dict[str, str]] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def check(self) -> tuple[bool, dict[str, str]]:
        """``(ready, {check: state})``."""
        async with self._lock:
            now = self.clock()
            if self._answer is not None and now - self._answer[0] < ANSWER_FOR:
                return self._answer[1], self._answer[2]
            checks = {"database": await self._database(),
                      "schema": "unknown", "worker": await asyncio.to_thread(self._worker)}
            if checks["database"] == "ok":
                checks["schema"] = await self._schema(now)
            ready = all(state in ("ok", "not required") for state in checks.values())
            self._answer = (now, ready, checks)
            return ready, checks

    async def _database(self) -> str:
        try:
            await self.database()
        except TimeoutError:
            return "timeout"
        except Exception:
            return "unreachable"
        return "ok"

    async def _schema(self, now: float) -> str:
        if self._schema_current_at is not None and now - self._schema_current_at < SCHEMA_RECHECK:
            return "ok"
        try:
            pending = await pending_migrations_here(self.settings.effective_database_url)
        except Exception:
            self._schema_current_at = None
            return "unreadable"
        if pending:
            self._schema_current_at = None
            return "migrations pending"
        self._schema_current_at = now
        return "ok"

    def _worker(self) -> str:
        if not self.settings.server.ready_needs_worker:
            return "not required"
        for process in read_all(self.settings.data_dir):
            if process.stale:
                continue
            running = {loop.get("name") for loop in process.document.get("loops", [])
                       if loop.get("running")}
            if WORKER_LOOPS <= running:
                return "ok"
        return "not seen"


READINESS = web.AppKey("readiness", Readiness)

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n", headers=NO_STORE)


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    ready, checks = await request.app[READINESS].check()
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return web.Response(body=json.dumps(body).encode(), content_type="application/json",
                        status=200 if ready else 503, headers=NO_STORE)


def setup(app: web.Application) -> None:
    app[READINESS] = Readiness(app[SETTINGS])
    app.add_routes(routes)
