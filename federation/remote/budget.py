"""Fetches a stranger can make us do, budgeted per remote host and in total (principle 10).

A request whose signature is not verified yet makes us fetch its ``keyId`` — a URL its sender
chose, on any host, signed by our site actor. Without a budget, a thousand requests with a
thousand made-up key ids make a thousand GETs, and they can be aimed at a third party: an
amplifier anyone can point. :class:`FetchLimiter` allows ``per_host`` fetches per remote host and
``total`` fetches for all hosts together, each refilled over ``window`` seconds (token buckets,
:class:`~federation.ratelimit.KeyedLimiter`: in memory, bounded, clock injected). Past either,
:meth:`FetchLimiter.take` raises :class:`~federation.errors.TooManyRequests`, answered 429 with
``Retry-After``: a well-behaved peer sends again later, and nothing was fetched.

Hosts are compared as normalised host names (not ports: every port of a host is the same
machine to protect).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from federation.errors import TooManyRequests
from federation.protocol.uris import origin_of
from federation.ratelimit import KeyedLimiter

logger = logging.getLogger(__name__)

DEFAULT_PER_HOST = 120
DEFAULT_TOTAL = 600
DEFAULT_WINDOW = 300.0
#: Hosts whose budget is remembered at once (least recently used forgotten first).
MAX_HOSTS = 10_000


class FetchLimiter:
    """``per_host`` fetches per remote host and ``total`` for all, per ``window`` seconds."""

    def __init__(self, per_host: int = DEFAULT_PER_HOST, total: int = DEFAULT_TOTAL,
                 window: float = DEFAULT_WINDOW, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._hosts = KeyedLimiter(per_host, window, max_keys=MAX_HOSTS, clock=clock)
        self._total = KeyedLimiter(total, window, max_keys=1, clock=clock)

    def take(self, url: str) -> None:
        """Count one fetch of ``url``; :class:`TooManyRequests` (nothing counted) past a budget.

        Raises ``ValueError`` for a URL without an http(s) origin (the caller refuses it).
        """
        host = origin_of(url).host
        wait = self._hosts.acquire(host)
        if wait:
            logger.debug("fetch budget of a remote host spent")
            raise TooManyRequests("too many fetches for this host: retry later", retry_after=wait)
        wait = self._total.acquire("")
        if wait:
            self._hosts.refund(host)
            logger.info("total fetch budget for unverified requests spent")
            raise TooManyRequests("too many fetches: retry later", retry_after=wait)
