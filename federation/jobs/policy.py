"""The retry policy of every job: a pure decision from one attempt's result to what happens next.

:class:`RetryPolicy` is the schedule, as data: how many attempts, and the wait after the
``n``-th failed one. Its default is Mastodon's (Sidekiq's): ``n**4 + 15 + jitter`` seconds,
jitter being up to ``10 * (n + 1)`` seconds; 17 attempts spread over about 2.8 days (the
delivery queue). The other curve doubles from ``first`` up to ``cap`` (the webhook, a failing
feed, a supervised loop that lost its database), with up to ``jitter`` of the wait added.

For an HTTP attempt, :func:`decide` maps the answer to a verdict. Permanent failures end the job at once: every 4xx except 401, 408
and 429, and 501. 404 and 410 also mean the inbox is gone (its followers may be removed). 429
honours ``Retry-After`` (seconds or an HTTP date). Network errors, timeouts, 3xx and 5xx retry.

No I/O, no clock, no randomness of its own: callers pass ``now`` and a ``random`` in [0, 1).
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from federation.protocol.numbers import is_ascii_digits

DEFAULT_MAX_ATTEMPTS = 17
#: Statuses in the 4xx range that are worth retrying.
RETRYABLE_CLIENT_ERRORS = frozenset({401, 408, 429})
#: Statuses meaning that the inbox does not exist any more.
GONE_STATUSES = frozenset({404, 410})
#: A ``Retry-After`` longer than this is capped (a peer cannot park our queue for a month).
MAX_RETRY_AFTER = timedelta(days=1)


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"  # permanent: do not retry
    GONE = "gone"  # permanent, and the inbox is gone
    ABANDONED = "abandoned"  # retryable, but out of attempts


@dataclass(frozen=True)
class Decision:
    """What to do with a job after an attempt."""

    verdict: Verdict
    retry_at: datetime | None = None
    #: Whether the attempt counts against the host's health (the host did not answer well).
    host_failure: bool = False

    @property
    def final(self) -> bool:
        return self.verdict is not Verdict.RETRY


def backoff_seconds(attempt: int, random: float) -> float:
    """Seconds to wait after the ``attempt``-th failed attempt (1-based), Mastodon-style."""
    return float(attempt**4 + 15) + random * 10 * (attempt + 1)


class Curve(StrEnum):
    POLYNOMIAL = "polynomial"  # n**4 + 15 s, plus up to 10·(n+1) s (Mastodon, Sidekiq)
    EXPONENTIAL = "exponential"  # first · 2^(n-1), capped, plus up to ``jitter`` of it


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed job is attempted again, and when it is given up (``None``: never)."""

    max_attempts: int | None = DEFAULT_MAX_ATTEMPTS
    curve: Curve = Curve.POLYNOMIAL
    first: float = 15.0
    cap: float = math.inf
    jitter: float = 0.0

    def wait(self, attempt: int, random: float = 0.0) -> float:
        """Seconds to wait after the ``attempt``-th failed attempt (1-based); ``random`` in [0, 1)."""
        attempt = max(attempt, 1)
        if self.curve is Curve.POLYNOMIAL:
            return min(backoff_seconds(attempt, random), self.cap)
        base = min(self.first * (1 << min(attempt - 1, 62)), self.cap)
        return min(base * (1 + self.jitter * random), self.cap)

    def gives_up(self, attempt: int) -> bool:
        return self.max_attempts is not None and attempt >= self.max_attempts

    def retry_at(self, attempt: int, now: datetime, random: float = 0.0) -> datetime:
        return now + timedelta(seconds=self.wait(attempt, random))


#: The delivery queue's schedule (Mastodon's).
DELIVERY_POLICY = RetryPolicy()


def schedule(max_attempts: int = DEFAULT_MAX_ATTEMPTS, random: float = 0.0,
             policy: RetryPolicy = DELIVERY_POLICY) -> list[float]:
    """The waits between attempts for a job that always fails (for docs and tests)."""
    return [policy.wait(n, random) for n in range(1, max_attempts)]


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """The moment a ``Retry-After`` header names (delta seconds or HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if is_ascii_digits(text):
        return now + timedelta(seconds=min(int(text), int(MAX_RETRY_AFTER.total_seconds())))
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max(moment, now), now + MAX_RETRY_AFTER)


def is_success(status: int) -> bool:
    return 200 <= status < 300


def is_permanent(status: int) -> bool:
    """4xx other than 401/408/429, and 501: retrying would not help."""
    return (400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS) or status == 501


def decide(
    *,
    attempt: int,
    now: datetime,
    status: int | None,
    retry_after: str | None = None,
    max_attempts: int | None = DEFAULT_MAX_ATTEMPTS,
    random: Callable[[], float] | float = 0.0,
    policy: RetryPolicy = DELIVERY_POLICY,
) -> Decision:
    """Decide after ``attempt`` (1-based) ended with ``status`` (None: network error/timeout).

    ``max_attempts`` overrides the policy's (the delivery settings set it)."""
    if status is not None and is_success(status):
        return Decision(Verdict.DELIVERED)
    if status is not None and status in GONE_STATUSES:
        return Decision(Verdict.GONE)
    if status is not None and is_permanent(status):
        return Decision(Verdict.FAILED)
    if max_attempts is not None and attempt >= max_attempts:
        return Decision(Verdict.ABANDONED, host_failure=True)
    jitter = random() if callable(random) else random
    retry_at = policy.retry_at(attempt, now, jitter)
    if status == 429:
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            retry_at = asked
    return Decision(Verdict.RETRY, retry_at=retry_at, host_failure=True)
