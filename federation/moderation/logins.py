"""Login limits of the moderation UI: counted before the password is checked, per client.

The rule (``[moderation]`` settings, defaults in brackets; W = ``login_window_seconds`` [900]):

1. **per client and username**: at most ``login_attempts_per_username`` [5] failed logins per W
   (then one more every W / 5 = 3 minutes), and a progressive delay: after the 3rd failure in a
   row that client waits 1 s before its next try for that username, then 2, 4, 8 s… (at most
   60 s);
2. **per client**: at most ``login_attempts_per_client`` [30] failed logins per W, all
   usernames together (then one every 30 s);
3. **per username, all clients together**: at most ``login_attempts_per_username_total`` [100]
   per W (then one every 9 s) — a ceiling on guessing by many addresses at once, with a short
   lock.

An attempt takes its place in the three counts *before* the (slow, argon2) password check — in
one synchronous call, so that no concurrent request can pass between the check and the count —
and gives it back when the password is right. Over a limit the answer is 429 with
``Retry-After``.

What a stranger cannot do: lock out a moderator who logs in from another address. Failures
with made-up usernames only spend the stranger's own count (2); guessing a moderator's password
from one address stops at (1) without touching anyone else's; only ≥ 20 addresses guessing the
same username reach (3), and then a moderator waits seconds, not minutes.

Privacy: counts live in memory only, bounded (least recently used forgotten first), under
keys that are HMAC-SHA256 of the client's address and the username with a key drawn at random
when the process starts and kept nowhere else. No address is stored or logged; a restart
forgets every count.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from federation.errors import TooManyRequests
from federation.ratelimit import KeyedLimiter

#: Failures in a row (one client, one username) before the progressive delay starts.
FREE_FAILURES = 2
MAX_DELAY = 60.0
MAX_KEYS = 10_000
LIMITED = "too many login attempts: try again later"


@dataclass(frozen=True)
class Attempt:
    """A login attempt let through: the keys it was counted under."""

    client: str
    client_username: str
    username: str


class LoginGuard:
    """The three counts and the progressive delay of the module's rule."""

    def __init__(self, *, per_username: int, per_client: int, per_username_total: int,
                 window: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        self.clock = clock  # tests replace it on a running application
        self._key = secrets.token_bytes(32)

        def now() -> float:
            return self.clock()

        self._per_client_username = KeyedLimiter(per_username, window, max_keys=max_keys,
                                                 clock=now)
        self._per_client = KeyedLimiter(per_client, window, max_keys=max_keys, clock=now)
        self._per_username = KeyedLimiter(per_username_total, window, max_keys=max_keys,
                                          clock=now)
        self._window = window
        self._max_keys = max_keys
        self._streaks: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def _hash(self, *parts: str) -> str:
        message = "\x00".join(parts).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def _delay(self, key: str, now: float) -> float:
        """Seconds ``key`` (a client and a username) must still wait after its failures."""
        failures, last = self._streaks.get(key, (0, now))
        if failures <= FREE_FAILURES or now - last > self._window:
            return 0.0
        return max(0.0, last + min(2.0 ** (failures - FREE_FAILURES - 1), MAX_DELAY) - now)

    def begin(self, client_address: str, username: str) -> Attempt:
        """Count an attempt for ``username`` from ``client_address`` before its password is
        checked; :class:`TooManyRequests` (nothing counted) when a limit is reached."""
        name = username.strip().lower()[:64]
        attempt = Attempt(self._hash("c", client_address),
                          self._hash("cu", client_address, name), self._hash("u", name))
        now = self.clock()
        wait = max(self._delay(attempt.client_username, now),
                   self._per_client_username.peek(attempt.client_username),
                   self._per_client.peek(attempt.client),
                   self._per_username.peek(attempt.username))
        if wait > 0:
            raise TooManyRequests(LIMITED, retry_after=wait)
        self._per_client_username.acquire(attempt.client_username)
        self._per_client.acquire(attempt.client)
        self._per_username.acquire(attempt.username)
        failures, last = self._streaks.pop(attempt.client_username, (0, now))
        self._streaks[attempt.client_username] = (
            (0 if now - last > self._window else failures) + 1, now)
        while len(self._streaks) > self._max_keys:
            self._streaks.popitem(last=False)
        return attempt

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the attempt is not a failure; the client's count and delay
        for that username start again."""
        self._per_client_username.refund(attempt.client_username, self._per_client_username.burst)
        self._per_client.refund(attempt.client)
        self._per_username.refund(attempt.username)
        self._streaks.pop(attempt.client_username, None)
