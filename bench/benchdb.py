"""Database set-up shared by the benches."""

from __future__ import annotations

import asyncpg


async def reset_if_postgres(url: str) -> None:
    """Empty a PostgreSQL database given with ``--database-url`` (its ``public`` schema is
    dropped: use a database kept for benches), so each run starts as a fresh SQLite file does."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()
