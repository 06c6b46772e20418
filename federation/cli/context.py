"""What every command needs: the settings, and the database with the actor directory — or,
for the commands that send or publish, the process's services (:mod:`federation.services`).

The database, ORM and key modules are imported when a command needs them, so that ``--help``
and ``check-config`` start fast.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from federation.settings import Settings, load_settings

if TYPE_CHECKING:
    from federation.identity.directory import ActorDirectory
    from federation.services import Services


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


async def require_migrated(settings: Settings) -> None:
    from federation.db.lifecycle import DatabaseError, pending_migrations

    url = settings.effective_database_url
    if url.startswith("sqlite://") and ":memory:" not in url:
        path = Path(url.removeprefix("sqlite://").split("?", 1)[0])
        if not path.exists():  # noqa: ASYNC240 - once, before the database opens
            raise DatabaseError(
                f"the database {path} does not exist yet: run `federation migrate` first"
            )
    pending = await pending_migrations(url)
    if pending:
        raise DatabaseError(
            f"the database needs {len(pending)} migration(s) ({', '.join(pending)}): "
            "run `federation migrate` first"
        )


@asynccontextmanager
async def opened(settings: Settings, *, sync: bool = True) -> AsyncIterator[ActorDirectory]:
    """Open the database (refusing an unmigrated one) and load the actor directory."""
    from federation.db.lifecycle import open_database
    from federation.identity.directory import ActorDirectory, open_vault

    await require_migrated(settings)
    async with open_database(settings.effective_database_url):
        directory = ActorDirectory(settings, open_vault(settings.data_dir))
        if sync:
            await directory.sync()
        else:
            await directory.load()
        yield directory


@asynccontextmanager
async def services_for(settings: Settings, *, sync: bool = True) -> AsyncIterator[Services]:
    """The composition root's services (database, directory, client, publisher, receiver:
    :func:`federation.services.open_services`), refusing an unmigrated database."""
    from federation.services import open_services

    await require_migrated(settings)
    async with open_services(settings, sync=sync) as services:
        yield services
