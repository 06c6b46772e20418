"""What every command needs: the settings, and the database with the actor directory — or,
for the commands that send or publish, the process's services (:mod:`federation.services`).

The database, ORM and key modules are imported when a command needs them, so that ``--help``
and ``check-config`` start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from federation.logs import use_format
from federation.settings import Settings, load_settings

if TYPE_CHECKING:
    from federation.identity.directory import ActorDirectory
    from federation.services import Services


#: Top-level names reserved for tests and documentation (RFC 2606, RFC 6761): never public.
SPECIAL_USE_TLDS = frozenset({"test", "example", "invalid", "localhost"})


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of ``--config``; the process's log takes their ``[log] format``."""
    settings = load_settings(args.config)
    use_format(settings.log.format)
    return settings


async def loopback_fetch_problem(settings: Settings) -> str | None:
    """Why ``allow_loopback_fetch`` may not be used with this ``base_url``, or ``None``.

    The setting lets the outbound client reach 127.0.0.0/8 and ::1: anyone who names such an
    address in an activity could make a production bridge talk to the services of its own
    machine. It is meant for development and tests, where the bridge's own public name is on
    loopback too. So with an https ``base_url`` its host must be a special-use name that no
    public site can have (RFC 6761/2606: ``.test``, ``.example``, ``.invalid``, ``.localhost``)
    or resolve to loopback addresses only (a test behind a local TLS proxy); any other name —
    public or unresolvable — is refused.
    """
    from federation.remote.addresses import is_loopback, parse_ip

    if not settings.allow_loopback_fetch:
        return None
    parts = urlsplit(settings.base_url)
    if parts.scheme != "https":
        return None  # the settings accept http only for a loopback base_url
    host = (parts.hostname or "").rstrip(".").lower()
    if host == "localhost" or host.rsplit(".", 1)[-1] in SPECIAL_USE_TLDS:
        return None
    addresses = set()
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        infos = []
    for info in infos:
        address = parse_ip(str(info[4][0]))
        if address is not None:
            addresses.add(address)
    if addresses and all(is_loopback(address) for address in addresses):
        return None
    return (f"allow_loopback_fetch = true is refused with the https base_url {settings.base_url}"
            f" ({host} is not a loopback name): it would let any activity make this bridge "
            "reach the services of its own machine; it is for development and tests on "
            "loopback only — remove it from the configuration")


async def preflight(settings: Settings) -> None:
    """What ``serve`` and ``worker`` check before they start: a migrated database and no
    unsafe ``allow_loopback_fetch``."""
    await check_loopback_fetch(settings)
    await require_migrated(settings)


async def check_loopback_fetch(settings: Settings) -> None:
    """:class:`ConfigError` when :func:`loopback_fetch_problem` finds one."""
    from federation.errors import ConfigError, Problem

    problem = await loopback_fetch_problem(settings)
    if problem:
        raise ConfigError(settings.source, [Problem("allow_loopback_fetch", problem)])


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
