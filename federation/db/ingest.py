"""What comes in: the CMS clients' API tokens and the feeds we poll.

A token is stored as the SHA-256 of a random secret shown once. A feed keeps what conditional
GET needs (ETag, Last-Modified), a hash of the last body, its schedule and its failures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from federation.db import URI_LENGTH
from federation.db.vocabulary import FeedKind as FeedKind

if TYPE_CHECKING:
    from federation.db.actors import Actor


class ApiToken(Model):
    """A bearer token of one CMS client, stored hashed (SHA-256 hex of the secret)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=16, description="first characters, to recognise it")
    actors: fields.JSONField[list[str]] = fields.JSONField(default=list, description="identifiers it may publish for, empty for all")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_tokens"


class Feed(Model):
    """A feed (RSS, Atom, JSON Feed or iCalendar) polled for one actor."""

    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "actors.Actor", related_name="feeds", on_delete=fields.CASCADE
    )
    actor_id: int
    url = fields.CharField(max_length=URI_LENGTH)
    kind = fields.CharEnumField(FeedKind, max_length=8)
    interval_seconds = fields.IntField(default=900)
    etag = fields.CharField(max_length=512, null=True)
    last_modified = fields.CharField(max_length=64, null=True)
    body_hash = fields.CharField(max_length=64, null=True)
    next_poll_at = fields.DatetimeField()
    failures = fields.IntField(default=0)
    last_error = fields.TextField(default="")
    last_polled_at = fields.DatetimeField(null=True)
    last_success_at = fields.DatetimeField(null=True)
    primed = fields.BooleanField(default=False, description="its existing entries were recorded")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "feeds"
        unique_together = (("actor", "url"),)
        indexes = (("next_poll_at",),)
