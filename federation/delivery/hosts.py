"""The delivery queue per remote host, as an admin sees it and acts on it (``federation
deliveries``, ``/admin/deliveries``).

- :func:`queue_by_host` — per host: deliveries by state, how many pending ones already failed,
  whether the host is set aside (and until when it is next probed), its last error.
- :func:`retry_host` — forget the host's failures (:func:`~federation.delivery.health.restore_host`)
  and make its pending deliveries due now: the worker sends them on its next claim.
- :func:`drop_host` — abandon the host's pending deliveries (they are never sent); deliveries a
  worker is sending at that moment finish as they will.

Nothing here sends anything: the delivery worker does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise.functions import Count

from federation.db.delivery import DeliveryJob, DeliveryState, HostHealth
from federation.delivery.health import as_host_key, restore_host
from federation.errors import BadRequest, NotFound

log = logging.getLogger(__name__)

#: Longest host name accepted from a form or the command line (the column's size).
MAX_HOST_LENGTH = 255
DROPPED_ERROR = "dropped by an admin"


@dataclass
class HostLine:
    """One host's line of the queue."""

    host: str
    pending: int = 0
    failing: int = 0
    delivered: int = 0
    failed: int = 0
    set_aside: bool = False
    last_error: str = ""
    #: Deliveries per state (``pending``, ``sending``, ``delivered``, ``failed``, ``abandoned``).
    states: dict[str, int] = field(default_factory=dict)
    #: When a set-aside host is next probed (ISO 8601), else "".
    set_aside_until: str = ""


async def queue_by_host(limit: int) -> list[HostLine]:
    """The queue summarised per host, most pending first (at most ``limit`` hosts)."""
    lines: dict[str, HostLine] = {}
    counts = await DeliveryJob.annotate(n=Count("id")).group_by("host", "state").values_list(
        "host", "state", "n"
    )
    for host, state, n in counts:
        line = lines.setdefault(host, HostLine(host))
        line.states[str(state)] = line.states.get(str(state), 0) + n
        if state in (DeliveryState.PENDING, DeliveryState.SENDING):
            line.pending += n
        elif state == DeliveryState.DELIVERED:
            line.delivered += n
        else:
            line.failed += n
    failing = await DeliveryJob.filter(
        state__in=[DeliveryState.PENDING, DeliveryState.SENDING], last_error__isnull=False
    ).annotate(n=Count("id")).group_by("host").values_list("host", "n")
    for host, n in failing:
        lines.setdefault(host, HostLine(host)).failing = n
    hosts = list(lines)
    for start in range(0, len(hosts), 500):
        for health in await HostHealth.filter(host__in=hosts[start:start + 500]):
            line = lines[health.host]
            line.set_aside = health.unavailable
            line.last_error = health.last_error or ""
            if health.unavailable and health.set_aside_until is not None:
                line.set_aside_until = health.set_aside_until.isoformat(timespec="minutes")
    ordered = sorted(lines.values(), key=lambda line: (-line.pending, -line.failing, line.host))
    return ordered[:max(0, limit)]


def known_host(text: str) -> str:
    """``text`` as a host key (``name[:port]``); :class:`BadRequest` if it cannot be one."""
    text = text.strip()
    if not text or len(text) > MAX_HOST_LENGTH or any(ch.isspace() for ch in text):
        raise BadRequest("a host is a name, with a port if not the default (social.example)")
    try:
        return as_host_key(text)
    except ValueError:
        raise BadRequest(f"{text[:100]!r} is not a host name") from None


async def require_known(text: str) -> str:
    """``text`` as a host key, if we ever delivered (or tried) to it; else :class:`NotFound`."""
    host = known_host(text)
    if not (await DeliveryJob.exists(host=host) or await HostHealth.exists(host=host)):
        raise NotFound(f"no delivery to {host}")
    return host


async def retry_host(host: str, *, now: datetime | None = None) -> int:
    """Make ``host``'s pending deliveries due now and forget its failures (it is no longer set
    aside); the number of pending deliveries made due."""
    host = await require_known(host)
    now = now or datetime.now(UTC)
    await restore_host(host, now)
    count = await DeliveryJob.filter(host=host, state=DeliveryState.PENDING).update(
        next_attempt_at=now)
    log.info("deliveries to %s retried now (%d pending)", host, count)
    return count


async def drop_host(host: str, *, now: datetime | None = None) -> int:
    """Abandon ``host``'s pending deliveries (never sent); the number abandoned."""
    host = await require_known(host)
    now = now or datetime.now(UTC)
    count = await DeliveryJob.filter(host=host, state=DeliveryState.PENDING).update(
        state=DeliveryState.ABANDONED, finished_at=now, last_error=DROPPED_ERROR,
        lease_owner=None, lease_expires_at=None)
    log.info("%d pending deliveries to %s dropped", count, host)
    return count
