"""Which actors we follow, kept in memory for the inbox (every ``Create`` asks).

The syndication listeners run first for every ``Create``, ``Announce``, ``Update`` and
``Delete``, and almost all of them come from actors we do not follow (replies, likes, boosts).
:class:`FollowedActors` answers "might ``actor_uri`` be a followed source?" from a set of the
accepted follows' target and actor ids, read in one query at most every ``ttl`` seconds. The
set is only used to say *no*: a *yes* still reads the ``Following`` row itself, so a stale
entry (a follow just removed) costs a query, never a wrong answer.

Freshness: once :meth:`FollowedActors.listen` is called (by ``build_receiver``, at start-up),
every ``Following`` saved or deleted through the ORM in this process (an ``Accept`` received, a
follow or unfollow by the admin) forgets the set at once (tortoise signals); changes made
elsewhere (another process, bulk updates) are seen within ``ttl`` seconds, as for blocks
(``inbox/blocks.py``). The cache belongs to the receiver's :class:`InboxServices`: importing
this module creates nothing and registers nothing.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any

from tortoise.signals import Signals

from federation.db.social import Following, FollowState

DEFAULT_TTL = 5.0


class FollowedActors:
    """The ids of the actors (and relay targets) of our accepted follows, cached for ``ttl`` s."""

    def __init__(self, ttl: float = DEFAULT_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._clock = ttl, clock
        self._uris: frozenset[str] | None = None
        self._read_at = 0.0
        self._db: Any = None
        self._generation = 0

    async def may_follow(self, actor_uri: str) -> bool:
        """False when no accepted follow names ``actor_uri`` (as target or as its actor row)."""
        db = Following._meta.db  # a new database (tests) is a new connection: read again
        now = self._clock()
        if self._uris is not None and db is self._db and now - self._read_at < self._ttl:
            return actor_uri in self._uris
        generation = self._generation
        rows = await (Following.filter(state=FollowState.ACCEPTED)
                      .values_list("target_uri", "remote__uri"))
        uris = frozenset(uri for row in rows for uri in row if uri)
        if generation == self._generation:  # no follow changed while reading
            self._uris, self._read_at, self._db = uris, now, db
        return actor_uri in uris

    def invalidate(self) -> None:
        """Forget the set: the next question reads the follows again."""
        self._uris = None
        self._generation += 1

    def listen(self) -> None:
        """Forget the set whenever this process saves or deletes a ``Following``.

        The listener holds this cache weakly: a cache given up (an application closed in the
        tests) is collected, and its listener does nothing.
        """
        cache = weakref.ref(self)

        async def changed(*_: Any) -> None:
            alive = cache()
            if alive is not None:
                alive.invalidate()

        Following.register_listener(Signals.post_save, changed)
        Following.register_listener(Signals.post_delete, changed)
