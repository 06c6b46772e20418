"""``backup`` and ``restore``: the data directory (``secret.key``, uploaded media) and, with
SQLite, a consistent copy of the database taken while the bridge runs.

A backup is one ``.tar.gz`` (mode 0600) holding ``manifest.json`` (format, version, when, the
database kind and the migrations applied), ``data/…`` (every file of ``data_dir`` but the
process status files and the database itself) and, with SQLite, ``database.sqlite3``: a copy
made with SQLite's online backup API, consistent even while ``serve`` and ``worker`` write.
With PostgreSQL the database is not in the archive: ``pg_dump`` is the tool (docs/deploy.md);
the archive then carries what ``pg_dump`` does not — the secret.

The archive holds ``secret.key`` with the database (the issue of a backup is a restore that
signs with the same keys): whoever has it has the actors' private keys. It is written 0600; keep
it as you keep ``secret.key``.

``restore`` refuses a data directory that already holds a secret or a database unless
``--force``; it unpacks with tarfile's ``data`` filter (no absolute path, no ``..``, no link
out of the directory, no device) into a temporary directory beside ``data_dir`` and moves each
file into place only once everything was read.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from federation.cli.context import settings_from
from federation.errors import BadRequest, Conflict, FederationError
from federation.settings import Settings

FORMAT = "federation-backup/1"
MANIFEST = "manifest.json"
DATABASE = "database.sqlite3"
DATA = "data"
#: Not backed up: what a running process writes about itself.
SKIPPED_DIRECTORIES = frozenset({"status"})


class BackupError(FederationError):
    """The backup or the restore could not be made."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = subparsers.add_parser(
        "backup", help="write the data directory and the SQLite database to one archive",
        description="Write secret.key, the rest of data_dir and (SQLite) a consistent copy of "
        "the database, taken while the bridge runs, to ARCHIVE (.tar.gz, mode 0600). With "
        "PostgreSQL, dump the database with pg_dump as well (docs/deploy.md). The archive "
        "holds the actors' private keys: keep it as secret as secret.key.",
    )
    backup.add_argument("archive", type=Path, help="the file to write (refused if it exists)")
    backup.set_defaults(handler=cmd_backup)

    restore = subparsers.add_parser(
        "restore", help="put a backup's data directory (and SQLite database) back",
        description="Restore secret.key, the data directory's files and (SQLite) the database "
        "from ARCHIVE into the configured data_dir. Refused when data_dir already holds a "
        "secret or a database, unless --force. Then run `federation migrate` and start.",
    )
    restore.add_argument("archive", type=Path, help="a file written by `federation backup`")
    restore.add_argument("--force", action="store_true",
                         help="replace the secret and the database already in data_dir "
                              "(default: refuse)")
    restore.set_defaults(handler=cmd_restore)


def _sqlite_path(settings: Settings) -> Path | None:
    url = settings.effective_database_url
    if not url.startswith("sqlite://"):
        return None
    return Path(url.removeprefix("sqlite://").split("?", 1)[0])


def _package_version() -> str:
    try:
        return version("federation")
    except PackageNotFoundError:
        return "unknown"


def _sqlite_snapshot(source: Path, target: Path) -> list[str]:
    """Copy ``source`` to ``target`` with the online backup API; the migrations applied."""
    if not source.exists():
        raise BackupError(f"the database {source} does not exist: nothing to back up")
    origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            origin.backup(copy)
            try:
                rows = copy.execute("SELECT app, name FROM tortoise_migrations "
                                    "ORDER BY applied_at, app, name").fetchall()
            except sqlite3.Error:
                rows = []
        finally:
            copy.close()
    finally:
        origin.close()
    return [f"{app}.{name}" for app, name in rows]


def _data_files(data_dir: Path, database: Path | None) -> list[Path]:
    skipped = {database.resolve()} if database is not None else set()
    if database is not None:  # SQLite's journals beside the database
        skipped |= {Path(f"{database.resolve()}{suffix}") for suffix in ("-wal", "-shm",
                                                                          "-journal")}
    files = []
    for path in sorted(data_dir.rglob("*")):
        relative = path.relative_to(data_dir)
        if relative.parts[0] in SKIPPED_DIRECTORIES or path.resolve() in skipped:
            continue
        if path.is_file() and not path.is_symlink():
            files.append(path)
    return files


def write_backup(settings: Settings, archive: Path) -> dict[str, Any]:
    """Write ``archive``; return its manifest."""
    data_dir = settings.data_dir
    database = _sqlite_path(settings)
    if not (data_dir / "secret.key").exists():
        raise BackupError(f"{data_dir / 'secret.key'} does not exist: nothing worth a backup "
                          "(is data_dir right?)")
    try:
        fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Conflict(f"{archive} exists already: choose another name") from None
    except OSError as error:
        raise BackupError(f"cannot write {archive}: {error.strerror}") from None
    try:
        with tempfile.TemporaryDirectory(prefix="federation-backup-") as scratch:
            manifest: dict[str, Any] = {
                "format": FORMAT, "version": _package_version(),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "database": "sqlite" if database is not None else "postgresql",
                "migrations": [], "files": [],
            }
            with os.fdopen(fd, "wb") as handle, \
                    tarfile.open(fileobj=handle, mode="w:gz") as tar:
                if database is not None:
                    snapshot = Path(scratch) / DATABASE
                    manifest["migrations"] = _sqlite_snapshot(database, snapshot)
                    tar.add(snapshot, arcname=DATABASE)
                for path in _data_files(data_dir, database):
                    name = f"{DATA}/{path.relative_to(data_dir).as_posix()}"
                    tar.add(path, arcname=name)
                    manifest["files"].append(name)
                body = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(body), int(datetime.now(UTC).timestamp()), 0o600
                tar.addfile(info, io.BytesIO(body))
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        archive.unlink(missing_ok=True)
        raise
    return manifest


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    try:
        member = tar.extractfile(MANIFEST)
        manifest = json.loads(member.read()) if member is not None else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadRequest(f"{archive} is not a backup written by `federation backup`")
    return manifest


def restore_backup(settings: Settings, archive: Path, *, force: bool) -> dict[str, Any]:
    """Put ``archive`` back into ``settings.data_dir``; return its manifest."""
    data_dir = settings.data_dir
    database = _sqlite_path(settings)
    occupied = [path for path in (data_dir / "secret.key", database)
                if path is not None and path.exists() and path.stat().st_size > 0]
    if occupied and not force:
        raise Conflict(f"{', '.join(str(p) for p in occupied)} exist(s) already: restoring "
                       "would replace them (use --force, after a backup of them)")
    try:
        tar = tarfile.open(archive, mode="r:gz")
    except (OSError, tarfile.TarError) as error:
        raise BadRequest(f"{archive} cannot be read as a backup: {error}") from None
    with tar, tempfile.TemporaryDirectory(prefix=".restore-", dir=_parent(data_dir)) as scratch:
        manifest = _read_manifest(tar, archive)
        if manifest["database"] == "sqlite" and database is None:
            raise BadRequest("this backup holds a SQLite database but database_url names "
                             "PostgreSQL: restore it with a SQLite database_url, or move the "
                             "data with pg_restore")
        try:
            tar.extractall(scratch, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise BadRequest(f"{archive} cannot be unpacked safely: {error}") from None
        unpacked = Path(scratch)
        if not (unpacked / DATA / "secret.key").is_file():
            raise BadRequest(f"{archive} holds no secret.key")
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path in sorted((unpacked / DATA).rglob("*")):
            if path.is_file():
                target = data_dir / path.relative_to(unpacked / DATA)
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.replace(path, target)
        os.chmod(data_dir / "secret.key", 0o600)
        if database is not None and (unpacked / DATABASE).is_file():
            for suffix in ("-wal", "-shm", "-journal"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
            database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.move(unpacked / DATABASE, database)
    return manifest


def _parent(data_dir: Path) -> Path:
    parent = data_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    return parent


async def cmd_backup(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    manifest = await asyncio.to_thread(write_backup, settings, args.archive)
    print(f"wrote {args.archive}: secret.key and {len(manifest['files']) - 1} other file(s) "
          f"of {settings.data_dir}"
          + (f", the SQLite database ({len(manifest['migrations'])} migrations applied)"
             if manifest["database"] == "sqlite" else ""))
    if manifest["database"] == "postgresql":
        print("the PostgreSQL database is not in the archive: dump it too, e.g. "
              "`pg_dump --format=custom --file=federation.dump DATABASE` (docs/deploy.md)")
    print("this archive holds the actors' private keys: keep it as secret as secret.key")
    return 0


async def cmd_restore(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    manifest = await asyncio.to_thread(restore_backup, settings, args.archive, force=args.force)
    print(f"restored {len(manifest['files'])} file(s) into {settings.data_dir}"
          + (" and the SQLite database" if manifest["database"] == "sqlite" else "")
          + f" from a backup of {manifest['created_at']} (version {manifest['version']})")
    if manifest["database"] == "postgresql":
        print("restore the PostgreSQL dump taken with it (pg_restore), then run "
              "`federation migrate`")
    else:
        print("next: `federation migrate` (a no-op when the schema is current), then start")
    return 0
