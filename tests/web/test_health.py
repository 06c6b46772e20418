"""/healthz and /readyz: alive vs able to work (database, schema, a worker seen recently)."""

from __future__ import annotations

import asyncio

import pytest
from tortoise import connections

from federation.app import create_app
from federation.db.lifecycle import migrate_database
from federation.web import health
from federation.web.health import READINESS
from tests.pgcluster import PgCluster, cluster  # noqa: F401 (fixture)


async def _ready(client, *, timeout: float = 20.0) -> dict:
    """Poll /readyz until 200 (the worker's first status file is written as it starts)."""
    async with asyncio.timeout(timeout):
        while True:
            answer = await client.get("/readyz")
            if answer.status == 200:
                return await answer.json()
            await asyncio.sleep(0.1)


async def test_ready_with_its_own_worker(make_settings, database_url, aiohttp_client):
    client = await aiohttp_client(create_app(make_settings(database_url)))
    healthz = await client.get("/healthz")
    assert healthz.status == 200 and await healthz.text() == "ok\n"
    assert healthz.headers["Cache-Control"] == "no-store"
    body = await _ready(client)
    assert body == {"status": "ready",
                    "checks": {"database": "ok", "schema": "ok", "worker": "ok"}}


async def test_not_ready_without_a_worker(make_settings, database_url, aiohttp_client):
    """`serve --no-worker` with no `federation worker` beside it delivers nothing: not ready."""
    alone = await aiohttp_client(create_app(make_settings(
        database_url, server={"run_worker": False})))
    answer = await alone.get("/readyz")
    assert answer.status == 503
    assert answer.headers["Cache-Control"] == "no-store"
    assert await answer.json() == {"status": "not ready", "checks": {
        "database": "ok", "schema": "ok", "worker": "not seen"}}
    assert (await alone.get("/healthz")).status == 200


async def test_worker_check_skipped_when_workers_run_elsewhere(make_settings, database_url,
                                                               aiohttp_client):
    """`ready_needs_worker = false`: the workers run on machines with their own data_dir."""
    elsewhere = await aiohttp_client(create_app(make_settings(
        database_url, server={"run_worker": False, "ready_needs_worker": False})))
    assert (await (await elsewhere.get("/readyz")).json())["checks"]["worker"] == "not required"
    assert (await elsewhere.get("/readyz")).status == 200


async def test_a_pending_migration_is_not_ready(make_settings, database_url, aiohttp_client,
                                                monkeypatch):
    """A schema behind the code (a release deployed before `federation migrate`) is not ready;
    after the migration is applied it is ready again."""
    monkeypatch.setattr(health, "ANSWER_FOR", 0.0)
    client = await aiohttp_client(create_app(make_settings(
        database_url, server={"run_worker": False, "ready_needs_worker": False})))
    assert (await client.get("/readyz")).status == 200
    readiness = client.server.app[READINESS]
    rows = await connections.get("default").execute_query_dict(
        "SELECT app, name FROM tortoise_migrations ORDER BY applied_at DESC LIMIT 1")
    latest = rows[0]
    placeholder = "?" if database_url.startswith("sqlite") else "$1"
    second = "?" if database_url.startswith("sqlite") else "$2"
    rename = (f"UPDATE tortoise_migrations SET name = {placeholder} "
              f"WHERE app = {second} AND name = " + ("?" if placeholder == "?" else "$3"))
    await connections.get("default").execute_query(  # the latest migration "not applied"
        rename, [latest["name"] + "-not-applied", latest["app"], latest["name"]])
    assert (await client.get("/readyz")).status == 200  # a current schema is rechecked later
    monkeypatch.setattr(health, "SCHEMA_RECHECK", 0.0)
    answer = await client.get("/readyz")
    assert answer.status == 503
    assert (await answer.json())["checks"]["schema"] == "migrations pending"
    await connections.get("default").execute_query(
        rename, [latest["name"], latest["app"], latest["name"] + "-not-applied"])
    assert (await client.get("/readyz")).status == 200
    assert readiness is client.server.app[READINESS]


@pytest.mark.slow
async def test_postgresql_stopped_is_not_ready_but_alive(cluster, make_settings,
                                                         aiohttp_client, monkeypatch):
    """The database stopped for real: /readyz 503 (database unreachable) within its timeout,
    /healthz still 200; started again, ready again without a restart."""
    monkeypatch.setattr(health, "ANSWER_FOR", 0.0)
    url = await asyncio.to_thread(cluster.new_database)
    await migrate_database(url)
    client = await aiohttp_client(create_app(make_settings(
        url, server={"run_worker": False, "ready_needs_worker": False})))
    assert (await client.get("/readyz")).status == 200
    await asyncio.to_thread(cluster.stop)
    try:
        async with asyncio.timeout(health.DATABASE_TIMEOUT * 3):
            answer = await client.get("/readyz")
        assert answer.status == 503
        assert (await answer.json())["checks"]["database"] in ("unreachable", "timeout")
        assert (await client.get("/healthz")).status == 200
    finally:
        await asyncio.to_thread(cluster.start)
    await _ready(client, timeout=30)

