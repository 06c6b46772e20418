"""Opening, migrating and closing the database.

The bridge uses one :class:`tortoise.context.TortoiseContext` per process, opened by
:func:`open_database` and registered as tortoise's fallback context so that every task of the
aiohttp server and of the workers sees it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext
from tortoise.exceptions import BaseORMException
from tortoise.migrations.executor import MigrationExecutor

from federation.db import tortoise_config
from federation.errors import FederationError

log = logging.getLogger(__name__)


class DatabaseError(FederationError):
    """The database could not be opened or migrated."""

    http_status = 503


def shown_url(database_url: str) -> str:
    """``database_url`` as an error message may show it: without its password."""
    parts = urlsplit(database_url)
    if parts.password is None:
        return database_url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


@asynccontextmanager
async def open_database(database_url: str) -> AsyncIterator[TortoiseContext]:
    """Connect to ``database_url`` for the duration of the block."""
    # tortoise caches prepared INSERTs per (connection name, table), not per dialect: a process
    # that opens SQLite then PostgreSQL (the test suite) must not reuse '?' placeholders.
    EXECUTOR_CACHE.clear()
    context = TortoiseContext()
    threads = set(threading.enumerate())
    try:
        with context:  # current only while initialising; then the global fallback serves
            await context.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    except (BaseORMException, OSError) as error:
        await context.close_connections()
        await _settle_sqlite_threads(threads)
        raise DatabaseError(f"cannot open the database {shown_url(database_url)} "
                            f"(database_url): {error}") from error
    try:
        yield context
    except BaseException:
        await context.close_connections()
        await _settle_sqlite_threads(threads)
        raise
    finally:
        await context.close_connections()


#: How long a failed SQLite connection's thread gets to stop (it stops at once).
SETTLE_SECONDS = 2.0


async def _settle_sqlite_threads(before: set[threading.Thread]) -> None:
    """Wait, while the event loop still runs, for the threads of SQLite connections opened
    since ``before`` to end. aiosqlite stops the thread of a connection that failed to open
    (a directory or an unreadable file where the database should be) without waiting for it;
    if the loop closes first (the CLI exits with its one-line message), the thread dies with
    a traceback ("Event loop is closed") on stderr."""
    for thread in set(threading.enumerate()) - before:
        if "_connection_worker_thread" in thread.name and thread.is_alive():
            await asyncio.to_thread(thread.join, SETTLE_SECONDS)


def _executor(context: TortoiseContext, database_url: str) -> MigrationExecutor:
    apps = tortoise_config(database_url)["apps"]
    return MigrationExecutor(context.connections.get("default"), apps)


async def migrate_database(database_url: str) -> list[str]:
    """Apply every pending migration; return the names applied (``app.name``)."""
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")
            log.info("applied migration %s.%s", app_label, name)

    async with open_database(database_url) as context:
        try:
            await _executor(context, database_url).migrate(progress=progress)
        except (BaseORMException, OSError) as error:
            raise DatabaseError(f"cannot migrate the database {shown_url(database_url)} "
                                f"(database_url): {error}") from error
    return applied


async def pending_migrations_here(database_url: str) -> list[str]:
    """The migrations not yet applied, read through the database this process has open
    (:func:`open_database`'s fallback context), without opening another connection."""
    from tortoise import connections

    executor = MigrationExecutor(connections.get("default"),
                                 tortoise_config(database_url)["apps"])
    try:
        steps = await executor.plan()
    except BaseORMException as error:
        raise DatabaseError(f"cannot read the migration state: {error}") from error
    return [f"{s.migration.app_label}.{s.migration.name}" for s in steps if not s.backward]


async def pending_migrations(database_url: str) -> list[str]:
    """The migrations not yet applied to ``database_url`` (``app.name``)."""
    async with open_database(database_url) as context:
        executor = _executor(context, database_url)
        try:
            await executor.recorder.ensure_schema(executor._schema_editor(atomic=False))
            steps = await executor.plan()
        except (BaseORMException, OSError) as error:
            raise DatabaseError(f"cannot read the migration state of {shown_url(database_url)} "
                                f"(database_url): {error}") from error
    return [f"{s.migration.app_label}.{s.migration.name}" for s in steps if not s.backward]
