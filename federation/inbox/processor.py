"""Persist, then process: storing verified activities, tombstones, and dispatch to listeners.

A verified activity is stored before anything acts on it: one ``inbox.activity`` job
(:data:`~federation.jobs.kinds.INBOX_ACTIVITY`, ``ref`` = the activity id, unique) inserted
already claimed by the request under :data:`PROCESSING_LEASE`, committed on its own. That row is
the de-duplication: the same activity delivered five times (retries, shared and personal inbox,
double-knocking) is stored once, the others answered 202 "duplicate" with nothing new. The
listener then runs in the request, as the job's first attempt: processed, the job is ``done``
(its document dropped, its id kept for ``[inbox] dedup_retention_days``); refused (403, 429) or
unrelated to us, the job is deleted, so such an activity leaves nothing behind and the sender's
retry is judged afresh. If the attempt cannot finish — the process is killed, the database
fails (503) — the job stays stored and the job engine runs it once its lease expires
(:meth:`Processor.task`): a 2xx always means stored, and nothing stored is lost. Listeners are
idempotent (they may run twice for one activity). Expired rows are purged by
:meth:`Processor.purge_expired`.

Deletion wins (principle 11): a ``Delete`` leaves a :class:`~federation.db.inbox.DeletedObject`
tombstone, and an activity about a tombstoned object or from a deleted actor is a no-op. A
tombstone left by a Delete that could not be verified is only a doubt the listeners settle by
asking the object's origin (:mod:`federation.inbox.deletions`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError

from federation.db.batch import GroupCommit
from federation.db.faults import is_database_fault
from federation.db.inbox import (
    DeletedObject,
    ReceivedActivity,
    deleted_among,
    tombstones_among,
    trim_unverified_tombstones,
)
from federation.db.jobs import Job
from federation.errors import FederationError, RemoteError, TooManyRequests
from federation.inbox.context import Activity, BudgetExhausted, FetchBudget, InboxServices
from federation.inbox.ignored import ignored_reason
from federation.jobs import store
from federation.jobs.graph import Event
from federation.jobs.kinds import INBOX_ACTIVITY
from federation.jobs.periodic import FINAL
from federation.jobs.store import ClaimedJob, LeaseTokens, NewClaimed
from federation.jobs.worker import Result, Task, record
from federation.protocol.uris import origin_of
from federation.settings import Settings

logger = logging.getLogger(__name__)

#: How long a stored activity's job is held while its listener runs (a listener's remote work
#: is bounded by the fetch budget and the client's timeouts, far below this).
PROCESSING_LEASE = INBOX_ACTIVITY.lease


class Outcome(StrEnum):
    """What became of an accepted activity (every one is answered 202)."""

    PROCESSED = "processed"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"
    #: Stored; its listener failed unexpectedly and the job engine will run it again.
    QUEUED = "queued"


#: What a processed activity's job keeps: nothing of the document (its id is the job's ref).
DONE_PAYLOAD: dict[str, Any] = {"processed": True}

#: A stored activity's job and the tombstones found among its actor and object.
Stored = tuple[ClaimedJob, dict[str, bool]]


def _wanted(activity: Activity) -> list[str]:
    """The ids whose tombstones decide whether ``activity`` is a no-op: its actor, its object."""
    return [uri for uri in (activity.actor_uri, activity.object_id) if uri is not None]


def _now() -> datetime:
    return datetime.now(UTC)


def payload_of(activity: Activity) -> dict[str, Any]:
    """What the job of ``activity`` stores: the verified document, its proven actor, the inbox."""
    return {"document": activity.document, "actor": activity.actor_uri,
            "inbox_owner": activity.inbox_owner}


def activity_of(payload: Any, services: InboxServices) -> Activity | None:
    """The activity a job stored (``None`` when the payload is not one)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("document"), dict) \
            or not isinstance(payload.get("actor"), str):
        return None
    owner = payload.get("inbox_owner")
    return Activity(payload["document"], payload["actor"], services,
                    FetchBudget(services.settings.inbox.max_fetches_per_activity),
                    owner if isinstance(owner, str) else None)


#: A listener acts on a verified activity and says whether it changed anything.
Listener = Callable[[Activity], Awaitable[bool]]


def first_of(*listeners: Listener) -> Listener:
    """A listener that runs ``listeners`` in order until one of them takes the activity."""

    async def composed(activity: Activity) -> bool:
        for listener in listeners:
            if await listener(activity):
                return True
        return False

    composed.__name__ = "first_of(" + ", ".join(
        getattr(listener, "__qualname__", repr(listener)) for listener in listeners) + ")"
    return composed


async def is_tombstoned(uri: str | None) -> bool:
    """True when ``uri`` names an object (or actor) its author deleted."""
    return uri is not None and bool(await deleted_among([uri]))


async def add_tombstone(object_uri: str, actor_uri: str, retention: timedelta) -> None:
    """Remember that ``object_uri`` was deleted by ``actor_uri`` (idempotent); an unverified
    tombstone of it becomes a verified one."""
    now = datetime.now(UTC)
    try:
        await DeletedObject.create(
            object_uri=object_uri, actor_uri=actor_uri, deleted_at=now, expires_at=now + retention
        )
    except IntegrityError:
        await DeletedObject.filter(object_uri=object_uri, verified=False).update(
            actor_uri=actor_uri, deleted_at=now, expires_at=now + retention, verified=True)


class Processor:
    """Stores verified activities as jobs, skips deleted actors, and runs the listener of each
    type: at once in the request, and again from the job engine when that could not finish."""

    def __init__(self, settings: Settings, listeners: dict[str, Listener], *,
                 clock: Callable[[], datetime] = _now) -> None:
        self._settings = settings
        self._listeners = listeners
        self._clock = clock
        self._tokens = LeaseTokens(f"inbox-{uuid.uuid4().hex[:8]}")
        #: Group commit (:mod:`federation.db.batch`): the activities of requests arriving
        #: together are stored by one INSERT (and their tombstones read by one SELECT), their
        #: results recorded by one UPDATE.
        self.arrivals: GroupCommit[Activity, Stored | None] = GroupCommit(self._store)
        self.results: GroupCommit[ClaimedJob, bool] = GroupCommit(self._finish)

    @property
    def tombstone_retention(self) -> timedelta:
        return timedelta(days=self._settings.inbox.tombstone_retention_days)

    async def process(self, activity: Activity) -> Outcome:
        """Store ``activity`` (once per activity id), then run its listener.

        The job row is committed before the listener runs: from then on the activity is
        acknowledged (202) unless the listener refuses it (4xx: the row is deleted, the
        sender's retry is a first delivery). A database fault propagates (503) and leaves the
        job to the engine once its lease expires; so does a killed process."""
        listener = self._listeners.get(activity.type)
        if listener is None:
            reason = ignored_reason(activity.type)
            if reason is not None:
                logger.debug("%s %s ignored: %s", activity.type, activity.id, reason)
            else:
                logger.debug("%s %s ignored: no listener for this type", activity.type, activity.id)
            return Outcome.IGNORED
        stored = await self.arrivals.submit(activity)
        if stored is None:
            return Outcome.DUPLICATE
        job, found = stored
        try:
            outcome, result = await self._run(activity, listener, found)
        except FederationError:  # refused (403, 429…): nothing kept, the sender is told
            await record(INBOX_ACTIVITY, job, Result.dropped(), self._clock())
            raise
        except Exception as error:
            if is_database_fault(error):
                raise  # 503; the job is taken up when its lease expires
            logger.exception("%s %s failed: left to the job engine", activity.type, activity.id)
            result = Result.retry(f"internal error: {type(error).__name__} (see the log)")
            outcome = Outcome.QUEUED
        if result.event is Event.SUCCEED and not result.drop and result.payload is DONE_PAYLOAD:
            if not await self.results.submit(job):
                logger.warning("job %d (%s): lease lost before its result was recorded "
                               "(another worker took it)", job.id, job.kind)
        else:
            await record(INBOX_ACTIVITY, job, result, self._clock())
        return outcome

    async def _store(self, activities: list[Activity]) -> list[Stored | None]:
        """Store the jobs of ``activities`` (one INSERT: all or none), then read the tombstones
        of the stored ones (one SELECT); ``None`` for a duplicate."""
        jobs = await store.insert_claimed_many(
            [NewClaimed(INBOX_ACTIVITY.name, activity.id, self._tokens.next(),
                        origin_of(activity.actor_uri).host or "", payload_of(activity))
             for activity in activities], self._clock(), INBOX_ACTIVITY.lease)
        wanted = sorted({uri for activity, job in zip(activities, jobs, strict=True)
                         if job is not None for uri in _wanted(activity)})
        found = await tombstones_among(wanted)
        return [None if job is None else
                (job, {uri: found[uri] for uri in _wanted(activity) if uri in found})
                for activity, job in zip(activities, jobs, strict=True)]

    async def _finish(self, jobs: list[ClaimedJob]) -> list[bool]:
        """Record ``jobs`` processed (:data:`DONE_PAYLOAD`), in one UPDATE."""
        return await store.finish_many(jobs, INBOX_ACTIVITY.graph, self._clock(),
                                       payload=DONE_PAYLOAD)

    def task(self, services: InboxServices) -> Task:
        """The job engine's handler of stored activities (:data:`INBOX_ACTIVITY`)."""

        async def handle(job: ClaimedJob) -> Result:
            activity = activity_of(job.payload, services)
            if activity is None:
                return Result.fail("not an inbox activity payload")
            listener = self._listeners.get(activity.type)
            if listener is None:
                return Result.dropped()
            try:
                return (await self._run(activity, listener))[1]
            except TooManyRequests as error:  # acknowledged already: processed later
                return Result.retry(str(error), at=self._clock()
                                    + timedelta(seconds=error.retry_after or 60))
            except FederationError as error:
                logger.info("%s %s refused: %s", activity.type, activity.id, error)
                return Result.dropped()

        return Task(INBOX_ACTIVITY, handle)

    async def _run(self, activity: Activity, listener: Listener,
                   found: dict[str, bool] | None = None) -> tuple[Outcome, Result]:
        """Run the listener (idempotent: it may run again after a fault or a crash); ``found``:
        the tombstones among the activity's actor and object, when they were read already."""
        if found is None:
            found = await tombstones_among(_wanted(activity))
        activity.tombstoned = frozenset(uri for uri, verified in found.items() if verified)
        activity.doubtful = frozenset(uri for uri, verified in found.items() if not verified)
        if activity.is_deleted(activity.actor_uri):
            return Outcome.IGNORED, Result.dropped()
        try:
            changed = await listener(activity)
        except (BudgetExhausted, RemoteError) as error:
            activity.give_back()
            logger.info("%s %s not processed: %s", activity.type, activity.id, error.message)
            return Outcome.IGNORED, Result.dropped()
        except BaseException:  # TooManyRequests included: the sender's retry is processed
            activity.give_back()
            raise
        if not changed:  # unrelated to us: keep nothing about it (checklist item 30)
            activity.give_back()
            return Outcome.IGNORED, Result.dropped()
        return Outcome.PROCESSED, Result.done(payload=DONE_PAYLOAD)

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Delete expired claims and tombstones, processed activities past the
        de-duplication retention, and unverified tombstones beyond
        ``[inbox] unverified_tombstones_kept``; return how many rows went."""
        now = now or datetime.now(UTC)
        retention = timedelta(days=self._settings.inbox.dedup_retention_days)
        claims = await ReceivedActivity.filter(expires_at__lt=now).delete()
        claims += await Job.filter(kind=INBOX_ACTIVITY.name, state__in=list(FINAL),
                                   finished_at__lt=now - retention).delete()
        tombstones = await DeletedObject.filter(expires_at__lt=now).delete()
        trimmed = await trim_unverified_tombstones(self._settings.inbox.unverified_tombstones_kept)
        return int(claims) + int(tombstones) + trimmed
