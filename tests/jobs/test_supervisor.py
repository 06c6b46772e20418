"""Supervision: a loop that fails is restarted after a bounded, jittered, doubling wait; a
database fault is one log line (no traceback); only ``stop`` ends a loop."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import asyncpg
import pytest
from tortoise.exceptions import DoesNotExist, IntegrityError, OperationalError

from federation.db.faults import is_database_fault
from federation.jobs.supervisor import RESTART_POLICY, LoopStatus, Statuses, supervise


class Pauses:
    """Records the waits instead of sleeping; sets ``stop`` after ``limit`` of them."""

    def __init__(self, stop: asyncio.Event, limit: int) -> None:
        self.waits: list[float] = []
        self.stop, self.limit = stop, limit

    async def __call__(self, stop: asyncio.Event, seconds: float) -> None:
        self.waits.append(seconds)
        if len(self.waits) >= self.limit:
            self.stop.set()


async def test_a_failing_loop_is_restarted_with_doubling_bounded_waits(caplog):
    stop = asyncio.Event()
    pauses = Pauses(stop, 9)
    status = LoopStatus("deliveries")

    async def loop(stop: asyncio.Event) -> None:
        raise OperationalError(sqlite3.OperationalError("database or disk is full"))

    with caplog.at_level(logging.WARNING):
        await supervise("deliveries", loop, stop, status, random=lambda: 0.0, pause=pauses)
    assert pauses.waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert status.restarts == 8 and not status.running
    assert status.last_error == "OperationalError: database or disk is full"
    assert all(r.exc_info is None for r in caplog.records)  # one line each, no traceback
    assert "database or disk fault" in caplog.records[0].getMessage()


async def test_jitter_spreads_restarts_within_half_the_wait():
    assert RESTART_POLICY.wait(3, 0.999) < 4.0 * 1.5 and RESTART_POLICY.wait(3, 0.0) == 4.0
    assert RESTART_POLICY.wait(30, 0.999) == 60.0  # bounded


async def test_a_loop_that_returns_early_is_restarted_and_stop_ends_it():
    stop = asyncio.Event()
    runs: list[int] = []

    async def loop(stop: asyncio.Event) -> None:
        runs.append(1)
        if len(runs) == 3:
            await stop.wait()

    status = LoopStatus("x")
    task = asyncio.create_task(supervise("x", loop, stop, status, pause=Pauses(stop, 99)))
    async with asyncio.timeout(5):
        while len(runs) < 3:
            await asyncio.sleep(0)
    assert status.running and status.restarts == 2
    stop.set()
    await asyncio.wait_for(task, 5)
    assert not status.running


async def test_a_bug_is_logged_with_its_traceback_and_restarted(caplog):
    stop = asyncio.Event()

    async def loop(stop: asyncio.Event) -> None:
        raise KeyError("bug")

    with caplog.at_level(logging.ERROR):
        await supervise("x", loop, stop, pause=Pauses(stop, 2))
    assert len(caplog.records) == 2 and caplog.records[0].exc_info is not None


def test_statuses_report_every_loop():
    statuses = Statuses()
    statuses.loop("a").running = True
    statuses.loop("b").failed(ConnectionRefusedError(111, "refused"))
    assert not statuses.healthy
    assert [s.to_json()["name"] for s in statuses.all()] == ["a", "b"]
    assert statuses.loop("b").to_json()["last_error"].startswith("ConnectionRefusedError")


@pytest.mark.parametrize("error, fault", [
    (OperationalError(sqlite3.OperationalError("database or disk is full")), True),
    (OperationalError(sqlite3.OperationalError("database is locked")), True),
    (OperationalError(sqlite3.OperationalError("no such table: jobs")), False),
    (sqlite3.OperationalError("attempt to write a readonly database"), True),
    (asyncpg.exceptions.ConnectionDoesNotExistError("closed"), True),
    (asyncpg.exceptions.AdminShutdownError("terminating connection"), True),
    (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
    (asyncpg.exceptions.UndefinedTableError("no table"), False),
    (ConnectionRefusedError(111, "Connection refused"), True),
    (IntegrityError("unique"), False),
    (DoesNotExist("no row"), False),
    (KeyError("bug"), False),
], ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v))
def test_database_faults_are_told_from_bugs(error, fault):
    assert is_database_fault(error) is fault


def test_the_cause_decides_for_a_wrapped_error():
    try:
        try:
            raise asyncpg.exceptions.UndefinedColumnError("no column")
        except asyncpg.PostgresError as inner:
            raise OperationalError(inner) from inner
    except OperationalError as outer:
        assert not is_database_fault(outer)
