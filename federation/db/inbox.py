"""What the inbox remembers: activities already received, and objects deleted by their authors.

A :class:`ReceivedActivity` row makes a delivery idempotent: the same activity id arriving again
(retries, shared and personal inbox, double-knocking peers) is acknowledged and ignored. A
:class:`DeletedObject` row is a tombstone: deletion wins, so a late or replayed ``Create`` of a
deleted object is a no-op. A tombstone left by a ``Delete`` whose signature could not be
verified (its actor was unknown to us) is *unverified*: it only makes the object's origin be
asked again (``federation/inbox/deletions.py``). Both expire (``expires_at``) and are purged by
the inbox; unverified tombstones are also capped in number.
"""

from __future__ import annotations

from datetime import datetime

from tortoise import fields
from tortoise.models import Model

from federation.db import URI_LENGTH, column
from federation.db.raw import db_value, placeholders


class ReceivedActivity(Model):
    """An activity id already received from a verified signer (for de-duplication)."""

    id = fields.IntField(primary_key=True)
    activity_uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    actor_uri = fields.CharField(max_length=URI_LENGTH)
    type = fields.CharField(max_length=32)
    received_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "inbox_received_activities"


class DeletedObject(Model):
    """A tombstone: a remote object its author deleted (a later Create of it changes nothing)."""

    id = fields.IntField(primary_key=True)
    object_uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    actor_uri = fields.CharField(max_length=URI_LENGTH)
    deleted_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)
    verified = fields.BooleanField(
        default=True, db_default=True, description="the Delete was signed by a key proven to be its actor's")

    class Meta:
        table = "inbox_deleted_objects"


# -- hot-path queries ---------------------------------------------------------------------
# Every inbox request claims its activity id and looks for tombstones. These two statements
# are written by hand (one round trip each, no ORM query building: ~5x less CPU than the
# equivalent QuerySet); values are converted by the models' own fields, so ORM reads agree.


async def claim_activity(activity_uri: str, actor_uri: str, kind: str, received_at: datetime,
                         expires_at: datetime) -> bool:
    """Record ``activity_uri`` as received until ``expires_at``; ``False`` when a claim that
    has not expired exists (a duplicate). An expired claim is taken over: a claim left by a
    process that died while handling the activity lets the peer's later retry through."""
    db = ReceivedActivity._meta.db
    marks = placeholders(db.capabilities.dialect, 6)
    # The leading comment makes tortoise's asyncpg client fetch the RETURNING row.
    sql = (f"/* claim */ INSERT INTO inbox_received_activities "
           f"(activity_uri, actor_uri, type, received_at, expires_at) VALUES ({', '.join(marks[:5])}) "
           f"ON CONFLICT (activity_uri) DO UPDATE SET actor_uri = excluded.actor_uri, "
           f"type = excluded.type, received_at = excluded.received_at, "
           f"expires_at = excluded.expires_at "
           f"WHERE inbox_received_activities.expires_at < {marks[5]} RETURNING id")
    now = db_value(ReceivedActivity, "received_at", received_at)
    values = [activity_uri, actor_uri, kind[:32], now,
              db_value(ReceivedActivity, "expires_at", expires_at), now]
    _, rows = await db.execute_query(sql, values)
    return bool(rows)


async def confirm_claim(activity_uri: str, expires_at: datetime) -> None:
    """Keep a claim until ``expires_at`` (the activity was handled: de-duplicate it that long)."""
    db = ReceivedActivity._meta.db
    marks = placeholders(db.capabilities.dialect, 2)
    await db.execute_query(
        f"UPDATE inbox_received_activities SET expires_at = {marks[0]} "
        f"WHERE activity_uri = {marks[1]}",
        [db_value(ReceivedActivity, "expires_at", expires_at), activity_uri])


async def release_claim(activity_uri: str) -> None:
    """Forget a claim (the activity was refused or did not concern us)."""
    db = ReceivedActivity._meta.db
    [mark] = placeholders(db.capabilities.dialect, 1)
    await db.execute_query(f"DELETE FROM inbox_received_activities WHERE activity_uri = {mark}",
                           [activity_uri])


async def tombstones_among(uris: list[str]) -> dict[str, bool]:
    """Which of ``uris`` have a tombstone, each with whether its Delete was verified."""
    if not uris:
        return {}
    db = DeletedObject._meta.db
    marks = placeholders(db.capabilities.dialect, len(uris))
    _, rows = await db.execute_query(
        f"SELECT object_uri, verified FROM inbox_deleted_objects "
        f"WHERE object_uri IN ({', '.join(marks)})", list(uris))
    return {row["object_uri"]: bool(row["verified"]) for row in rows}


async def deleted_among(uris: list[str]) -> frozenset[str]:
    """Which of ``uris`` have a verified tombstone (their author's Delete was verified)."""
    return frozenset(uri for uri, verified in (await tombstones_among(uris)).items() if verified)


async def trim_unverified_tombstones(keep: int) -> int:
    """Delete unverified tombstones beyond the ``keep`` newest; return how many went."""
    if keep <= 0:
        return await DeletedObject.filter(verified=False).delete()
    oldest_kept: list[int] = await column(
        DeletedObject.filter(verified=False).order_by("-id").offset(keep - 1).limit(1), "id")
    if not oldest_kept:
        return 0
    return await DeletedObject.filter(verified=False, id__lt=oldest_kept[0]).delete()
