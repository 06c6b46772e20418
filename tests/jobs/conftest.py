"""Job engine fixtures: an open database and a settable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from federation.db.lifecycle import open_database

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = field(default=START)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    async with open_database(database_url):
        yield database_url


@pytest.fixture
def clock() -> Clock:
    return Clock()
