"""Deletions from actors we never knew: remembered, without letting a stranger delete anything.

A ``Delete`` from an actor we never knew is acknowledged without fetching anything (receive
pipeline, step 6): Mastodon sends the Delete of an account to every inbox it ever reached, and
the account's key is gone, so it could not be verified anyway. Its object id is still
remembered, as an **unverified tombstone**, so that deletion wins over a ``Create`` of that
object arriving later (reordered, or a late retry) — but the Delete's signature was never
checked: anyone may have sent it. The rule, so that a stranger gains nothing:

- recorded only when the object is not the actor itself (a deleted account we never knew has
  nothing here, and a tombstone of an actor would silence every activity of it), and when the
  activity id, the object id and the signer's key id all live on the actor's origin, which is
  not ours;
- **an unverified tombstone suppresses nothing by itself.** A later ``Create`` or
  ``ReplyRequest`` of that object id (from an actor of the object's origin, as checklist item 13
  requires anyway) makes us ask the object's origin, within the activity's fetch budget, the
  copy in the activity set aside: if the origin answers 404 or 410 or serves a ``Tombstone``,
  the deletion is confirmed by the only authority on the object (security principle 3) — the
  tombstone becomes verified and nothing is stored; if the origin serves the object, the Delete
  was not its author's — the tombstone is dropped and the object as served is used. A forged
  Delete thus costs the real author one more fetch of their object, never the object. An
  ``Announce`` of an object is always re-fetched from its origin: a deleted one is not found.
- bounded: unverified tombstones expire after at most :data:`UNVERIFIED_RETENTION` and at most
  ``[inbox] unverified_tombstones_kept`` of them are kept, the oldest dropped first (checked
  every :data:`TRIM_EVERY` new ones, and by the hourly purge); strangers, all together, write at
  most :data:`WRITES_BURST` of them per :data:`WRITES_PER` seconds (the claimed host cannot be
  trusted to count per host): beyond that a Delete is acknowledged and not remembered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from federation.db import URI_LENGTH
from federation.db.inbox import DeletedObject, trim_unverified_tombstones
from federation.db.raw import insert_new
from federation.errors import RemoteBadResponse
from federation.inbox.context import Activity
from federation.inbox.wire import id_of, type_of
from federation.protocol.uris import same_origin
from federation.ratelimit import KeyedLimiter
from federation.settings import Settings

logger = logging.getLogger(__name__)

#: Unverified tombstones are kept this long at most (a peer retries a delivery for days, not
#: weeks: Mastodon gives up after about 2.8 days).
UNVERIFIED_RETENTION = timedelta(days=14)
#: The number of unverified tombstones is checked after this many new ones (per process).
TRIM_EVERY = 100
#: Unverified tombstones written at most (all senders together) per WRITES_PER seconds.
WRITES_BURST = 600
WRITES_PER = 600.0
#: Answers of an origin that mean "this object is gone".
GONE_STATUSES = frozenset({404, 410})


class UnverifiedDeletions:
    """Records the object ids of Deletes from unknown actors, within the count cap."""

    def __init__(self, settings: Settings, *, trim_every: int = TRIM_EVERY,
                 writes: tuple[int, float] = (WRITES_BURST, WRITES_PER),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._local_origin = settings.base_url
        self._writes = KeyedLimiter(*writes, max_keys=1, clock=clock)
        self._kept = settings.inbox.unverified_tombstones_kept
        self._retention = min(UNVERIFIED_RETENTION,
                              timedelta(days=settings.inbox.tombstone_retention_days))
        self._trim_every, self._since_trim = trim_every, 0

    async def record(self, document: dict[str, Any], actor_uri: str, key_id: str) -> bool:
        """Remember the object of an unverified ``Delete`` if the rule allows; True if recorded."""
        object_id = id_of(document.get("object"))
        if self._kept == 0 or object_id is None or object_id == actor_uri:
            return False
        if len(object_id) > URI_LENGTH or len(actor_uri) > URI_LENGTH:
            return False
        if not all(same_origin(uri, actor_uri) for uri in (object_id, document["id"], key_id)):
            return False
        if same_origin(object_id, self._local_origin):
            return False
        if self._writes.acquire("all"):
            logger.info("unverified Deletes arrive too fast: not remembered")
            return False
        now = datetime.now(UTC)
        created = await insert_new(DeletedObject, {
            "object_uri": object_id, "actor_uri": actor_uri, "deleted_at": now,
            "expires_at": now + self._retention, "verified": False})
        if created is None:  # already tombstoned (verified or not): nothing changes
            self._writes.refund("all")
            return False
        self._since_trim += 1
        if self._since_trim >= self._trim_every:
            self._since_trim = 0
            trimmed = await trim_unverified_tombstones(self._kept)
            if trimmed:
                logger.info("%d unverified tombstone(s) over the cap dropped", trimmed)
        return True


async def ask_origin(activity: Activity, object_id: str, retention: timedelta) -> dict[str, Any] | None:
    """Settle an unverified tombstone of ``object_id`` by fetching it from its origin.

    ``None`` when the origin says it is gone (the tombstone is then verified, for
    ``retention``); else the document as served (the tombstone is dropped). Other failures
    raise :class:`~federation.errors.RemoteError` (the activity is retried by its sender).
    """
    try:
        # the very object named, from the actor's origin (a redirect elsewhere proves nothing)
        document = await activity.fetch_own_object(object_id, exact=True)
    except RemoteBadResponse as error:
        if error.status not in GONE_STATUSES:
            raise
        document = None
    if document is None or type_of(document, ("Tombstone",)) is not None:
        now = datetime.now(UTC)
        await DeletedObject.filter(object_uri=object_id, verified=False).update(
            verified=True, deleted_at=now, expires_at=now + retention)
        logger.info("an unverified deletion was confirmed by the object's origin")
        return None
    await DeletedObject.filter(object_uri=object_id, verified=False).delete()
    logger.info("an unverified deletion was contradicted by the object's origin: dropped")
    return document
