"""The durable queue: claiming jobs under a lease, releasing them, recording results in batches.

Claiming is a lease: a claimed job carries ``lease_owner`` (a token unique to that claim) and
``lease_expires_at``; a job whose lease expired (its worker died) is claimable again, so every
job is attempted at least once and never lost.

- PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` and the lease ``UPDATE`` in one transaction,
  so concurrent workers (processes) never claim the same row.
- SQLite (one writer at a time): the candidates are read, then one ``UPDATE … WHERE id IN (…)
  AND (claimable)`` takes them; if it changed fewer rows than expected, the rows that carry our
  token are read back.

Results are written grouped (one ``UPDATE`` per outcome kind) in one transaction per batch.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from tortoise.expressions import F, Q, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from federation.db.delivery import (
    DeliveryJob,
    DeliveryState,
    FanoutJob,
    FanoutState,
    HostHealth,
)

M = TypeVar("M", bound=Model)

#: Candidates read per claimed slot, so the per-host cap can skip busy hosts.
OVERSELECT = 4


def is_postgres(model: type[Model] = DeliveryJob) -> bool:
    """True when ``model`` lives in a PostgreSQL database."""
    return model._meta.db.capabilities.dialect == "postgres"


class LeaseTokens:
    """Lease tokens of one worker: ``<owner>/<n>``, unique per claim."""

    def __init__(self, owner: str | None = None) -> None:
        self.owner = owner or uuid.uuid4().hex[:12]
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self.owner}/{next(self._counter)}"


def claimable_deliveries(now: datetime) -> QuerySet[DeliveryJob]:
    """Due pending jobs, and jobs whose lease expired, on hosts not set aside."""
    set_aside = HostHealth.filter(unavailable=True, set_aside_until__gt=now).values("host")
    return DeliveryJob.filter(
        Q(state=DeliveryState.PENDING, next_attempt_at__lte=now)
        | Q(state=DeliveryState.SENDING, lease_expires_at__lt=now)
    ).exclude(host__in=Subquery(set_aside))


def claimable_fanouts(now: datetime) -> QuerySet[FanoutJob]:
    """New fanouts, and fanouts whose expanding worker's lease expired."""
    return FanoutJob.filter(
        Q(state=FanoutState.NEW) | Q(state=FanoutState.EXPANDING, lease_expires_at__lt=now)
    )


def pick_per_host(
    rows: Sequence[DeliveryJob], limit: int, busy: Mapping[str, int], per_host: int
) -> list[DeliveryJob]:
    """At most ``limit`` rows, at most ``per_host`` per host counting ``busy`` in-flight ones."""
    counts = dict(busy)
    chosen = []
    for row in rows:
        if counts.get(row.host, 0) >= per_host:
            continue
        counts[row.host] = counts.get(row.host, 0) + 1
        chosen.append(row)
        if len(chosen) >= limit:
            break
    return chosen


async def _claim(
    claimable: QuerySet[M],
    model: type[M],
    token: str,
    now: datetime,
    lease: timedelta,
    read: int,
    choose: object,
    updates: dict[str, object],
) -> list[M]:
    """Shared claim algorithm; ``choose`` narrows the candidates read (callable)."""
    ordering = ("next_attempt_at", "id") if model is DeliveryJob else ("id",)
    values = {"lease_owner": token, "lease_expires_at": now + lease, **updates}
    if is_postgres(model):
        async with in_transaction() as connection:
            rows = await (
                claimable.order_by(*ordering).limit(read)
                .select_for_update(skip_locked=True).using_db(connection)
            )
            chosen = choose(rows)  # type: ignore[operator]
            if chosen:
                await model.filter(id__in=[r.pk for r in chosen]).using_db(connection).update(**values)
    else:
        rows = await claimable.order_by(*ordering).limit(read)
        chosen = choose(rows)  # type: ignore[operator]
        if not chosen:
            return []
        ids = [r.pk for r in chosen]
        changed = await claimable.filter(id__in=ids).update(**values)
        if changed != len(ids):  # another worker took some: keep the rows carrying our token
            mine = set(await model.filter(id__in=ids, lease_owner=token).values_list("id", flat=True))
            chosen = [r for r in chosen if r.pk in mine]
    for row in chosen:
        row.lease_owner = token
        row.lease_expires_at = now + lease
    return chosen


async def claim_deliveries(
    token: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    *,
    busy: Mapping[str, int] | None = None,
    per_host: int = 4,
) -> list[DeliveryJob]:
    """Claim up to ``limit`` due deliveries (state ``sending``, attempts counted at claim)."""
    if limit <= 0:
        return []
    chosen = await _claim(
        claimable_deliveries(now), DeliveryJob, token, now, lease, limit * OVERSELECT,
        lambda rows: pick_per_host(rows, limit, busy or {}, per_host),
        {"state": DeliveryState.SENDING, "attempts": F("attempts") + 1},
    )
    for row in chosen:
        row.state = DeliveryState.SENDING
        row.attempts += 1
    return chosen


async def claim_fanouts(token: str, now: datetime, lease: timedelta, limit: int) -> list[FanoutJob]:
    """Claim up to ``limit`` fanouts to expand."""
    chosen = await _claim(
        claimable_fanouts(now), FanoutJob, token, now, lease, limit,
        lambda rows: list(rows), {"state": FanoutState.EXPANDING},
    )
    for row in chosen:
        row.state = FanoutState.EXPANDING
    return chosen


async def release_deliveries(jobs: Sequence[DeliveryJob]) -> int:
    """Give back claimed jobs that were not attempted (clean shutdown): pending again, now."""
    released = 0
    by_token: dict[str, list[int]] = {}
    for job in jobs:
        by_token.setdefault(job.lease_owner or "", []).append(job.id)
    for token, ids in by_token.items():
        released += await DeliveryJob.filter(id__in=ids, lease_owner=token).update(
            state=DeliveryState.PENDING, lease_owner=None, lease_expires_at=None,
            attempts=F("attempts") - 1,
        )
    return released
