"""Database layer: tortoise-orm models (fields and queries only), migrations, connection lifecycle.

Models are grouped in tortoise *apps*, one per domain, each with its own migration chain under
``federation/db/migrations/<app>/``. :data:`APPS` is the single list of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet

#: Longest URI we store (ActivityPub ids, inboxes, page URLs) in any model.
URI_LENGTH = 2048
#: Largest row id (the ``IntField`` primary keys are 32-bit on PostgreSQL).
MAX_ROW_ID = 2**31 - 1


def is_row_id(value: int) -> bool:
    """Whether ``value`` can be a row's id: look up nothing else (a larger number given to
    PostgreSQL is an error, not a miss)."""
    return 0 < value <= MAX_ROW_ID


async def column(query: QuerySet[Any], field: str) -> list[Any]:
    """The values of one column of ``query`` (``values_list(field, flat=True)``).

    tortoise's annotations type every ``values_list`` as a list of tuples, ``flat`` or not:
    the cast says what the query returns.
    """
    return cast("list[Any]", await query.values_list(field, flat=True))

#: tortoise app label → model modules. Every app has migrations in federation.db.migrations.<app>.
APPS: dict[str, list[str]] = {
    "actors": ["federation.db.actors"],
    "social": ["federation.db.social"],
    "content": ["federation.db.content"],
    "moderation": ["federation.db.moderation"],
    "inbox": ["federation.db.inbox"],
    "delivery": ["federation.db.delivery"],
    "ingest": ["federation.db.ingest"],
    "syndication": ["federation.db.syndication"],
    "jobs": ["federation.db.jobs"],
}


def normalise_database_url(url: str) -> str:
    """Accept ``postgresql://`` as well as tortoise's ``postgres://``."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres+asyncpg", "postgresql+asyncpg"):
        return urlunsplit(parts._replace(scheme="postgres"))
    return url


def with_sqlite_pragmas(url: str) -> str:
    """A SQLite URL with ``synchronous=NORMAL`` unless it says otherwise.

    tortoise opens SQLite in WAL mode; with WAL, ``NORMAL`` never corrupts the database and
    syncs at checkpoints instead of at every commit (a crash of the machine may lose the last
    transactions, not consistency). Every inbox request commits, so this triples its
    throughput (docs/performance.md). Other engines are returned unchanged.
    """
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or "synchronous=" in parts.query:
        return url
    return url + ("&" if "?" in url else "?") + "synchronous=NORMAL"


def database_connection(database_url: str) -> str | dict[str, Any]:
    """tortoise's connection entry for ``database_url``: PostgreSQL's with
    :class:`~federation.db.pooled.PooledConnection`, any other engine's URL as is."""
    url = with_sqlite_pragmas(normalise_database_url(database_url))
    if urlsplit(url).scheme != "postgres":
        return url
    # imported here: ``federation --help`` and the SQLite path import neither tortoise nor asyncpg
    from tortoise.backends.base.config_generator import expand_db_url

    from federation.db.pooled import PooledConnection

    config = expand_db_url(url)
    config["credentials"]["connection_class"] = PooledConnection
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The tortoise configuration for ``database_url`` with every app and its migrations."""
    apps = {
        label: {
            "models": modules,
            "default_connection": "default",
            "migrations": f"federation.db.migrations.{label}",
        }
        for label, modules in APPS.items()
    }
    return {
        "connections": {"default": database_connection(database_url)},
        "apps": apps,
        "use_tz": True,
        "timezone": "UTC",
    }
