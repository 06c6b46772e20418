"""The status of a process's supervised loops, published where ``federation status`` reads it.

Each ``serve`` and ``federation worker`` writes, every :data:`WRITE_EVERY`, one JSON file in
``<data_dir>/status/`` (:func:`write`: atomic rename): the process (``serve``/``worker``), its
pid, when it started and wrote, and per loop what :class:`~federation.jobs.supervisor.LoopStatus`
keeps (running or waiting to restart, restarts, the last error and when, the last success). The
file is removed when the process stops cleanly; one left by a killed process goes stale (not
rewritten for :data:`STALE_AFTER`). It is a file, not a row, so that a process reports its
database being away (then its loops are restarting, their last error says why).

:func:`read_all` reads every file; :func:`verdict` is what ``federation status`` exits with:
healthy when at least one process wrote recently and every loop of every such process runs.
Per machine: processes on other machines (with their own data directory) are not seen.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from federation.jobs.supervisor import Statuses

DIRECTORY = "status"
#: Seconds between two writes of a process's status file.
WRITE_EVERY = 15.0
#: A file not rewritten for this long belongs to a process that is gone (or hung).
STALE_AFTER = timedelta(seconds=60)


def _now() -> datetime:
    return datetime.now(UTC)


class StatusFile:
    """The status file of this process (``<data_dir>/status/<process>-<pid>-<random>.json``)."""

    def __init__(self, data_dir: Path, process: str, statuses: Statuses, *,
                 clock: Callable[[], datetime] = _now) -> None:
        self.process = process
        self.path = Path(data_dir) / DIRECTORY / \
            f"{process}-{os.getpid()}-{uuid.uuid4().hex[:6]}.json"
        self._statuses = statuses
        self._clock = clock
        self._started_at = clock()

    def document(self) -> dict[str, Any]:
        return {"process": self.process, "pid": os.getpid(),
                "started_at": self._started_at.isoformat(), "written_at": self._clock().isoformat(),
                "loops": [status.to_json() for status in self._statuses.all()]}

    def write(self) -> None:
        """Write the file (atomically: a reader never sees half of it)."""
        self.path.parent.mkdir(mode=0o700, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(self.document(), ensure_ascii=False), encoding="utf-8")
        partial.replace(self.path)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@dataclass(frozen=True)
class ProcessStatus:
    """One status file as read back."""

    path: Path
    document: dict[str, Any]
    age: timedelta

    @property
    def stale(self) -> bool:
        return self.age > STALE_AFTER

    @property
    def failing(self) -> list[dict[str, Any]]:
        """Its loops that are not running (waiting to restart after a failure)."""
        return [loop for loop in self.document.get("loops", []) if not loop.get("running")]


def read_all(data_dir: Path, now: datetime | None = None) -> list[ProcessStatus]:
    """Every status file under ``data_dir`` (unreadable or half-written ones skipped)."""
    now = now or _now()
    found = []
    for path in sorted((Path(data_dir) / DIRECTORY).glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            written = datetime.fromisoformat(document["written_at"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found.append(ProcessStatus(path, document, now - written))
    return found


def verdict(processes: list[ProcessStatus]) -> str:
    """Why the bridge is not healthy, or ``""`` when it is."""
    live = [p for p in processes if not p.stale]
    if not live:
        return (f"no bridge process reported in the last {int(STALE_AFTER.total_seconds())} s "
                "(is `serve` or `federation worker` running with this data_dir?)")
    failing = [f"{p.document.get('process')} {p.document.get('pid')}: {loop.get('name')}"
               for p in live for loop in p.failing]
    if failing:
        return "loops waiting to restart after a failure: " + ", ".join(failing)
    return ""
