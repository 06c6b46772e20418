"""Background loops: named, logged when they die early, stopped gracefully or cancelled."""

from __future__ import annotations

import asyncio
import logging

import pytest

from federation.jobs.policy import Curve, RetryPolicy
from federation.jobs.supervisor import LoopStatus
from federation.web.background import background, forever

FAST = RetryPolicy(max_attempts=None, curve=Curve.EXPONENTIAL, first=0.01, cap=0.02)


async def test_loop_runs_named_and_is_cancelled_on_exit() -> None:
    """A loop that runs until cancelled runs as a named task during the block, then is gone."""
    ticks: list[int] = []

    async def loop() -> None:
        while True:
            ticks.append(1)
            await asyncio.sleep(0)

    async with background("ticker", forever(loop)) as task:
        await asyncio.sleep(0.01)
        assert task.get_name() == "ticker" and not task.done()
        assert "ticker" in {t.get_name() for t in asyncio.all_tasks()}
    assert task.cancelled() and ticks
    assert "ticker" not in {t.get_name() for t in asyncio.all_tasks()}


async def test_graceful_loop_finishes_its_work_after_stop() -> None:
    """A graceful loop is not cancelled: it sees ``stop`` and finishes what it was doing."""
    finished: list[str] = []

    async def worker(stop: asyncio.Event) -> None:
        await stop.wait()
        await asyncio.sleep(0.01)  # hand back in-flight work
        finished.append("released")

    async with background("worker", worker, grace=None) as task:
        await asyncio.sleep(0)
    assert finished == ["released"] and task.done() and not task.cancelled()


async def test_loop_past_its_grace_is_cancelled() -> None:
    """A loop that does not return within its grace after ``stop`` is cancelled."""
    seen: list[str] = []

    async def slow(stop: asyncio.Event) -> None:
        await stop.wait()
        seen.append("stopping")
        await asyncio.sleep(60)
        seen.append("finished")  # never reached

    async with background("slow", slow, grace=0.05) as task:
        await asyncio.sleep(0)
    assert seen == ["stopping"] and task.cancelled()


async def test_loop_that_dies_is_logged_at_once_restarted_and_exit_does_not_raise(
        caplog: pytest.LogCaptureFixture) -> None:
    """An error ending a loop is logged when it happens, with the loop's name and traceback
    (a bug); the loop is started again after the backoff; its status counts the restarts and
    keeps the last error; leaving the block (shutdown) goes on without raising it."""
    runs: list[int] = []

    async def broken(stop: asyncio.Event) -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("a bug")
        await stop.wait()

    status = LoopStatus("feed-poller")
    with caplog.at_level(logging.ERROR, logger="federation.jobs.supervisor"):
        async with background("feed-poller", broken, status=status, policy=FAST,
                              grace=1.0) as task:
            async with asyncio.timeout(5):
                while len(runs) < 3:
                    await asyncio.sleep(0.01)
            assert not task.done() and status.running
            assert status.restarts == 2 and status.last_error == "RuntimeError: a bug"
            records = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(records) == 2 and "feed-poller" in records[0].getMessage()
            assert records[0].exc_info and "a bug" in str(records[0].exc_info[1])
    assert task.done() and not task.cancelled() and not status.running


async def test_cancelling_the_owner_is_not_swallowed() -> None:
    """Cancelling the task that owns the block cancels the loop and reaches the owner."""
    loop_cancelled = asyncio.Event()

    async def loop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            loop_cancelled.set()

    async def owner() -> None:
        async with background("inner", forever(loop)):
            await asyncio.Event().wait()

    task = asyncio.create_task(owner())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert loop_cancelled.is_set()
