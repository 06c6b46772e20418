"""The job table: one row per unit of background work, whatever its kind.

The row contract every job kind shares (:mod:`federation.jobs` claims, leases, retries and
finishes rows of this table, whatever they do):

- ``kind`` names the job's kind (its handler, its state graph, its retry policy);
- ``state`` is ``pending`` (due at ``next_attempt_at``), ``running`` (held under a lease), or a
  final state of the kind's graph (``done``, ``failed``, ``abandoned``);
- ``attempts`` counts claims (a claim whose worker died stays counted);
- ``lease_owner`` is a token unique to one claim, ``lease_expires_at`` when another worker may
  take the job back: only the lease's owner may write the job's result;
- ``key`` is the fairness key (a remote host): a claim takes a few due jobs per key, so one
  key's backlog never hides the due work of the others;
- ``ref`` identifies the job's subject for kinds that have one row per subject (a feed's id,
  the name of a periodic task): at most one job per (kind, ref);
- ``payload`` is the job's data (JSON), ``last_error`` the last failure.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

ERROR_LENGTH = 500
LEASE_OWNER_LENGTH = 128
KEY_LENGTH = 255


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    ABANDONED = "abandoned"


class Job(Model):
    """One unit of background work with its schedule, attempts, lease and last error."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=64)
    key = fields.CharField(max_length=KEY_LENGTH, default="", description="fairness key")
    ref = fields.CharField(max_length=255, null=True, description="subject (one job per kind)")
    state = fields.CharEnumField(JobState, max_length=16, default=JobState.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_owner = fields.CharField(max_length=LEASE_OWNER_LENGTH, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=ERROR_LENGTH, null=True)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "jobs"
        unique_together = (("kind", "ref"),)
        # the claim's head (due jobs of a kind, oldest first) and its walk over keys (a kind's
        # waiting jobs key by key, oldest first; also its running jobs per key)
        indexes = (("kind", "state", "next_attempt_at", "id"), ("state", "lease_expires_at"),
                   ("kind", "state", "key", "next_attempt_at", "id"))
