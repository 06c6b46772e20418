"""Fixtures of the migration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import pg_scratch_database


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no table at all (not even tortoise's migration table)."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'empty.sqlite3'}"
        return
    with pg_scratch_database("fedmig") as url:
        yield url
