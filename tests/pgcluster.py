"""A PostgreSQL cluster of a test's own (initdb, pg_ctl) that the test may stop and restart.

Started from ``/usr/lib/postgresql/*/bin`` into a temporary directory on a free port (as the
``postgres`` user when the tests run as root: initdb refuses root). Tests that need one skip
when the binaries are missing.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest

T = TypeVar("T")


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """One cluster: :meth:`start`, :meth:`stop`, :meth:`restart`; ``url(name)``."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin")
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="fedpg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._user: str | None = None
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root without a postgres user: initdb cannot run")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._user = "postgres"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, name: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def new_database(self) -> str:
        name = f"fed_{uuid.uuid4().hex[:8]}"

        async def create() -> None:
            connection = await asyncpg.connect(self.url().replace("postgresql", "postgres", 1))
            try:
                await connection.execute(f'CREATE DATABASE "{name}"')
            finally:
                await connection.close()

        asyncio.run(create())
        return self.url(name)

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    """The module's own cluster, started once and removed after its last test."""
    own = PgCluster()
    own.start()
    try:
        yield own
    finally:
        own.remove()


def migrated_database(cluster: PgCluster) -> str:
    """A new database on ``cluster``, migrated (not the shared server)."""
    from federation.db.lifecycle import migrate_database

    url = cluster.new_database()
    asyncio.run(migrate_database(url))
    return url


async def settled(call: Callable[[], Awaitable[T]], *, attempts: int = 100) -> T:
    """``await call()`` once the test's own pool reaches the database again (a database fault
    is retried every 0.1 s; anything else, or the last fault, is raised)."""
    from federation.db.faults import is_database_fault

    for attempt in range(attempts):
        try:
            return await call()
        except Exception as error:
            if not is_database_fault(error) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("unreachable")
