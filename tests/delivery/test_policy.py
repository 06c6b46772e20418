"""The retry policy as a pure function: schedule, permanent failures, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from federation.delivery.policy import (
    MAX_RETRY_AFTER,
    Verdict,
    backoff_seconds,
    decide,
    parse_retry_after,
    schedule,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_schedule_spreads_seventeen_attempts_over_about_three_days() -> None:
    """17 attempts, waits count**4 + 15 s, spread between 2.5 and 3 days (with jitter)."""
    waits = schedule(17, random=0.0)
    assert len(waits) == 16
    assert waits[:3] == [16.0, 31.0, 96.0]
    assert 2.5 < sum(waits) / 86400 < 3.0
    assert 2.5 < sum(schedule(17, random=0.999)) / 86400 < 3.0
    assert waits == sorted(waits)


def test_jitter_grows_with_the_attempt() -> None:
    """Jitter is up to 10 * (count + 1) seconds."""
    assert backoff_seconds(3, 0.5) - backoff_seconds(3, 0.0) == pytest.approx(20.0)


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_delivered(status: int) -> None:
    """Any 2xx ends the job as delivered."""
    assert decide(attempt=1, now=NOW, status=status).verdict is Verdict.DELIVERED


@pytest.mark.parametrize("status", [400, 403, 405, 413, 422, 501])
def test_permanent_failures_end_the_job(status: int) -> None:
    """4xx other than 401/408/429, and 501, are not retried."""
    decision = decide(attempt=1, now=NOW, status=status)
    assert decision.verdict is Verdict.FAILED and decision.final and not decision.host_failure


@pytest.mark.parametrize("status", [404, 410])
def test_gone_inbox(status: int) -> None:
    """404 and 410 end the job and mark the inbox gone."""
    assert decide(attempt=1, now=NOW, status=status).verdict is Verdict.GONE


@pytest.mark.parametrize("status", [None, 401, 408, 429, 500, 502, 503, 301])
def test_retryable_failures_are_retried_with_backoff(status: int | None) -> None:
    """Network errors, 401/408/429, 3xx and 5xx retry after count**4 + 15 s."""
    decision = decide(attempt=2, now=NOW, status=status, random=0.0)
    assert decision.verdict is Verdict.RETRY and decision.host_failure
    assert decision.retry_at == NOW + timedelta(seconds=31)


def test_out_of_attempts_is_abandoned() -> None:
    """The last attempt failing abandons the job."""
    assert decide(attempt=17, now=NOW, status=500).verdict is Verdict.ABANDONED
    assert decide(attempt=3, now=NOW, status=500, max_attempts=3).verdict is Verdict.ABANDONED


def test_429_honours_retry_after_seconds_and_dates() -> None:
    """Retry-After in seconds or as an HTTP date decides the next attempt (capped at a day)."""
    assert decide(attempt=1, now=NOW, status=429, retry_after="600").retry_at == NOW + timedelta(
        seconds=600)
    date = "Sun, 01 Mar 2026 14:00:00 GMT"
    assert decide(attempt=1, now=NOW, status=429, retry_after=date).retry_at == NOW + timedelta(
        hours=2)
    assert parse_retry_after("99999999", NOW) == NOW + MAX_RETRY_AFTER
    assert parse_retry_after("garbage", NOW) is None
    fallback = decide(attempt=1, now=NOW, status=429, retry_after="garbage")
    assert fallback.retry_at == NOW + timedelta(seconds=16)
