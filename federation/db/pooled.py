"""The asyncpg connection class of the PostgreSQL pool (imported only when PostgreSQL is used,
so that ``federation --help`` and the SQLite path never import asyncpg)."""

from __future__ import annotations

import asyncpg.connection


class PooledConnection(asyncpg.connection.Connection):  # type: ignore[misc]
    """An asyncpg connection that the pool hands back without the reset query.

    asyncpg's pool sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL;`` each time a connection is released — and tortoise acquires and releases one for
    every statement outside a transaction, so that doubled the round trips of the inbox
    (docs/performance.md, "Inbox", 2026-12-07). The bridge takes no advisory locks, opens no
    cursors, listens to nothing and changes no session setting (``search_path`` and
    ``application_name`` are connection parameters, which ``RESET ALL`` keeps anyway); an
    open transaction is still rolled back on release, by the pool itself."""

    def get_reset_query(self) -> str:
        return ""
