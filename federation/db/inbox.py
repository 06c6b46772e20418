"""What the inbox remembers: activities already received, and objects deleted by their authors.

A :class:`ReceivedActivity` row makes a delivery idempotent: the same activity id arriving again
(retries, shared and personal inbox, double-knocking peers) is acknowledged and ignored. A
:class:`DeletedObject` row is a tombstone: deletion wins, so a late or replayed ``Create`` of a
deleted object is a no-op. Both expire (``expires_at``) and are purged by the inbox.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

URI_LENGTH = 2048


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

    class Meta:
        table = "inbox_deleted_objects"
