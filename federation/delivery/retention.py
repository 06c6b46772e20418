"""Retention of the delivery queue: finished rows are deleted after ``delivery.retention_days``.

Data minimisation (who we delivered to, and when, is not kept longer than needed) and a bounded
queue. :func:`purge_finished` deletes, finished before ``now - retention``:

- deliveries that are ``delivered``, ``failed`` or ``abandoned`` (never ``pending``/``sending``);
- fanouts that are ``done`` and have no delivery left (a fanout's deliveries cascade with it,
  so one that still has any, even a recent finished one, stays);
- host health rows with no failure (not set aside, no failure day) and no pending or sending
  delivery, not touched (last success, failure or set-aside) within the retention period;
- host health rows of hosts that failed or were set aside, with no pending or sending
  delivery, not touched within :data:`FAILED_HOST_RETENTION` (security rule 10: records kept
  about failing hosts expire). Such a host, if we ever deliver to it again, starts afresh: its
  failures are counted again, on distinct days, before it is set aside.

It is idempotent: several processes may run it at once. The job engine runs it every
:data:`PURGE_INTERVAL` as the ``delivery.purge`` job (:data:`federation.jobs.kinds.DELIVERY_PURGE`,
one recurring job: whichever job worker claims it, in ``serve`` unless ``--no-worker``, or in a
``federation worker``; :mod:`federation.web.loops`); ``federation deliveries --purge`` runs it now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q

from federation.db import column
from federation.db.delivery import (
    FINAL_DELIVERY_STATES,
    DeliveryJob,
    DeliveryState,
    FanoutJob,
    FanoutState,
    HostHealth,
)

#: How often the job engine purges (the ``delivery.purge`` job).
PURGE_INTERVAL = timedelta(hours=1)
#: Rows deleted per statement (bounded statements, bounded ``IN (…)`` lists).
PURGE_CHUNK = 1000
#: A host that failed (or was set aside) and was not touched since is forgotten after this
#: (at least the retention): longer than the days counted to set a host aside
#: (``health.MAX_FAILURE_DAYS``), so that purging never shortens that count while deliveries go on.
FAILED_HOST_RETENTION = timedelta(days=30)


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
        ids: list[int] = await column(DeliveryJob.filter(
            state__in=list(FINAL_DELIVERY_STATES), finished_at__lt=cutoff
        ).order_by("id").limit(PURGE_CHUNK), "id")
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
        ids: list[int] = await column(FanoutJob.filter(
            state=FanoutState.DONE, done_at__lt=cutoff, id__gt=after
        ).order_by("id").limit(PURGE_CHUNK), "id")
        if not ids:
            return deleted
        after = ids[-1]
        kept: set[int] = set(await column(DeliveryJob.filter(fanout_id__in=ids).distinct(),
                                          "fanout_id"))
        empty = [i for i in ids if i not in kept]
        if empty:
            # a done fanout gets no new deliveries: those without any now never will
            deleted += await FanoutJob.filter(id__in=empty, state=FanoutState.DONE).delete()
        if len(ids) < PURGE_CHUNK:
            return deleted


def _touched_at(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


async def _purge_hosts(cutoff: datetime, failed_cutoff: datetime) -> int:
    rows = await HostHealth.all().values_list(
        "id", "host", "failure_days", "unavailable", "last_success_at", "last_failure_at",
        "set_aside_at",
    )
    healthy, failed = {}, {}
    for row_id, host, failure_days, unavailable, success, failure, aside in rows:
        touched = _touched_at(success, failure, aside)
        if failure_days or unavailable:
            if touched is None or touched < failed_cutoff:
                failed[host] = row_id
        elif touched is None or touched < cutoff:
            healthy[host] = row_id
    if not healthy and not failed:
        return 0
    hosts, busy = [*healthy, *failed], set[str]()
    for start in range(0, len(hosts), PURGE_CHUNK):
        busy.update(await column(DeliveryJob.filter(
            state__in=[DeliveryState.PENDING, DeliveryState.SENDING],
            host__in=hosts[start : start + PURGE_CHUNK],
        ).distinct(), "host"))
    deleted = 0
    for candidates, before, extra in ((healthy, cutoff, {"unavailable": False}),
                                      (failed, failed_cutoff, {})):
        ids = [row_id for host, row_id in candidates.items() if host not in busy]
        for start in range(0, len(ids), PURGE_CHUNK):
            # re-checked in the statement: a failure recorded meanwhile keeps the row
            deleted += await HostHealth.filter(
                Q(last_failure_at__isnull=True) | Q(last_failure_at__lt=before),
                Q(set_aside_at__isnull=True) | Q(set_aside_at__lt=before),
                id__in=ids[start : start + PURGE_CHUNK], **extra,
            ).delete()
    return deleted


async def purge_finished(now: datetime, retention: timedelta) -> PurgeReport:
    """Delete finished deliveries, done fanouts and idle healthy hosts older than ``retention``,
    and idle failed hosts older than :data:`FAILED_HOST_RETENTION` (or ``retention``, if longer)."""
    if retention <= timedelta(0):
        raise ValueError("the retention must be positive")
    cutoff = now - retention
    deliveries = await _purge_deliveries(cutoff)
    fanouts = await _purge_fanouts(cutoff)
    hosts = await _purge_hosts(cutoff, now - max(retention, FAILED_HOST_RETENTION))
    return PurgeReport(deliveries, fanouts, hosts)
