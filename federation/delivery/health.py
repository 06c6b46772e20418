"""Health of remote hosts: failures on distinct days set a host aside, a success restores it.

Modelled on Mastodon: a host whose deliveries failed on :data:`SET_ASIDE_AFTER_DAYS` distinct
days is *unavailable*. Its deliveries are not attempted (they stay pending) until it answers a
delivery successfully or sends us a verified request (:func:`host_contacted`). While set aside,
one probe is allowed every :data:`PROBE_INTERVAL` so that a host that came back is noticed even
if it never writes to us. The list of failure days is bounded (security rule 10).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from federation.db import column
from federation.db.delivery import DeliveryJob, DeliveryState, HostHealth
from federation.delivery.queue import db_value, placeholders, sql
from federation.protocol.numbers import is_ascii_digits
from federation.protocol.uris import DEFAULT_PORTS, normalise_host, origin_of

log = logging.getLogger(__name__)

#: Failures on this many distinct days set a host aside.
SET_ASIDE_AFTER_DAYS = 7
#: A set-aside host is probed (one claim window) this often.
PROBE_INTERVAL = timedelta(hours=24)
#: Failure days remembered per host.
MAX_FAILURE_DAYS = 14
ERROR_LENGTH = 500


def host_key(url: str) -> str:
    """The host a delivery to ``url`` counts against: ``name[:port]``, port only if not default.

    ``ValueError`` for a URL without an http(s) origin.
    """
    origin = origin_of(url)
    host = f"[{origin.host}]" if ":" in origin.host else origin.host
    return host if DEFAULT_PORTS.get(origin.scheme) == origin.port else f"{host}:{origin.port}"


def as_host_key(host_or_url: str) -> str:
    if "://" in host_or_url:
        return host_key(host_or_url)
    name, sep, port = host_or_url.strip().rpartition(":")
    if sep and is_ascii_digits(port) and not name.endswith(":"):
        return f"{normalise_host(name)}:{port}"
    return normalise_host(host_or_url)


def add_failure_day(days: list[str], now: datetime) -> list[str]:
    """``days`` (ISO dates) with the UTC date of ``now`` added, sorted, bounded."""
    today = now.astimezone(UTC).date().isoformat()
    merged = sorted(set(days) | {today})
    return merged[-MAX_FAILURE_DAYS:]


async def record_failure(host: str, error: str, now: datetime) -> bool:
    """Note a failed delivery to ``host``; return True when this sets the host aside."""
    row, _ = await HostHealth.get_or_create(host=host)
    days = add_failure_day(list(row.failure_days or []), now)
    row.failure_days = days
    row.last_error = error[:ERROR_LENGTH]
    row.last_failure_at = now
    newly = False
    if len(days) >= SET_ASIDE_AFTER_DAYS:
        newly = not row.unavailable
        row.unavailable = True
        row.set_aside_at = row.set_aside_at if not newly else now
        row.set_aside_until = now + PROBE_INTERVAL
    await row.save()
    if newly:
        log.warning("host %s set aside: deliveries failed on %d distinct days", host, len(days))
    return newly


async def record_successes(hosts: Iterable[str], now: datetime,
                           connection: BaseDBAsyncClient | None = None) -> None:
    """Deliveries to ``hosts`` succeeded: forget their failures (one statement per 500 hosts,
    on ``connection`` — the outcomes' transaction — when given). Plain SQL: the ORM built an
    ``IN`` list of a batch's hosts term by term (~1 ms a batch of deliveries)."""
    wanted = sorted(set(hosts))
    connection = connection or HostHealth._meta.db
    values = [db_value(HostHealth, "failure_days", []), db_value(HostHealth, "unavailable", False),
              db_value(HostHealth, "last_success_at", now)]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        await connection.execute_query(sql(
            'UPDATE "delivery_host_health" SET "failure_days" = ?, "unavailable" = ?, '
            f'"set_aside_until" = NULL, "last_success_at" = ? WHERE "host" IN '
            f'({placeholders(len(chunk))})', connection), [*values, *chunk])


async def set_aside_hosts(now: datetime) -> set[str]:
    """Hosts whose deliveries must not be attempted at ``now``."""
    rows: list[str] = await column(
        HostHealth.filter(unavailable=True, set_aside_until__gt=now), "host"
    )
    return set(rows)


async def restore_host(host: str, now: datetime | None = None) -> bool:
    """Forget the failures of ``host``; its pending deliveries become due. True if it was set aside."""
    host = as_host_key(host)
    now = now or datetime.now(UTC)
    row = await HostHealth.get_or_none(host=host)
    if row is None or not (row.unavailable or row.failure_days):
        return False
    was_aside = row.unavailable
    row.failure_days = []
    row.unavailable = False
    row.set_aside_until = None
    await row.save()
    if was_aside:
        await DeliveryJob.filter(host=host, state=DeliveryState.PENDING).update(next_attempt_at=now)
        log.info("host %s is available again", host)
    return was_aside


async def host_contacted(host: str, *, now: datetime | None = None) -> bool:
    """A verified request came from ``host``: if it was set aside, deliver to it again.

    ``host`` is ``name[:port]`` (port only when not the scheme's default) or any URL on that
    host, e.g. the verified key id.

    Call it from the inbox after a signature is verified. Cheap when the host is healthy (one
    indexed read). Returns True when the host was set aside and is now restored.
    """
    return await restore_host(host, now)
