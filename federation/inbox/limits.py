"""Per remote host limits on what incoming activities make us store (floods are bounded).

A verified sender's host may make us store, per hour, at most ``[inbox.limits]`` follows
(each answered by an ``Accept``), replies for moderation, interactions (Likes and Announces of
our objects) and reports. A listener takes one token of its kind *before* writing anything
(the sender's actor row included); with none left it raises
:class:`~federation.errors.TooManyRequests`: the request is answered 429 with ``Retry-After``,
the processor deletes the activity's stored job and nothing is kept, so the sender's retry after
that delay is processed like a first delivery (Mastodon, GoToSocial and Misskey retry a 429).

The key is the host of the *verified* actor: a stranger cannot spend another host's budget by
claiming its actors (the signature was proven before any listener runs). Counts live in memory
only (:class:`~federation.ratelimit.KeyedLimiter`: bounded in hosts, least recently used
forgotten first) and are per process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import StrEnum

from federation.errors import TooManyRequests
from federation.protocol.uris import origin_of
from federation.ratelimit import KeyedLimiter, retry_after_seconds
from federation.settings import InboxLimitsConfig

logger = logging.getLogger(__name__)

HOUR = 3600.0
#: Remote hosts counted at once per kind (the least recently seen are forgotten first).
MAX_COUNTED_HOSTS = 10_000


class Kind(StrEnum):
    """What an activity makes us store."""

    FOLLOW = "follows"
    REPLY = "replies"
    INTERACTION = "interactions"
    REPORT = "reports"


class InboxLimits:
    """One token bucket per kind and remote host, refilled over an hour."""

    def __init__(self, config: InboxLimitsConfig, *, clock: Callable[[], float] = time.monotonic,
                 max_hosts: int = MAX_COUNTED_HOSTS) -> None:
        #: The clock every bucket reads (replaceable before use: tests move time by hand).
        self.clock = clock
        self._limiters = {
            kind: KeyedLimiter(getattr(config, f"{kind.value}_per_hour"), HOUR,
                               max_keys=max_hosts, clock=lambda: self.clock())
            for kind in Kind
        }

    def take(self, kind: Kind, actor_uri: str) -> None:
        """Count one ``kind`` for the host of ``actor_uri``; :class:`TooManyRequests` if over."""
        host = origin_of(actor_uri).host
        wait = self._limiters[kind].acquire(host)
        if wait:
            logger.info("%s from %s over the hourly limit: 429", kind.value, host)
            raise TooManyRequests(f"too many {kind.value} from {host}: retry later",
                                  retry_after=retry_after_seconds(wait))

    def give_back(self, kind: Kind, actor_uri: str) -> None:
        """Return a token taken for an activity that stored nothing after all."""
        self._limiters[kind].refund(origin_of(actor_uri).host)
