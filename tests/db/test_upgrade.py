"""Upgrading a release's database: the schema and data of 0.1.0 (tests/fixtures/releases/),
loaded into an empty SQLite file or PostgreSQL database, then `federation migrate` of today's
code — every migration applies, nothing is lost, the actors keep their keys."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from federation.db.actors import ActorKey
from federation.db.ingest import ApiToken
from federation.db.lifecycle import open_database, pending_migrations
from federation.db.moderation import ModeratorAccount, Reply, Report
from federation.db.social import Follower, FollowState
from federation.identity.directory import ActorDirectory, open_vault
from federation.settings import load_settings
from tests.cli.conftest import run_cli
from tests.conftest import _pg_admin_url, _with_database

RELEASES = Path(__file__).parents[1] / "fixtures" / "releases"
RELEASE = RELEASES / "0.1.0"


def _release_pems(database_url: str) -> set[str]:
    """The RSA public keys the release stored (read with SQL, not through our models)."""
    query = "SELECT public_pem FROM actor_keys WHERE active AND kind = 'rsa'"
    if database_url.startswith("sqlite://"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite://"))
        try:
            return {row[0] for row in connection.execute(query)}
        finally:
            connection.close()

    async def read() -> set[str]:
        connection = await asyncpg.connect(database_url.replace("postgresql://", "postgres://",
                                                                1))
        try:
            return {row[0] for row in await connection.fetch(query)}
        finally:
            await connection.close()

    return asyncio.run(read())


@pytest.fixture(params=["sqlite", "postgres"])
def release_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database holding the release's schema and data."""
    if request.param == "sqlite":
        path = tmp_path / "data" / "federation.sqlite3"
        path.parent.mkdir()
        connection = sqlite3.connect(path)
        connection.executescript((RELEASE / "sqlite.sql").read_text(encoding="utf-8"))
        connection.close()
        yield f"sqlite://{path}"
        return
    admin = _pg_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL not configured (FEDERATION_TEST_DATABASE_URL)")
    name = f"release_upgrade_{request.node.name[-12:].strip('[]').replace('-', '_')}"

    async def run(statement: str, url: str = admin) -> None:
        connection = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = _with_database(admin, name)
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql (PostgreSQL's client) is not installed")
    subprocess.run([psql, "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1",
                    "--file", str(RELEASE / "postgresql.sql"), url],
                   check=True, capture_output=True, timeout=120)
    try:
        yield url
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_release_0_1_0_upgrades_in_place(tmp_path: Path, release_database: str) -> None:
    config = tmp_path / "federation.toml"
    config.write_text((RELEASE / "federation.toml").read_text(encoding="utf-8").replace(
        'data_dir = "data"', f'data_dir = "data"\ndatabase_url = "{release_database}"', 1),
        encoding="utf-8")
    (tmp_path / "data").mkdir(exist_ok=True)
    shutil.copy(RELEASE / "secret.key", tmp_path / "data" / "secret.key")

    released_keys = _release_pems(release_database)
    assert len(released_keys) >= 2
    pending = asyncio.run(pending_migrations(release_database))  # today's, since the release
    migrate = run_cli("--config", str(config), "migrate", cwd=tmp_path, timeout=120)
    assert migrate.returncode == 0, migrate
    assert f"applied {len(pending)} migration(s)" in migrate.stdout
    assert asyncio.run(pending_migrations(release_database)) == []
    again = run_cli("--config", str(config), "migrate", cwd=tmp_path, timeout=120)
    assert again.returncode == 0 and "applied 0 migration(s)" in again.stdout

    settings = load_settings(config).model_copy(update={"data_dir": tmp_path / "data"})

    async def check() -> None:
        async with open_database(release_database):
            assert await ActorKey.filter(active=True).count() >= 4
            follower = await Follower.get().prefetch_related("remote")
            assert follower.state == FollowState.ACCEPTED
            assert follower.remote.acct == "alice@social.example"
            reply = await Reply.get(uri="https://social.example/notes/1")
            assert reply.content_html == "<p>Merci pour l'article !</p>"
            assert (await Report.get()).content == "spam?"
            assert await ApiToken.filter(name="spip").count() == 1
            assert await ModeratorAccount.filter(username="camille").count() == 1
            directory = ActorDirectory(settings, open_vault(settings.data_dir))
            await directory.load()  # decrypts every key with the release's secret
            pems = [directory.get(i).rsa_public_pem
                    for i in ("site", "halte-au-controle-numerique")]
            assert set(pems) <= released_keys  # the keys followers know

    asyncio.run(check())
    listing = run_cli("--config", str(config), "actors", "list", cwd=tmp_path)
    assert listing.returncode == 0 and "halte-au-controle-numerique" in listing.stdout
