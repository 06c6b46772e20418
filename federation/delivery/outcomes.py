"""Writing the outcomes of a batch of attempts: job states, host health, gone inboxes.

Outcomes are grouped so that a batch of successes costs one ``UPDATE`` (per distinct state,
status and error), all in one transaction; retries are written one by one (each has its own
time).
Every write is guarded by the lease token: a worker whose lease expired (another worker took
the job) does not overwrite the other worker's state.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from federation.db import column
from federation.db.delivery import DeliveryJob, DeliveryState
from federation.db.social import Follower, RemoteActor
from federation.delivery.health import record_failure, record_successes
from federation.delivery.policy import Decision, Verdict
from federation.delivery.queue import ClaimedJob, db_value, placeholders, sql

log = logging.getLogger(__name__)

ERROR_LENGTH = 500

_FINAL_STATE = {
    Verdict.DELIVERED: DeliveryState.DELIVERED,
    Verdict.FAILED: DeliveryState.FAILED,
    Verdict.GONE: DeliveryState.FAILED,
    Verdict.ABANDONED: DeliveryState.ABANDONED,
}


@dataclass(frozen=True)
class Outcome:
    """One attempt: the job as claimed, the answer (status or error) and the decision."""

    job: ClaimedJob
    decision: Decision
    status: int | None = None
    error: str | None = None


async def remove_gone_inbox(inbox_url: str) -> int:
    """Remove the followers that an inbox answering 404/410 served; return how many.

    A personal inbox: its actor's follows go. A shared inbox: only when every known follower
    on that host uses it (otherwise some of them would be lost for one bad endpoint).
    """
    personal: set[int] = set(await column(RemoteActor.filter(inbox=inbox_url), "id"))
    shared_rows = await RemoteActor.filter(shared_inbox=inbox_url).values_list("id", "domain")
    shared = {row[0] for row in shared_rows}
    if shared:
        domains = {row[1] for row in shared_rows}
        others = await Follower.filter(remote__domain__in=list(domains)).exclude(
            remote_id__in=list(shared)
        ).count()
        if others:
            shared = set()
    gone = personal | shared
    if not gone:
        return 0
    removed = await Follower.filter(remote_id__in=list(gone)).delete()
    if removed:
        log.info("removed %d follower(s) whose inbox is gone", removed)
    return removed


async def record_outcomes(outcomes: Sequence[Outcome], now: datetime) -> None:
    """Write ``outcomes``: job states (grouped), host health, removal of gone inboxes."""
    if not outcomes:
        return
    finals: dict[tuple[DeliveryState, int | None, str | None], dict[str, list[int]]] = {}
    retries: list[Outcome] = []
    ok_hosts: set[str] = set()
    failed_hosts: dict[str, str] = {}
    gone_inboxes: set[str] = set()
    for outcome in outcomes:
        verdict = outcome.decision.verdict
        job = outcome.job
        if verdict is Verdict.RETRY:
            retries.append(outcome)
        else:
            key = (_FINAL_STATE[verdict], outcome.status,
                   (outcome.error or "")[:ERROR_LENGTH] or None)
            finals.setdefault(key, {}).setdefault(job.lease_owner or "", []).append(job.id)
        if verdict is Verdict.DELIVERED:
            ok_hosts.add(job.host)
        elif outcome.decision.host_failure:
            failed_hosts[job.host] = outcome.error or f"status {outcome.status}"
        if verdict is Verdict.GONE:
            gone_inboxes.add(job.inbox_url)
    async with in_transaction() as connection:
        finished_at = db_value(DeliveryJob, "finished_at", now)
        for (state, status, error), by_token in finals.items():
            guards, values = [], [db_value(DeliveryJob, "state", state), status, error, finished_at]
            for token, ids in by_token.items():  # only rows still under our lease
                guards.append(f'("lease_owner" = ? AND "id" IN ({placeholders(len(ids))}))')
                values += [token, *ids]
            await connection.execute_query(sql(
                'UPDATE "delivery_jobs" SET "state" = ?, "last_status" = ?, "last_error" = ?, '
                '"finished_at" = ?, "lease_owner" = NULL, "lease_expires_at" = NULL WHERE '
                + " OR ".join(guards), connection), values)
        for outcome in retries:
            await DeliveryJob.filter(id=outcome.job.id, lease_owner=outcome.job.lease_owner).update(
                state=DeliveryState.PENDING, next_attempt_at=outcome.decision.retry_at,
                last_status=outcome.status, last_error=(outcome.error or "")[:ERROR_LENGTH] or None,
                lease_owner=None, lease_expires_at=None,
            )
        if ok_hosts:
            await record_successes(ok_hosts, now, connection)
    for host, error in failed_hosts.items():
        if host not in ok_hosts:
            await record_failure(host, error, now)
    for inbox in gone_inboxes:
        await remove_gone_inbox(inbox)
