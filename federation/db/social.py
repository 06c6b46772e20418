"""Remote actors we know, who follows us, whom we follow, and what we block.

Data minimisation: a remote actor row keeps what delivery and verification need (inbox, key)
and what a moderator needs to recognise an author (handle, display name) — nothing else.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from federation.db import URI_LENGTH
from federation.protocol.handles import authority_of, shown_handle
from federation.protocol.uris import origin_of

if TYPE_CHECKING:
    from federation.db.actors import Actor


class FollowState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class SyndicationPolicy(StrEnum):
    ANNOUNCE = "announce"
    REVIEW = "review"
    STORE = "store"


class BlockKind(StrEnum):
    DOMAIN = "domain"
    ACTOR = "actor"


class RemoteActor(Model):
    """A remote actor, as last fetched from its origin (its key is cached here)."""

    id = fields.IntField(primary_key=True)
    uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    domain = fields.CharField(max_length=255, db_index=True)
    inbox = fields.CharField(max_length=URI_LENGTH)
    shared_inbox = fields.CharField(max_length=URI_LENGTH, null=True)
    username = fields.CharField(max_length=255, null=True)
    acct = fields.CharField(
        max_length=400, null=True,
        description="The handle name@host, once both its host and the actor's host confirmed it",
    )
    name = fields.CharField(max_length=255, null=True)
    url = fields.CharField(max_length=URI_LENGTH, null=True)
    type = fields.CharField(max_length=32, default="Person")
    key_id = fields.CharField(max_length=URI_LENGTH, null=True, db_index=True)
    public_key_pem = fields.TextField(null=True)
    fetched_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "remote_actors"

    @property
    def authority(self) -> str:
        """The actor's server as people write it: its host, with the port when it is not the
        scheme's default (``domain`` is the host alone, what domain blocks match)."""
        try:
            return authority_of(origin_of(self.uri))
        except ValueError:  # a row of an older version: never break a page that lists it
            return self.domain

    @property
    def handle(self) -> str:
        """The handle shown for this actor: the confirmed one, else a plain preferredUsername on
        the actor's own server, port included
        (:func:`~federation.protocol.handles.shown_handle`)."""
        return shown_handle(self.acct, self.username, self.authority)

    @property
    def delivery_inbox(self) -> str:
        """The inbox deliveries go to: the shared inbox when there is one."""
        return self.shared_inbox or self.inbox


class Follower(Model):
    """A remote actor following one of our actors."""

    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "actors.Actor", related_name="followers", on_delete=fields.CASCADE
    )
    actor_id: int
    remote: fields.ForeignKeyRelation[RemoteActor] = fields.ForeignKeyField(
        "social.RemoteActor", related_name="follows", on_delete=fields.CASCADE
    )
    remote_id: int
    state = fields.CharEnumField(FollowState, max_length=16, default=FollowState.PENDING)
    follow_activity_uri = fields.CharField(max_length=URI_LENGTH)
    created_at = fields.DatetimeField(auto_now_add=True)
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "followers"
        unique_together = (("actor", "remote"),)
        indexes = (("actor_id", "state"),)


class Following(Model):
    """One of our actors following a remote actor (sister sites, relays)."""

    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "actors.Actor", related_name="following", on_delete=fields.CASCADE
    )
    actor_id: int
    target_uri = fields.CharField(max_length=URI_LENGTH)
    remote: fields.ForeignKeyNullableRelation[RemoteActor] = fields.ForeignKeyField(
        "social.RemoteActor", related_name="followed_by_us", null=True, on_delete=fields.SET_NULL
    )
    remote_id: int | None
    state = fields.CharEnumField(FollowState, max_length=16, default=FollowState.PENDING)
    policy = fields.CharEnumField(SyndicationPolicy, max_length=16, default=SyndicationPolicy.REVIEW)
    is_relay = fields.BooleanField(default=False)
    follow_activity_uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "following"
        unique_together = (("actor", "target_uri"),)


class Block(Model):
    """A domain or an actor blocked by an admin or a moderator (besides the configuration)."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(BlockKind, max_length=16)
    value = fields.CharField(max_length=URI_LENGTH)
    reason = fields.TextField(default="")
    created_by = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "blocks"
        unique_together = (("kind", "value"),)
