"""`federation worker` outlives its database: PostgreSQL restarted, then stopped for a while,
under a running worker process (on a cluster this test starts itself) — the worker stays up,
logs the fault in one line per attempt (no traceback), and delivers everything once the
database is back. Before supervision it exited 1 within a second of the restart."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from federation.db.delivery import DeliveryState
from federation.settings import Settings
from tests.cli.test_worker_processes import bench, count, until
from tests.pgcluster import PgCluster, cluster, migrated_database, settled  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow


@pytest.fixture
def database_url(cluster: PgCluster) -> str:
    """A migrated database on the test's own cluster (not the shared server)."""
    return migrated_database(cluster)


async def _delivered() -> int:
    """Delivered rows, read again after the test's own connection broke with the server."""
    return await settled(lambda: count(DeliveryState.DELIVERED))


async def test_worker_survives_a_postgresql_restart_and_a_stop(
        tmp_path: Path, database_url: str, ready_config: Path, settings: Settings,
        cluster: PgCluster) -> None:
    async with bench(tmp_path, ready_config, database_url, settings, servers=2,
                     delay=0.02) as setup:
        setup.gate.open()
        worker = await setup.start("worker")
        await worker.owner()
        sent = len(await setup.send(100))

        async def all_delivered() -> bool:
            return await _delivered() == sent

        async def some_delivered() -> bool:  # the fan-out is under way
            return await _delivered() >= 20

        await until(some_delivered, "the first deliveries", worker)
        await asyncio.to_thread(cluster.restart)  # mid-fan-out
        await until(all_delivered, "the first deliveries, after the restart", worker)
        sent += len(await settled(lambda: setup.send(3)))  # the test's pool reconnects too
        await until(all_delivered, "the deliveries after the restart", worker)

        before = len(worker.output())
        first = sent
        sent += len(await settled(lambda: setup.send(100)))  # the test's pool reconnects too

        async def under_way() -> bool:
            return await _delivered() >= first + 20

        await until(under_way, "the next fan-out", worker)
        await asyncio.to_thread(cluster.stop)  # mid-fan-out, for a while

        async def noticed() -> bool:
            text = worker.output()[before:]
            return text.count("database or disk fault") + text.count("Errno") >= 3

        await until(noticed, "the worker to notice the database is gone", worker)
        worker.check_alive()
        await asyncio.to_thread(cluster.start)
        sent += len(await settled(lambda: setup.send(3)))  # the test's pool reconnects too
        await until(all_delivered, "the deliveries after the stop", worker)
        assert await worker.stop(signal.SIGTERM) == 0
        output = worker.output()
    assert "Traceback" not in output
    received = {(i.host, r.path, r.activity_id) for i in setup.inboxes for r in i.received}
    # every activity reached every inbox; a request in flight when the database went away
    # may be sent again after its lease (at least once: receivers de-duplicate on the id)
    assert len(received) == sent and setup.refused() == []
