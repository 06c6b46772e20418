"""SQLite's "database or disk is full" on a real, small filesystem (a tmpfs the test mounts):
the supervised job worker backs off while the disk is full and finishes the work by itself
once space comes back. Before supervision the loop died and stayed dead."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from federation.db.jobs import Job, JobState
from federation.db.lifecycle import open_database
from federation.jobs import store
from federation.jobs.policy import Curve, RetryPolicy
from federation.jobs.store import ClaimedJob
from federation.jobs.supervisor import LoopStatus
from federation.jobs.worker import JobKind, Result, Task, Worker
from federation.web.background import background

pytestmark = pytest.mark.slow
KIND = JobKind("test.bulky", per_key=50, lease=timedelta(seconds=1))
FAST = RetryPolicy(max_attempts=None, curve=Curve.EXPONENTIAL, first=0.05, cap=0.2)
PATIENCE = 30.0


@pytest.fixture
def small_disk(sqlite_template: Path) -> Iterator[Path]:
    """A tmpfs a little larger than a migrated database (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = Path(tempfile.mkdtemp(prefix="fedfull-"))
    size = sqlite_template.stat().st_size + 8_000_000
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                       check=True, capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        shutil.rmtree(mount, ignore_errors=True)
        pytest.skip(f"cannot mount a tmpfs here: {error}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        shutil.rmtree(mount, ignore_errors=True)


def _fill(directory: Path) -> Path:
    """A file taking every free byte of ``directory``'s filesystem."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as file:
        for chunk in (65536, 512):
            with contextlib.suppress(OSError):
                while True:
                    file.write(b"\0" * chunk)
    return filler


async def test_the_worker_waits_out_a_full_disk_and_resumes(small_disk: Path, sqlite_template):
    path = small_disk / "bridge.sqlite3"
    shutil.copyfile(sqlite_template, path)
    async with open_database(f"sqlite://{path}"):
        for n in range(40):
            await store.enqueue(KIND.name, {"n": n}, key=f"h{n}", at=store_now())

        async def handle(job: ClaimedJob) -> Result:  # every result is a large row
            return Result.done(payload={"n": job.payload["n"], "report": "x" * 5_000})

        filler = await asyncio.to_thread(_fill, small_disk)
        status = LoopStatus("job-worker")
        worker = Worker([Task(KIND, handle)], concurrency=4, poll_interval=0.01)
        async with background("job-worker", worker.run, status=status, policy=FAST, grace=5):
            async with asyncio.timeout(PATIENCE):
                while status.restarts < 2:
                    await asyncio.sleep(0.01)
            assert "full" in status.last_error
            filler.unlink()  # space comes back
            async with asyncio.timeout(PATIENCE):
                while await Job.filter(state=JobState.DONE).count() < 40:
                    await asyncio.sleep(0.05)
            assert status.running
        assert await Job.exclude(state=JobState.DONE).count() == 0


def store_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)
