"""What we publish: objects (articles, events, notes) and the activities that carry them.

An object keeps its ActivityPub document as built when it last changed, so serving it is a
read; what publishing decides on (an event's date, place and status, the ``updated`` last
sent) is kept in typed columns beside it, and the document is never read back to decide. A deleted object keeps its row (state deleted) to answer 410 with a Tombstone and to make
a replayed create a no-op.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from federation.db import URI_LENGTH

if TYPE_CHECKING:
    from federation.db.actors import Actor


class ObjectKind(StrEnum):
    ARTICLE = "article"
    EVENT = "event"
    NOTE = "note"


class ObjectState(StrEnum):
    PUBLISHED = "published"
    DELETED = "deleted"


class ContentObject(Model):
    """A published object of one of our actors, keyed by where it came from."""

    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "actors.Actor", related_name="objects", on_delete=fields.CASCADE
    )
    actor_id: int
    kind = fields.CharEnumField(ObjectKind, max_length=16)
    source = fields.CharField(max_length=32, description="push, feed, ical, import, system")
    source_id = fields.CharField(max_length=URI_LENGTH, description="the id given by the source")
    uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    url = fields.CharField(max_length=URI_LENGTH, null=True)
    document: fields.JSONField[dict[str, Any]] = fields.JSONField()
    content_hash = fields.CharField(max_length=64)
    state = fields.CharEnumField(ObjectState, max_length=16, default=ObjectState.PUBLISHED)
    pinned = fields.BooleanField(default=False)
    published_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    edited_at = fields.DatetimeField(
        null=True, description="the updated time of the last Update sent (null before one)")
    start_at = fields.DatetimeField(null=True, description="an event's start (UTC)")
    end_at = fields.DatetimeField(null=True, description="an event's end (UTC), if it has one")
    timezone = fields.CharField(max_length=64, null=True,
                                description="the IANA zone an event is shown in")
    place = fields.TextField(null=True,
                             description="an event's place on one line: name, street, locality")
    event_status = fields.CharField(max_length=16, null=True,
                                    description="TENTATIVE, CONFIRMED or CANCELLED (events)")

    class Meta:
        table = "content_objects"
        unique_together = (("actor", "source", "source_id"),)
        indexes = (("actor_id", "state", "published_at"),)


class OutboxActivity(Model):
    """An activity we sent: served at its id to its readers, public ones listed in the outbox.

    Once undone or its object deleted (``withdrawn_at``) it answers 410 and leaves the outbox.
    """

    id = fields.IntField(primary_key=True)
    uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "actors.Actor", related_name="activities", on_delete=fields.CASCADE
    )
    actor_id: int
    type = fields.CharField(max_length=32)
    object_uri = fields.CharField(max_length=URI_LENGTH, null=True, db_index=True)
    document: fields.JSONField[dict[str, Any]] = fields.JSONField()
    public = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    readers: fields.JSONField[list[str]] = fields.JSONField(
        null=True, description="whom it was sent to besides its addressing: actor ids, inbox URLs")
    withdrawn_at = fields.DatetimeField(
        null=True, description="when it was undone, or its object deleted (it then answers 410)")

    class Meta:
        table = "outbox_activities"
        indexes = (("actor_id", "public", "id"),)
