"""De-duplication, tombstones and dispatch of verified activities to their listeners.

An activity id is *claimed* (a ``ReceivedActivity`` row, unique) before its listener runs: the
same activity delivered five times (retries, shared and personal inbox, double-knocking) is
processed once. When the listener refuses the activity or finds it unrelated to us, the claim is
released, so such an activity leaves nothing behind. A claim first lasts
:data:`PROCESSING_LEASE`, and is kept for the ``[inbox]`` retention once its listener is done:
if the process dies in between, the claim expires and the peer's next retry is processed
(at least once). Claims and tombstones are purged by :meth:`Processor.purge_expired`.

Deletion wins (principle 11): a ``Delete`` leaves a :class:`~federation.db.inbox.DeletedObject`
tombstone, and an activity about a tombstoned object or from a deleted actor is a no-op. A
tombstone left by a Delete that could not be verified is only a doubt the listeners settle by
asking the object's origin (:mod:`federation.inbox.deletions`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from tortoise.exceptions import IntegrityError

from federation.db.inbox import (
    DeletedObject,
    ReceivedActivity,
    claim_activity,
    confirm_claim,
    deleted_among,
    release_claim,
    tombstones_among,
    trim_unverified_tombstones,
)
from federation.errors import RemoteError
from federation.inbox.context import Activity, BudgetExhausted
from federation.settings import Settings

logger = logging.getLogger(__name__)

#: How long a claim holds while its listener runs (a listener's remote work is bounded by the
#: fetch budget and the client's timeouts, far below this).
PROCESSING_LEASE = timedelta(minutes=5)


class Outcome(StrEnum):
    """What became of an accepted activity (every one is answered 202)."""

    PROCESSED = "processed"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


#: A listener acts on a verified activity and says whether it changed anything.
Listener = Callable[[Activity], Awaitable[bool]]


async def is_tombstoned(uri: str | None) -> bool:
    """True when ``uri`` names an object (or actor) its author deleted."""
    return uri is not None and bool(await deleted_among([uri]))


async def add_tombstone(object_uri: str, actor_uri: str, retention: timedelta) -> None:
    """Remember that ``object_uri`` was deleted by ``actor_uri`` (idempotent); an unverified
    tombstone of it becomes a verified one."""
    now = datetime.now(UTC)
    try:
        await DeletedObject.create(
            object_uri=object_uri, actor_uri=actor_uri, deleted_at=now, expires_at=now + retention
        )
    except IntegrityError:
        await DeletedObject.filter(object_uri=object_uri, verified=False).update(
            actor_uri=actor_uri, deleted_at=now, expires_at=now + retention, verified=True)


class Processor:
    """Claims activity ids, skips deleted actors, and runs the listener for each type."""

    def __init__(self, settings: Settings, listeners: dict[str, Listener]) -> None:
        self._settings = settings
        self._listeners = listeners

    @property
    def tombstone_retention(self) -> timedelta:
        return timedelta(days=self._settings.inbox.tombstone_retention_days)

    async def process(self, activity: Activity) -> Outcome:
        """Run the listener of ``activity`` once per activity id."""
        listener = self._listeners.get(activity.type)
        if listener is None:
            logger.debug("no listener for %s", activity.type)
            return Outcome.IGNORED
        wanted = [uri for uri in (activity.actor_uri, activity.object_id) if uri is not None]
        found = await tombstones_among(wanted)
        activity.tombstoned = frozenset(uri for uri, verified in found.items() if verified)
        activity.doubtful = frozenset(uri for uri, verified in found.items() if not verified)
        if activity.is_deleted(activity.actor_uri):
            return Outcome.IGNORED
        now = datetime.now(UTC)
        if not await claim_activity(activity.id, activity.actor_uri, activity.type, now,
                                    now + PROCESSING_LEASE):
            return Outcome.DUPLICATE
        try:
            changed = await listener(activity)
        except (BudgetExhausted, RemoteError) as error:
            activity.give_back()
            await release_claim(activity.id)
            logger.info("%s %s not processed: %s", activity.type, activity.id, type(error).__name__)
            return Outcome.IGNORED
        except BaseException:  # TooManyRequests included: the sender's retry is processed
            activity.give_back()
            await release_claim(activity.id)
            raise
        if not changed:  # unrelated to us: keep nothing about it (checklist item 30)
            activity.give_back()
            await release_claim(activity.id)
            return Outcome.IGNORED
        retention = timedelta(days=self._settings.inbox.dedup_retention_days)
        await confirm_claim(activity.id, now + retention)
        return Outcome.PROCESSED

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Delete expired claims and tombstones, and unverified tombstones beyond
        ``[inbox] unverified_tombstones_kept``; return how many rows went."""
        now = now or datetime.now(UTC)
        claims = await ReceivedActivity.filter(expires_at__lt=now).delete()
        tombstones = await DeletedObject.filter(expires_at__lt=now).delete()
        trimmed = await trim_unverified_tombstones(self._settings.inbox.unverified_tombstones_kept)
        return int(claims) + int(tombstones) + trimmed
