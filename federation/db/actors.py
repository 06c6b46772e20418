"""Local actors (the site actor and the collectives) and their keys.

The database owns everything about an actor once it exists: its identity, the date it started,
its keys and its profile (``profile``, the fields of an ``ActorConfig`` but the identifier). The
configuration file only seeds a profile the first time an actor is seen (docs/admin.md):
afterwards the admin's changes (web UI or CLI) are what is published.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class KeyKind(StrEnum):
    RSA = "rsa"
    ED25519 = "ed25519"


class Actor(Model):
    """A local actor, known by the stable identifier used in its URLs."""

    id = fields.IntField(primary_key=True)
    identifier = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    username_key = fields.CharField(
        max_length=64, unique=True, null=True,
        description="the WebFinger username lowercased (unique whatever the case)")
    profile: fields.JSONField[dict[str, Any] | None] = fields.JSONField(
        null=True, description="the published profile (null until seeded from the file)")
    avatar_file = fields.CharField(max_length=80, null=True,
                                   description="uploaded avatar under data_dir/media/actors")
    header_file = fields.CharField(max_length=80, null=True,
                                   description="uploaded header under data_dir/media/actors")
    updated_at = fields.DatetimeField(auto_now=True, null=True)
    retired_at = fields.DatetimeField(null=True, description="set once: the actor is gone")

    keys: fields.ReverseRelation[ActorKey]

    class Meta:
        table = "actors"


class ActorKey(Model):
    """A key pair of a local actor, the private part is encrypted with the data-dir secret."""

    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "actors.Actor", related_name="keys", on_delete=fields.CASCADE
    )
    actor_id: int
    kind = fields.CharEnumField(KeyKind, max_length=16)
    public_pem = fields.TextField()
    private_encrypted = fields.TextField()
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    retired_at = fields.DatetimeField(null=True)

    class Meta:
        table = "actor_keys"
        indexes = (("actor_id", "kind", "active"),)

    def __repr__(self) -> str:  # never print key material
        return f"<ActorKey {self.id} {self.kind} actor={self.actor_id} active={self.active}>"
