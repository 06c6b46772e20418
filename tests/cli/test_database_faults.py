"""A command whose database is away, locked or not a database prints one line and exits 1:
no traceback (neither the command's nor one of a thread dying after it).

SQLite: a directory, or a file that is no database, where the database should be; the
database locked by another writer. PostgreSQL: a URL pointing at a closed port on 127.0.0.1.
Before: ``moderation list`` on a directory printed aiosqlite's thread dying ("Event loop is
closed") after the message, and a file that is no database was a traceback.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import free_port, run_cli

COMMANDS = [["moderation", "list"], ["feeds", "list"], ["deliveries"], ["feeds", "poll"]]


def _one_line(result: object, *needles: str) -> None:
    returncode, stderr = result.returncode, result.stderr  # type: ignore[attr-defined]
    assert returncode == 1, result
    assert "Traceback" not in stderr and "Exception in thread" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip() and " INFO " not in line]
    assert len(lines) == 1 and lines[0].startswith("federation: "), stderr
    assert any(needle in lines[0] for needle in needles), lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("where", ["directory", "not-a-database"])
def test_sqlite_database_that_cannot_be_opened(tmp_path: Path,
                                               write_config: Callable[..., Path],
                                               command: list[str], where: str) -> None:
    config = write_config()
    path = tmp_path / "data" / "federation.sqlite3"
    path.parent.mkdir()
    if where == "directory":
        path.mkdir()
    else:
        path.write_bytes(b"these are not the bytes of a database\n" * 200)
    result = run_cli("--config", str(config), *command, cwd=tmp_path)
    _one_line(result, "unable to open database file", "file is not a database")


@pytest.mark.slow
def test_sqlite_database_locked_by_another_writer(tmp_path: Path,
                                                  write_config: Callable[..., Path],
                                                  sqlite_template: Path) -> None:
    """Another process holds the write lock past the busy timeout (about 10 s)."""
    config = write_config()
    path = tmp_path / "data" / "federation.sqlite3"
    path.parent.mkdir()
    shutil.copyfile(sqlite_template, path)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        result = run_cli("--config", str(config), "tokens", "create", "cms", cwd=tmp_path)
    finally:
        holder.close()
    _one_line(result, "database is locked")
    assert "the database is unavailable" in result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_postgresql_unreachable(tmp_path: Path, write_config: Callable[..., Path],
                                command: list[str]) -> None:
    """One line that names the setting to check, never the password."""
    port = free_port()  # nothing listens there
    config = write_config(
        database_url=f"postgresql://postgres:hunter2secret@127.0.0.1:{port}/federation")
    result = run_cli("--config", str(config), *command, cwd=tmp_path)
    _one_line(result, f"127.0.0.1', {port}", "Connect call failed", "unavailable")
    assert "database_url" in result.stderr
    assert "hunter2secret" not in result.stderr
