"""`federation status`: the supervised loops' status, as each running process publishes it in
``<data_dir>/status/``; exit 0 only when a process reported recently and all its loops run."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from federation.cli import main
from federation.jobs.status import STALE_AFTER, StatusFile, read_all, verdict
from federation.jobs.supervisor import Statuses
from tests.cli.conftest import clean_env, run_cli


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _statuses(clock: Clock) -> Statuses:
    statuses = Statuses()
    for name in ("delivery-worker", "job-worker"):
        status = statuses.loop(name)
        status.clock = clock
        status.running = True
        status.succeeded()
    return statuses


def test_status_file_round_trip_and_verdict(tmp_path: Path) -> None:
    clock = Clock()
    statuses = _statuses(clock)
    file = StatusFile(tmp_path, "worker", statuses, clock=clock)
    assert read_all(tmp_path, clock.now) == [] and verdict([]).startswith("no bridge process")
    file.write()
    (processes,) = read_all(tmp_path, clock.now)
    assert processes.document["process"] == "worker" and not processes.stale
    assert [(loop["name"], loop["running"], loop["last_success_at"])
            for loop in processes.document["loops"]] == [
        ("delivery-worker", True, clock.now.isoformat()), ("job-worker", True, clock.now.isoformat())]
    assert verdict([processes]) == ""

    job = statuses.loop("job-worker")  # the database went away: the loop waits to restart
    job.running, job.restarts = False, 3
    job.failed(OSError("connection refused"))
    file.write()
    (processes,) = read_all(tmp_path, clock.now)
    assert "job-worker" in verdict([processes])
    assert processes.failing[0]["last_error"] == "OSError: connection refused"

    job.running = True
    file.write()
    (processes,) = read_all(tmp_path, clock.now + STALE_AFTER + timedelta(seconds=1))
    assert processes.stale and verdict([processes]).startswith("no bridge process")
    (tmp_path / "status" / "half.json").write_text('{"process": "serve", "writ')  # skipped
    assert len(read_all(tmp_path, clock.now)) == 1
    file.remove()
    file.remove()  # idempotent
    assert read_all(tmp_path, clock.now) == []


def test_status_command_reads_the_files(tmp_path: Path, write_config: Callable[..., Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config()
    data = tmp_path / "data"
    assert main(["--config", str(config), "status"]) == 1  # no process, no directory even
    assert "no bridge process reported" in capsys.readouterr().err

    statuses = _statuses(Clock())
    failed = statuses.loop("job-worker")
    failed.failed(OSError("database is locked"))
    data.mkdir()
    file = StatusFile(data, "serve", statuses)
    file.write()
    assert main(["--config", str(config), "status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("serve pid ") and "delivery-worker  running" in out
    assert "last error" in out and "OSError: database is locked" in out

    failed.running = False
    file.write()
    assert main(["--config", str(config), "status", "--json"]) == 1
    captured = capsys.readouterr()
    (line,) = captured.out.splitlines()
    document = json.loads(line)
    assert document["process"] == "serve" and document["stale"] is False
    assert {loop["name"]: loop["running"] for loop in document["loops"]} == {
        "delivery-worker": True, "job-worker": False}
    assert "job-worker" in captured.err and "Traceback" not in captured.err


@pytest.mark.slow
def test_running_worker_publishes_its_loops_and_removes_the_file_on_stop(
        tmp_path: Path, ready_config: Path, database_url: str) -> None:
    """A real `federation worker`: while it runs, `federation status` shows its four loops
    running (exit 0); after SIGTERM its file is gone and the status says so (exit 1)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the same on PostgreSQL: the status file does not touch the database")
    import subprocess

    process = subprocess.Popen(
        [sys.executable, "-m", "federation", "--config", str(ready_config), "worker"],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not list((tmp_path / "data" / "status").glob("worker-*.json")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no status file within 30 s"
            time.sleep(0.1)
        result = run_cli("--config", str(ready_config), "status", "--json", cwd=tmp_path)
        assert result.returncode == 0, result
        (document,) = [json.loads(line) for line in result.stdout.splitlines()]
        assert document["process"] == "worker" and document["pid"] == process.pid
        assert {loop["name"]: loop["running"] for loop in document["loops"]} == {
            "delivery-worker": True, "job-worker": True, "key-refresh": True,
            "status-file": True}
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert list((tmp_path / "data" / "status").glob("*.json")) == []
    result = run_cli("--config", str(ready_config), "status", cwd=tmp_path)
    assert result.returncode == 1 and "no bridge process reported" in result.stderr


def test_loops_write_the_file_while_running(tmp_path: Path) -> None:
    """In-process: Loops.running() writes the file at once (every loop started) and removes it
    after the loops stopped."""
    from federation.web.loops import Loops

    class Settings:
        data_dir = tmp_path

    class Directory:
        async def refresh_if_stale(self) -> None:
            return None

    class Services:
        settings = Settings()
        directory = Directory()

    async def scenario() -> None:
        loops = Loops(Services(), work=False, process="serve")  # type: ignore[arg-type]
        async with loops.running():
            for _ in range(200):
                if loops.status_file.path.exists():
                    break
                await asyncio.sleep(0.01)
            (process,) = read_all(tmp_path)
            assert {loop["name"]: loop["running"] for loop in process.document["loops"]} == {
                "key-refresh": True, "status-file": True}
        assert not loops.status_file.path.exists()

    asyncio.run(scenario())
