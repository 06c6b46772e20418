"""A database fault is a 503 with Retry-After and one log line, not a 500 with a traceback:
PostgreSQL stopped under a served application (on a cluster the test starts itself), then
started again — the same request answers again, the server never restarted."""

from __future__ import annotations

import asyncio
import logging

import pytest

from federation.app import create_app
from federation.db.lifecycle import migrate_database
from tests.pgcluster import PgCluster, cluster  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow
AP = {"Accept": "application/activity+json"}
OUTBOX = "/actors/halte-au-controle-numerique/outbox?page=1"
OUTBOX_SUMMARY = "/actors/halte-au-controle-numerique/outbox"


async def test_postgresql_stopped_is_a_503_with_retry_after_then_service_resumes(
        cluster, make_settings, aiohttp_client, caplog):
    url = await asyncio.to_thread(cluster.new_database)
    await migrate_database(url)
    client = await aiohttp_client(create_app(make_settings(
        url, server={"run_worker": False, "read_cache_seconds": 300})))
    assert (await client.get(OUTBOX, headers=AP)).status == 200
    await asyncio.to_thread(cluster.stop)
    try:
        # a prepared public answer is still served (federation.web.readcache); what needs the
        # database is a 503
        assert (await client.get(OUTBOX, headers=AP)).status == 200
        with caplog.at_level(logging.WARNING, logger="federation.web.middleware"):
            answers = [await client.get(OUTBOX_SUMMARY, headers=AP) for _ in range(3)]
    finally:
        await asyncio.to_thread(cluster.start)
    assert [a.status for a in answers] == [503] * 3
    assert all(a.headers["Retry-After"] == "30" for a in answers)
    assert await answers[0].json() == {"error": "temporarily unavailable, try again later"}
    records = [r for r in caplog.records if r.name == "federation.web.middleware"]
    assert len(records) == 3 and all(r.exc_info is None for r in records)
    assert all(r.levelno == logging.WARNING for r in records)
    async with asyncio.timeout(30):
        while (await client.get(OUTBOX_SUMMARY, headers=AP)).status != 200:
            await asyncio.sleep(0.1)
