"""`federation worker` polls feeds beside the delivery worker; `deliveries --purge` purges."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from federation.cli.delivery import feed_poller, run_worker
from federation.settings import Settings
from tests.cli.conftest import run_cli


def test_worker_help_shows_no_feeds(tmp_path: Path) -> None:
    """`federation worker --help` documents feed polling and --no-feeds."""
    result = run_cli("worker", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--no-feeds" in result.stdout and "feeds" in result.stdout


def test_deliveries_help_shows_purge(tmp_path: Path) -> None:
    """`federation deliveries --help` documents --purge."""
    result = run_cli("deliveries", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "--purge" in result.stdout


class StubWorker:
    """A delivery worker that notes the tasks running beside it, then stops."""

    tasks: set[str]

    async def run_forever(self, stop: asyncio.Event) -> None:
        await asyncio.sleep(0)
        self.tasks = {task.get_name() for task in asyncio.all_tasks()}
        stop.set()


async def test_run_worker_polls_feeds_beside_deliveries(tmp_path: Path,
                                                        make_settings: Callable[..., Settings]) -> None:
    """The feed poller runs while the worker runs, is stopped with it, and --no-feeds omits it."""
    settings = make_settings(f"sqlite://{tmp_path / 'unused.sqlite3'}",
                             site={"name": "S", "home_page": "https://site.example/",
                                   "language": "en", "timezone": "America/Montreal"})
    poller = feed_poller(settings, None, None)  # type: ignore[arg-type]
    assert (poller._language, poller._timezone) == ("en", "America/Montreal")
    worker = StubWorker()
    await run_worker(worker, poller, asyncio.Event())  # type: ignore[arg-type]
    assert "feed-poller" in worker.tasks
    assert not any(t.get_name() == "feed-poller" for t in asyncio.all_tasks())
    await run_worker(worker, None, asyncio.Event())  # type: ignore[arg-type]
    assert "feed-poller" not in worker.tasks


def test_deliveries_purge(tmp_path: Path, ready_config: Path) -> None:
    """`federation deliveries --purge --json` reports what it deleted (nothing on a new queue)."""
    result = run_cli("--config", str(ready_config), "deliveries", "--purge", "--json",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0]) == {
        "purged": {"deliveries": 0, "fanouts": 0, "hosts": 0}}
