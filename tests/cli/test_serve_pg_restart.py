"""PostgreSQL restarted, then stopped for seconds, under `federation serve` taking a steady
stream of signed inbox replies (on a cluster this test starts itself): every activity
answered 2xx ends stored and processed, none is lost, and no request is answered 500.

The senders behave as real ones do: a 5xx or 429 is retried after a short wait. While the
database is away the inbox answers 503 with ``Retry-After`` (one log line per refused request,
no traceback). An activity whose job was stored but whose attempt in the request was cut by the
fault keeps its job's lease: the engine takes it up once the lease expires (the test moves the
engine's clock past it, as ``test_serve_kill.py`` does: no sleeping for it).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from federation.db.jobs import Job, JobState
from federation.db.lifecycle import open_database
from federation.jobs.kinds import INBOX_ACTIVITY
from federation.settings import Settings
from tests.cli.test_serve_kill import (
    assert_engine_stores_every_one,
    engine,
    inbox_load_config,
    post_signed,
    seed_article,
)
from tests.inbox.conftest import (  # noqa: F401 (fixtures)
    ARTICLE,
    BRIDGE,
    Bridge,
    PeerActor,
    alice,
    create,
    make_peer,
    note,
    peer,
    peer_keys,
    sign_headers,
)
from tests.pgcluster import PgCluster, cluster, migrated_database, settled  # noqa: F401 (fixture)
from tests.serve import Served, config_port

pytestmark = pytest.mark.slow

CONCURRENCY = 8
#: 2xx answers between the faults (the stream is well under way around each).
BETWEEN_FAULTS = 120
#: How long PostgreSQL stays stopped (the outage itself, not a wait for timing).
OUTAGE_SECONDS = 6.0
#: A sender's pause before retrying a 5xx or 429 (short: it does not honour Retry-After: 30).
RETRY_PAUSE = 0.2


@pytest.fixture
def database_url(cluster: PgCluster) -> str:
    """A migrated database on the test's own cluster (not the shared server)."""
    return migrated_database(cluster)


async def test_serve_inbox_loses_nothing_across_a_postgresql_restart_and_a_stop(
        tmp_path: Path, database_url: str, ready_config: Path, settings: Settings,
        make_settings: Callable[..., Settings], aiohttp_client: Any, peer: Any,
        alice: PeerActor, cluster: PgCluster) -> None:
    config = inbox_load_config(ready_config)
    port = config_port(config)
    await seed_article(database_url, settings)

    statuses: Counter[int | None] = Counter()
    phase = "before"  # the fault under way: before, restart, stop, after
    refused: Counter[str] = Counter()  # 503 answers by phase
    missing_retry_after = 0
    sent: list[dict[str, Any]] = []
    acknowledged: set[str] = set()
    enough = asyncio.Event()  # the faults are over and the stream went on after them
    numbers = itertools.count()

    served = Served(config, port, tmp_path / "serve.log")
    await served.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:

            async def deliver(activity: dict[str, Any]) -> None:
                """Send until a 2xx, retrying 5xx/429 (and no answer) after a short pause."""
                nonlocal missing_retry_after
                for _ in range(2000):
                    status, retry_after = await post_signed(session, port, activity, alice)
                    statuses[status] += 1
                    if status == 503:
                        refused[phase] += 1
                    if status is not None and 200 <= status < 300:
                        acknowledged.add(activity["id"])
                        return
                    if status in (503, 429) and retry_after is None:
                        missing_retry_after += 1
                    await asyncio.sleep(RETRY_PAUSE)
                raise AssertionError(f"{activity['id']} never acknowledged")

            async def sender() -> None:
                while not enough.is_set():
                    n = next(numbers)
                    activity = create(alice, note(alice, n), n)
                    sent.append(activity)
                    await deliver(activity)

            async def acknowledged_more(count: int) -> None:
                target = len(acknowledged) + count
                async with asyncio.timeout(120):
                    while len(acknowledged) < target:
                        served.running()
                        await asyncio.sleep(0.05)

            async def faults() -> None:
                nonlocal phase
                try:
                    await acknowledged_more(BETWEEN_FAULTS)
                    phase = "restart"
                    await asyncio.to_thread(cluster.restart)  # pg_ctl stop -m fast, then start
                    await acknowledged_more(BETWEEN_FAULTS)
                    phase = "stop"
                    await asyncio.to_thread(cluster.stop)
                    await asyncio.sleep(OUTAGE_SECONDS)
                    await asyncio.to_thread(cluster.start)
                    await acknowledged_more(BETWEEN_FAULTS)
                    phase = "after"
                finally:
                    enough.set()

            # alice's key is fetched once, then cached (as a known sender)
            n = next(numbers)
            first = create(alice, note(alice, n), n)
            sent.append(first)
            await deliver(first)
            await asyncio.gather(faults(), *(sender() for _ in range(CONCURRENCY)))

            # the engine inside serve drains what is due (an attempt cut by the fault keeps
            # its lease: that job is not due yet, and is taken up below)
            async def due() -> int:
                return await Job.filter(kind=INBOX_ACTIVITY.name, state=JobState.PENDING,
                                        next_attempt_at__lte=datetime.now(UTC)).count()

            async with open_database(database_url):
                async with asyncio.timeout(60):
                    while await settled(due):
                        served.running()
                        await asyncio.sleep(0.2)
    finally:
        returncode = await served.stop(timeout=60)
    log = served.log()
    assert returncode == 0, log[-3000:]

    # a 2xx, a 503 with Retry-After, or a 429: never a 500, never a dropped connection
    assert set(statuses) <= {202, 503, 429}, statuses
    assert missing_retry_after == 0
    assert refused["restart"] > 0 and refused["stop"] > 0, refused  # both faults were felt
    assert refused["before"] == 0, refused
    assert len(acknowledged) == len(sent) == statuses[202]
    assert "Traceback" not in log, log[log.index("Traceback") - 500:][:4000]
    refusals = len(re.findall(r"database unavailable for POST /inbox", log))
    assert 0 < refusals <= statuses[503]
    assert "unhandled error" not in log

    # the job engine takes up the attempts the faults cut, once their lease expires
    bridge = await engine(make_settings, database_url, aiohttp_client)
    held = await Job.filter(kind=INBOX_ACTIVITY.name).exclude(state=JobState.DONE).count()
    stored = await assert_engine_stores_every_one(bridge, sent)
    print(f"\nsent {len(sent)}, requests {sum(statuses.values())}, 2xx {statuses[202]}, "
          f"503 {statuses[503]} ({refusals} logged; {dict(refused)}), 429 {statuses[429]}, "
          f"left to the engine after serve {held}, stored {stored}")

