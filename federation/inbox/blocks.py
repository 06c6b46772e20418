"""Who is blocked: the configuration's domains and the moderators' ``social.Block`` rows.

The inbox consults the block list for every request, so it is read from the database at most
once per ``ttl`` seconds (one query), and kept in memory between reads: a new Block row takes
effect within ``ttl`` seconds. Domains block their subdomains too
(:func:`federation.delivery.fanout.is_blocked`, the rule deliveries follow), and are compared
as hosts are (:func:`federation.delivery.fanout.normalise_domains`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from federation.db.social import Block, BlockKind
from federation.delivery.fanout import is_blocked, normalise_domains
from federation.settings import Settings

DEFAULT_TTL = 5.0


@dataclass(frozen=True)
class BlockSnapshot:
    """Blocked domains and actor ids at one moment."""

    domains: frozenset[str]
    actors: frozenset[str]

    def domain_blocked(self, host: str) -> bool:
        return is_blocked(host, self.domains)

    def actor_blocked(self, actor_uri: str) -> bool:
        return actor_uri in self.actors


class BlockList:
    """The current :class:`BlockSnapshot`, refreshed from the database every ``ttl`` seconds."""

    def __init__(self, settings: Settings, ttl: float = DEFAULT_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._configured = frozenset(normalise_domains(settings.blocked_domains))
        self._ttl, self._clock = ttl, clock
        self._snapshot: BlockSnapshot | None = None
        self._read_at = 0.0

    async def current(self) -> BlockSnapshot:
        now = self._clock()
        if self._snapshot is None or now - self._read_at >= self._ttl:
            rows = await Block.all().values_list("kind", "value")
            domains = normalise_domains(v for k, v in rows if k == BlockKind.DOMAIN)
            actors = {str(v) for k, v in rows if k == BlockKind.ACTOR}
            self._snapshot = BlockSnapshot(self._configured | domains, frozenset(actors))
            self._read_at = now
        return self._snapshot

    def invalidate(self) -> None:
        """Forget the snapshot: the next request reads the blocks again."""
        self._snapshot = None
