"""Durable delivery state: fanouts, per-inbox deliveries and the health of remote hosts.

Every step of a delivery is a row with a small declared state machine, so a crash loses
nothing: a job whose worker died is taken up again when its lease expires.

- :class:`FanoutJob` — one per sent activity: ``new → expanding → done``. Expanding turns the
  audience into one :class:`DeliveryJob` per distinct inbox.
- :class:`DeliveryJob` — one per inbox: ``pending → sending → delivered | failed | abandoned``
  (``sending`` is a pending job under a lease; a failed attempt puts it back to ``pending``
  with a later ``next_attempt_at``).
- :class:`HostHealth` — per remote host: the distinct days it failed on, whether it is set
  aside (unavailable), its last error and last success.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from federation.db import URI_LENGTH

if TYPE_CHECKING:
    from federation.db.content import OutboxActivity

ERROR_LENGTH = 500
LEASE_OWNER_LENGTH = 128


class FanoutState(StrEnum):
    NEW = "new"
    EXPANDING = "expanding"
    DONE = "done"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"
    ABANDONED = "abandoned"


#: States a delivery never leaves.
FINAL_DELIVERY_STATES = frozenset(
    {DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.ABANDONED}
)


class FanoutJob(Model):
    """One sent activity waiting to be split into one delivery per inbox."""

    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[OutboxActivity] = fields.ForeignKeyField(
        "content.OutboxActivity", related_name="fanouts", on_delete=fields.CASCADE
    )
    activity_id: int
    sender = fields.CharField(max_length=64, description="identifier of the local actor")
    audience: fields.JSONField[dict[str, Any]] = fields.JSONField(description="followers_of, actor_uris and inboxes")
    state = fields.CharEnumField(FanoutState, max_length=16, default=FanoutState.NEW)
    lease_owner = fields.CharField(max_length=LEASE_OWNER_LENGTH, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    inbox_count = fields.IntField(default=0)
    last_error = fields.CharField(max_length=ERROR_LENGTH, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery_fanouts"
        indexes = (("state", "lease_expires_at"),)


class DeliveryJob(Model):
    """One activity to POST to one inbox, with its attempts and lease."""

    id = fields.IntField(primary_key=True)
    fanout: fields.ForeignKeyRelation[FanoutJob] = fields.ForeignKeyField(
        "delivery.FanoutJob", related_name="deliveries", on_delete=fields.CASCADE
    )
    fanout_id: int
    activity: fields.ForeignKeyRelation[OutboxActivity] = fields.ForeignKeyField(
        "content.OutboxActivity", related_name="deliveries", on_delete=fields.CASCADE
    )
    activity_id: int
    inbox_url = fields.CharField(max_length=URI_LENGTH)
    host = fields.CharField(max_length=255, description="normalised host of the inbox")
    state = fields.CharEnumField(DeliveryState, max_length=16, default=DeliveryState.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_owner = fields.CharField(max_length=LEASE_OWNER_LENGTH, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    last_status = fields.IntField(null=True)
    last_error = fields.CharField(max_length=ERROR_LENGTH, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery_jobs"
        unique_together = (("fanout", "inbox_url"),)
        indexes = (("state", "next_attempt_at", "host"), ("host", "state"),
                   ("inbox_url", "state"))


class HostHealth(Model):
    """How a remote host has been answering our deliveries."""

    id = fields.IntField(primary_key=True)
    host = fields.CharField(max_length=255, unique=True)
    failure_days: fields.JSONField[list[str]] = fields.JSONField(default=list, description="ISO dates with a failure")
    unavailable = fields.BooleanField(default=False, description="set aside: not attempted")
    set_aside_at = fields.DatetimeField(null=True)
    set_aside_until = fields.DatetimeField(null=True, description="next probe of a set-aside host")
    last_error = fields.CharField(max_length=ERROR_LENGTH, null=True)
    last_failure_at = fields.DatetimeField(null=True)
    last_success_at = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery_host_health"
        indexes = (("unavailable", "set_aside_until"),)
