"""Retention of the delivery queue: finished rows are deleted after ``delivery.retention_days``.

Data minimisation (who we delivered to, and when, is not kept longer than needed) and a bounded
queue. :func:`purge_finished` deletes, finished before ``now - retention``:

- deliveries that are ``delivered``, ``failed`` or ``abandoned`` (never ``pending``/``sending``);
- fanouts that are ``done`` and have no delivery left (a fanout's deliveries cascade with it,
  so one that still has any, even a recent finished one, stays);
- host health rows with no failure (not set aside, no failure day) and no pending or sending
  delivery, not touched (last success, failure or set-aside) within the retention period.

It is idempotent: several workers may run it at once. The delivery worker runs it at most once
per :data:`PURGE_INTERVAL` (``run_forever``); ``federation deliveries --purge`` runs it now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q

from federation.db.delivery import (
    FINAL_DELIVERY_STATES,
    DeliveryJob,
    DeliveryState,
    FanoutJob,
    FanoutState,
    HostHealth,
)

#: How often a delivery worker purges.
PURGE_INTERVAL = timedelta(hours=1)
#: Rows deleted per statement (bounded statements, bounded ``IN (…)`` lists).
PURGE_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """How many rows :func:`purge_finished` deleted."""

    deliveries: int = 0
    fanouts: int = 0
    hosts: int = 0

    @property
    def total(self) -> int:
        return self.deliveries + self.fanouts + self.hosts


async def _purge_deliveries(cutoff: datetime) -> int:
    deleted = 0
    while True:
        ids = await DeliveryJob.filter(
            state__in=list(FINAL_DELIVERY_STATES), finished_at__lt=cutoff
        ).order_by("id").limit(PURGE_CHUNK).values_list("id", flat=True)
        if not ids:
            return deleted
        # the state is checked again: a final state is never left, but stay safe
        deleted += await DeliveryJob.filter(
            id__in=list(ids), state__in=list(FINAL_DELIVERY_STATES)
        ).delete()
        if len(ids) < PURGE_CHUNK:
            return deleted


async def _purge_fanouts(cutoff: datetime) -> int:
    deleted, after = 0, 0
    while True:
        ids = list(await FanoutJob.filter(
            state=FanoutState.DONE, done_at__lt=cutoff, id__gt=after
        ).order_by("id").limit(PURGE_CHUNK).values_list("id", flat=True))
        if not ids:
            return deleted
        after = ids[-1]
        kept = set(await DeliveryJob.filter(fanout_id__in=ids).distinct()
                   .values_list("fanout_id", flat=True))
        empty = [i for i in ids if i not in kept]
        if empty:
            # a done fanout gets no new deliveries: those without any now never will
            deleted += await FanoutJob.filter(id__in=empty, state=FanoutState.DONE).delete()
        if len(ids) < PURGE_CHUNK:
            return deleted


def _touched_at(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


async def _purge_hosts(cutoff: datetime) -> int:
    rows = await HostHealth.filter(unavailable=False).values_list(
        "id", "host", "failure_days", "last_success_at", "last_failure_at", "set_aside_at"
    )
    candidates = {}
    for row_id, host, failure_days, success, failure, aside in rows:
        touched = _touched_at(success, failure, aside)
        if not failure_days and (touched is None or touched < cutoff):
            candidates[host] = row_id
    if not candidates:
        return 0
    busy = set(await DeliveryJob.filter(
        state__in=[DeliveryState.PENDING, DeliveryState.SENDING], host__in=list(candidates)
    ).distinct().values_list("host", flat=True))
    ids = [row_id for host, row_id in candidates.items() if host not in busy]
    deleted = 0
    for start in range(0, len(ids), PURGE_CHUNK):
        # re-checked in the statement: a failure recorded meanwhile keeps the row
        deleted += await HostHealth.filter(
            Q(last_failure_at__isnull=True) | Q(last_failure_at__lt=cutoff),
            id__in=ids[start : start + PURGE_CHUNK], unavailable=False,
        ).delete()
    return deleted


async def purge_finished(now: datetime, retention: timedelta) -> PurgeReport:
    """Delete finished deliveries, done fanouts and idle healthy hosts older than ``retention``."""
    if retention <= timedelta(0):
        raise ValueError("the retention must be positive")
    cutoff = now - retention
    deliveries = await _purge_deliveries(cutoff)
    fanouts = await _purge_fanouts(cutoff)
    hosts = await _purge_hosts(cutoff)
    return PurgeReport(deliveries, fanouts, hosts)
