"""The keyed token-bucket limiter under every rate limit of the bridge."""

from __future__ import annotations

import pytest

from federation.ratelimit import KeyedLimiter, retry_after_seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refused_with_the_wait_then_refilled():
    clock = Clock()
    limiter = KeyedLimiter(3, 30.0, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(10.0)
    assert limiter.acquire("b") == 0.0, "another key has its own bucket"
    clock.now += 10.0
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0


def test_refusal_takes_nothing_and_refund_gives_back():
    clock = Clock()
    limiter = KeyedLimiter(1, 60.0, clock=clock)
    assert limiter.acquire("a") == 0.0
    for _ in range(5):
        assert limiter.acquire("a") == pytest.approx(60.0)
    limiter.refund("a")
    assert limiter.peek("a") == 0.0
    assert limiter.acquire("a") == 0.0


def test_keys_are_bounded_least_recently_used_first():
    limiter = KeyedLimiter(1, 60.0, max_keys=3, clock=Clock())
    for key in "abc":
        limiter.acquire(key)
    limiter.acquire("a")  # a is used again: b is now the oldest
    limiter.acquire("d")
    assert len(limiter) == 3
    assert limiter.peek("a") > 0, "a was kept"
    assert limiter.peek("b") == 0.0, "b was evicted (a fresh bucket)"


def test_bad_parameters_and_retry_after():
    with pytest.raises(ValueError):
        KeyedLimiter(0, 1.0)
    with pytest.raises(ValueError):
        KeyedLimiter(1, 0.0)
    assert retry_after_seconds(0.01) == 1
    assert retry_after_seconds(10.2) == 11
