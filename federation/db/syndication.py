"""Sister sites' items we received and may republish: one row per remote object.

An item arrives from an actor we follow (or through a relay we subscribed to) and is kept
according to the policy of its source (``social.Following.policy``): boosted at once
(*approved*), waiting for an editor (*pending_review*), or kept for the site only (*stored*).
A deleted source item is *withdrawn*: its content is dropped, the row stays so that the
Undo of our Announce can be traced.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from federation.db import URI_LENGTH

if TYPE_CHECKING:
    from federation.db.social import Following


class ItemState(StrEnum):
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    STORED = "stored"
    WITHDRAWN = "withdrawn"


#: States whose items the site may show (feeds for the CMS).
VISIBLE_STATES = (ItemState.APPROVED, ItemState.STORED)


class SyndicatedItem(Model):
    """An article, event or note of a followed sister site (content sanitised on intake)."""

    id = fields.IntField(primary_key=True)
    source: fields.ForeignKeyRelation[Following] = fields.ForeignKeyField(
        "social.Following", related_name="syndicated_items", on_delete=fields.CASCADE
    )
    source_id: int
    object_uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    type = fields.CharField(max_length=32)
    actor_uri = fields.CharField(max_length=URI_LENGTH, description="the author (attributedTo)")
    via_uri = fields.CharField(max_length=URI_LENGTH, null=True,
                               description="the announcing actor or relay, if any")
    document: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict, description="the sanitised object as kept")
    name = fields.CharField(max_length=500, default="")
    summary = fields.TextField(default="", description="sanitised HTML")
    url = fields.CharField(max_length=URI_LENGTH, null=True)
    published_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(null=True)
    start_at = fields.DatetimeField(null=True)
    end_at = fields.DatetimeField(null=True)
    state = fields.CharEnumField(ItemState, max_length=16)
    announce_activity_uri = fields.CharField(max_length=URI_LENGTH, null=True)
    received_at = fields.DatetimeField(auto_now_add=True)
    decided_at = fields.DatetimeField(null=True)
    decided_by = fields.CharField(max_length=64, default="")
    withdrawn_at = fields.DatetimeField(null=True)

    class Meta:
        table = "syndicated_items"
        indexes = (("state", "id"), ("source_id", "state"))
