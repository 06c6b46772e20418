"""Shared fixtures: settings, and a fresh migrated database per test on SQLite and PostgreSQL.

Database tests take the ``database_url`` fixture, parametrized over ``sqlite`` and ``postgres``.
The PostgreSQL run needs ``FEDERATION_TEST_DATABASE_URL`` (``.ci/run`` sets it to the local
server); without it those tests are skipped with that reason. Each test gets its own database,
copied from a template migrated once per session, so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from federation.db.lifecycle import migrate_database
from federation.settings import Settings, settings_from_mapping

PG_ENV = "FEDERATION_TEST_DATABASE_URL"
PG_SKIP_REASON = f"{PG_ENV} is not set: the PostgreSQL run is skipped (.ci/run sets it)"


def _pg_admin_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def _pg_execute(admin_url: str, *statements: str) -> None:
    connection = await asyncpg.connect(admin_url.replace("postgresql://", "postgres://", 1))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(migrate_database(f"sqlite://{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    admin = _pg_admin_url()
    if admin is None:
        pytest.skip(PG_SKIP_REASON)
    name = f"fedtpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_execute(admin, f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(migrate_database(_with_database(admin, name)))
        yield name
    finally:
        asyncio.run(_pg_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database (SQLite file or PostgreSQL database) for one test."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite://{path}"
        return
    template = request.getfixturevalue("pg_template")
    admin = _pg_admin_url()
    assert admin is not None
    name = f"fedtest_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(admin, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _with_database(admin, name)
    finally:
        asyncio.run(_pg_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def base_config(database_url: str, data_dir: Path, **overrides: Any) -> dict[str, Any]:
    """A valid configuration mapping with the site actor and two collectives."""
    config: dict[str, Any] = {
        "base_url": "https://bridge.example",
        "database_url": database_url,
        "data_dir": str(data_dir),
        "site": {
            "name": "Le Numéro Zéro",
            "description": "Actualité et mémoire des luttes à Saint-Étienne et ailleurs",
            "home_page": "https://site.example/",
            "language": "fr",
            "timezone": "Europe/Paris",
        },
        "site_actor": {
            "identifier": "site", "username": "lenumerozero", "name": "Le Numéro Zéro",
            "url": "https://site.example/",
        },
        "collectives": [
            {
                "identifier": "halte-au-controle-numerique",
                "username": "halteaucontrolenumerique",
                "name": "Halte au contrôle numérique",
                "summary": "Collectif stéphanois contre la numérisation-surveillance.",
                "url": "https://site.example/halte-au-controle-numerique",
                "icon": "https://site.example/IMG/logo.png",
                "header": "https://site.example/IMG/banner.jpg",
                "fields": [{"name": "Site", "value": "https://site.example/halte"}],
                "published": "2019-05-01T00:00:00Z",
            },
            {
                "identifier": "changer-de-cap", "username": "changerdecap",
                "name": "Collectif Changer de cap", "manually_approves_followers": True,
            },
        ],
    }
    for key, value in overrides.items():
        config[key] = value
    return config


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Build settings for a database URL, with optional top-level overrides."""

    def factory(database_url: str, **overrides: Any) -> Settings:
        return settings_from_mapping(base_config(database_url, tmp_path / "data", **overrides))

    return factory


@pytest.fixture
def settings(database_url: str, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> Any:
    """A test client of the whole application on a fresh database."""
    from federation.app import create_app

    return await aiohttp_client(create_app(settings))


@pytest.fixture(scope="session")
def _rsa_key_pool() -> list[Any]:
    from federation.signing.keys import generate_rsa_key

    return [generate_rsa_key() for _ in range(8)]


@pytest.fixture(autouse=True)
def fast_actor_keys(monkeypatch: pytest.MonkeyPatch, _rsa_key_pool: list[Any]) -> None:
    """Local actors take RSA keys from a pool generated once per session (keygen is slow).

    Successive calls still return different keys, so rotation tests see a new key.
    """
    import itertools

    from federation.identity import directory

    cycle = itertools.cycle(_rsa_key_pool)
    monkeypatch.setattr(directory, "generate_rsa_key", lambda: next(cycle))
