"""In-memory rate limits keyed by a string (a remote host, a hashed client, a username).

Pure: no I/O, a clock is injected. A :class:`KeyedLimiter` holds one token bucket per key and
at most ``max_keys`` buckets (least recently used evicted first), so a stranger who invents keys
costs bounded memory. Nothing here is persisted: a restart forgets every count, on purpose
(privacy: counts of who did what are not kept).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class KeyedLimiter:
    """``burst`` actions at once per key, refilled at ``burst / per`` tokens a second."""

    def __init__(self, burst: int, per: float, *, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if burst < 1 or per <= 0 or max_keys < 1:
            raise ValueError("burst and max_keys must be >= 1, per > 0")
        self.burst, self.per, self._max_keys, self._clock = burst, per, max_keys, clock
        self._rate = burst / per
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _bucket(self, key: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
            self._buckets[key] = bucket
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
        return bucket

    def acquire(self, key: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens for ``key``: 0.0 when allowed, else the seconds to wait (nothing
        taken)."""
        bucket = self._bucket(key)
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self._rate

    def peek(self, key: str, cost: float = 1.0) -> float:
        """Like :meth:`acquire` but takes nothing."""
        bucket = self._bucket(key)
        return 0.0 if bucket.tokens >= cost else (cost - bucket.tokens) / self._rate

    def refund(self, key: str, cost: float = 1.0) -> None:
        """Give back tokens taken by :meth:`acquire` (an action that turned out not to count)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(float(self.burst), bucket.tokens + cost)


def retry_after_seconds(wait: float) -> int:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return max(1, math.ceil(wait))
