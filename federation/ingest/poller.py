"""Polling feeds: conditional GET, change detection, per-feed interval, backoff on failure.

:class:`FeedPoller.run_once` polls every feed that is due and returns what happened
(``federation feeds poll``), each under its job's lease like a worker (a feed a worker is
polling is skipped: ``busy``). In ``serve`` and ``federation worker`` (unless ``--no-feeds``),
feeds are polled by the job engine (:meth:`FeedPoller.task`): one job per feed
(:data:`federation.jobs.kinds.FEED`, ``ref`` = the feed's id, ``key`` = its host), so that
however many workers run, one feed is polled by one of them at a time (under its lease), and a
host's feeds take turns with other hosts'. Every fetch goes
through the hardened client, unsigned, with a size cap. A feed answering 304, or the same body
as last time, costs nothing more. The first successful poll of a new feed records its existing
entries *without delivering them* (history must not flood followers); later polls deliver what
is new or changed. A failing feed waits ``interval × 2^failures`` (at most a day: the
:data:`~federation.jobs.kinds.FEED` kind's retry policy).

An iCalendar feed is also read in full (no validators, no same-body shortcut) on its first
poll of each day (UTC): its recurring events' next occurrences enter the horizon with time,
not only when the calendar changes. A published occurrence that left its series (``EXDATE``,
a shorter rule) is deleted; an event that vanishes from a feed is not (a feed is a window).
Parsing runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from federation.db.actors import Actor
from federation.db.content import ContentObject, ObjectKind, ObjectState
from federation.db.ingest import Feed, FeedKind
from federation.db.jobs import Job
from federation.errors import FederationError, Gone, NotFound
from federation.ingest.feeds import parse_feed
from federation.ingest.ical import HORIZON, SOURCE, CalendarContent, SeriesWindow, read_calendar
from federation.jobs import store
from federation.jobs.graph import Event
from federation.jobs.kinds import FEED
from federation.jobs.store import ClaimedJob, LeaseTokens
from federation.jobs.worker import Result, Task
from federation.metrics import Metrics
from federation.publishing.items import ContentItem
from federation.publishing.service import Outcome, Publisher
from federation.remote.client import HardenedClient
from federation.settings import Settings

log = logging.getLogger(__name__)

MAX_FEED_BYTES = 5_000_000
MAX_BACKOFF = timedelta(days=1)
MIN_INTERVAL_SECONDS = 60
#: Longest wait between two polls of a feed (a week).
MAX_INTERVAL_SECONDS = 7 * 24 * 3600
ACCEPT = {
    FeedKind.RSS: "application/rss+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1",
    FeedKind.ATOM: "application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1",
    FeedKind.JSON: "application/feed+json, application/json;q=0.9, */*;q=0.1",
    FeedKind.ICAL: "text/calendar, */*;q=0.1",
}


@dataclass
class PollReport:
    """What one poll of one feed did."""

    feed_id: int
    status: str  # "not-modified", "same-body", "ok", "failed"
    outcomes: dict[str, int] = field(default_factory=dict)
    error: str = ""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def backoff(interval_seconds: int, failures: int) -> timedelta:
    """How long a feed that failed ``failures`` times in a row waits: its interval × 2^failures,
    at most a day (the :data:`FEED` kind's policy, starting at twice the interval)."""
    policy = dataclasses.replace(
        FEED.policy, first=2.0 * max(interval_seconds, MIN_INTERVAL_SECONDS),
        cap=MAX_BACKOFF.total_seconds())
    return timedelta(seconds=policy.wait(max(failures, 1)))


def feed_key(url: str) -> str:
    """The fairness key of a feed's job: its host (and port)."""
    return urlsplit(url).netloc.lower()[:255]


async def schedule_feed(feed: Feed) -> None:
    """Make sure ``feed`` has its job (due when the feed is)."""
    await store.ensure(FEED.name, str(feed.id), key=feed_key(feed.url), at=feed.next_poll_at)


def guess_kind(url: str) -> FeedKind:
    lowered = url.lower().split("?")[0]
    if lowered.endswith((".ics", ".ical", ".ifb")) or "ical" in url.lower():
        return FeedKind.ICAL
    if lowered.endswith(".json"):
        return FeedKind.JSON
    if "atom" in lowered:
        return FeedKind.ATOM
    return FeedKind.RSS


class FeedPoller:
    """Polls due feeds and hands their items to the publisher."""

    def __init__(self, client: HardenedClient, publisher: Publisher, *, language: str = "fr",
                 timezone: str = "Europe/Paris", clock: Callable[[], datetime] = _utc_now,
                 horizon: timedelta = HORIZON, metrics: Metrics | None = None) -> None:
        self._metrics = metrics or Metrics()
        self._client = client
        self._publisher = publisher
        self._language = language
        self._timezone = timezone
        self._clock = clock
        self._horizon = horizon

    @classmethod
    def for_site(cls, settings: Settings, client: HardenedClient,
                 publisher: Publisher, metrics: Metrics | None = None) -> FeedPoller:
        """The poller as ``serve``, ``worker`` and ``feeds poll`` run it: the site's language,
        timezone and recurring-event horizon."""
        site = settings.site
        return cls(client, publisher, language=site.language, timezone=site.timezone,
                   horizon=timedelta(days=site.recurring_events_days), metrics=metrics)

    def task(self) -> Task:
        """The job engine's task polling one feed per job."""
        return Task(FEED, self.handle, self.prepare)

    async def prepare(self, now: datetime) -> None:
        """A job for every feed that has none (feeds added by another process)."""
        known: set[Any] = set(await Job.filter(kind=FEED.name).values_list("ref", flat=True))
        for feed in await Feed.all().only("id", "url", "next_poll_at"):
            if str(feed.id) not in known:
                await schedule_feed(feed)

    async def handle(self, job: ClaimedJob) -> Result:
        """Poll the job's feed if it is due; reschedule it at its next poll."""
        feed = await Feed.get_or_none(id=int(job.ref or 0))
        if feed is None:
            return Result.done()  # the feed was removed
        if feed.next_poll_at > self._clock():  # not due (its interval was changed)
            return Result.reschedule(feed.next_poll_at)
        report = await self.poll(feed)
        if report.status == "failed":
            return Result.retry(report.error, at=feed.next_poll_at)
        return Result.reschedule(feed.next_poll_at)

    async def run_once(self, *, every: bool = False) -> list[PollReport]:
        """Poll every feed whose time has come (``every``: every feed, due or not), each under
        its job's lease (:meth:`poll_leased`): a feed a worker is polling is reported ``busy``."""
        feeds = Feed.all() if every else Feed.filter(next_poll_at__lte=self._clock())
        tokens = LeaseTokens(f"poll-{uuid.uuid4().hex[:8]}")
        return [await self.poll_leased(feed, tokens.next())
                for feed in await feeds.order_by("next_poll_at", "id")]

    async def run_ids(self, feed_ids: list[int]) -> list[PollReport]:
        """Poll the feeds ``feed_ids`` now, due or not, each under its job's lease
        (``federation feeds poll ID…``); :class:`NotFound` if one is not a feed."""
        feeds = []
        for feed_id in feed_ids:
            feed = await Feed.get_or_none(id=feed_id) if 0 < feed_id < 2**31 else None
            if feed is None:
                raise NotFound(f"no feed {feed_id} (see `federation feeds list`)")
            feeds.append(feed)
        tokens = LeaseTokens(f"poll-{uuid.uuid4().hex[:8]}")
        return [await self.poll_leased(feed, tokens.next()) for feed in feeds]

    async def poll_leased(self, feed: Feed, token: str) -> PollReport:
        """Poll ``feed`` now, holding its job's lease as a worker would (``federation feeds
        poll``): never while a worker polls it; its job rescheduled at the feed's next poll."""
        await schedule_feed(feed)
        job = await store.claim_ref(FEED.name, str(feed.id), token, self._clock(), FEED.lease)
        if job is None:
            return PollReport(feed.id, "busy", error="(a worker is polling it)")
        report = await self.poll(feed)
        event = Event.RETRY if report.status == "failed" else Event.RESCHEDULE
        await store.finish(job, FEED.graph, event, self._clock(), next_attempt_at=feed.next_poll_at,
                           error=report.error or None)
        return report

    def parse(self, feed: Feed, identifier: str, body: bytes,
              media_type: str | None) -> list[ContentItem]:
        return self.read(feed, identifier, body, media_type, self._clock()).items

    def read(self, feed: Feed, identifier: str, body: bytes, media_type: str | None,
             now: datetime) -> CalendarContent:
        """The items of a feed body (and, for a calendar, its recurring series)."""
        if feed.kind == FeedKind.ICAL:
            return read_calendar(body, actor=identifier, language=self._language,
                                 timezone=self._timezone, now=now, horizon=self._horizon)
        return CalendarContent(parse_feed(
            body, actor=identifier, language=self._language,
            media_type=media_type if feed.kind == FeedKind.JSON else None), [])

    async def poll(self, feed: Feed) -> PollReport:
        """Fetch one feed (conditionally) and publish what changed."""
        report = await self._poll(feed)
        self._metrics.feed_polls.labels(report.status).inc()
        return report

    async def _poll(self, feed: Feed) -> PollReport:
        now = self._clock()
        feed.last_polled_at = now
        # a calendar is read in full once a day: its recurring events move with time
        reread = feed.kind == FeedKind.ICAL and feed.primed and (
            feed.last_success_at is None
            or feed.last_success_at.astimezone(UTC).date() < now.astimezone(UTC).date())
        headers = {}
        if feed.etag and not reread:
            headers["If-None-Match"] = feed.etag
        if feed.last_modified and not reread:
            headers["If-Modified-Since"] = feed.last_modified
        actor = await Actor.get(id=feed.actor_id)
        try:
            response = await self._client.get(feed.url, accept=ACCEPT[feed.kind], sign=False,
                                              max_bytes=MAX_FEED_BYTES, headers=headers)
            if response.status == 304:
                return await self._succeeded(feed, PollReport(feed.id, "not-modified"))
            if response.status != 200:
                raise FederationError(f"HTTP {response.status}")
            digest = hashlib.sha256(response.body).hexdigest()
            # validators are kept only once the body was read: a 304 must never hide a body
            # that failed to parse
            etag = (response.headers.get("ETag") or "")[:512] or None
            last_modified = (response.headers.get("Last-Modified") or "")[:64] or None
            if digest == feed.body_hash and feed.primed and not reread:
                feed.etag, feed.last_modified = etag, last_modified
                return await self._succeeded(feed, PollReport(feed.id, "same-body"))
            content = await asyncio.to_thread(self.read, feed, actor.identifier, response.body,
                                              response.media_type, now)
            feed.etag, feed.last_modified = etag, last_modified
            report = PollReport(feed.id, "ok")
            deliver = feed.primed
            await _rekey_first_occurrences(actor, content.series)
            items = sorted(content.items, key=lambda i: i.published_at or now)  # outbox order
            for item in items:
                try:
                    result = await self._publisher.upsert(item, deliver=deliver)
                except (Gone, NotFound):
                    continue  # deleted by the site, or another kind under the same id
                report.outcomes[str(result.outcome)] = \
                    report.outcomes.get(str(result.outcome), 0) + 1
            deleted = await self._delete_lost_occurrences(
                actor, content.series, keep={item.source_id for item in items}, deliver=deliver)
            if deleted:
                report.outcomes["deleted"] = deleted
            feed.body_hash = digest
            feed.primed = True
            return await self._succeeded(feed, report)
        except FederationError as error:
            return await self._failed(feed, now, error.message)
        except Exception:  # a bug on one feed's content: that feed backs off, the others go on
            log.exception("feed %s: unexpected error while polling", feed.id)
            return await self._failed(feed, now, "internal error (see the bridge's log)")

    async def _failed(self, feed: Feed, now: datetime, message: str) -> PollReport:
        feed.failures += 1
        feed.last_error = message[:1000]
        feed.next_poll_at = now + backoff(feed.interval_seconds, feed.failures)
        await feed.save(update_fields=["failures", "last_error", "next_poll_at",
                                       "last_polled_at"])
        log.warning("feed %s failed (%d in a row): %s", feed.id, feed.failures, message)
        return PollReport(feed.id, "failed", error=message)

    async def _delete_lost_occurrences(self, actor: Actor, series: list[SeriesWindow], *,
                                       keep: set[str], deliver: bool) -> int:
        """Delete the published occurrences that left their series (not the past ones, not
        those of events that vanished from the calendar, never one published now in ``keep``).
        """
        if not series:
            return 0
        by_uid = {window.uid: window for window in series}
        keys: list[Any] = await ContentObject.filter(
            actor_id=actor.id, source=SOURCE, kind=ObjectKind.EVENT,
            state=ObjectState.PUBLISHED, source_id__contains="@",
        ).values_list("source_id", flat=True)
        deleted = 0
        for key in keys:
            window = by_uid.get(str(key).rpartition("@")[0])
            if window is None or key in keep or not window.lost(str(key)):
                continue
            row = await ContentObject.get(actor_id=actor.id, source=SOURCE, source_id=key)
            if not window.upcoming(row.start_at):
                continue
            await self._publisher.delete(actor.identifier, ObjectKind.EVENT, SOURCE, str(key),
                                         deliver=deliver)
            log.info("occurrence %s left its series: deleted", key)
            deleted += 1
        return deleted

    async def _succeeded(self, feed: Feed, report: PollReport) -> PollReport:
        now = self._clock()
        feed.failures = 0
        feed.last_error = ""
        feed.last_success_at = now
        feed.next_poll_at = now + timedelta(seconds=max(feed.interval_seconds,
                                                        MIN_INTERVAL_SECONDS))
        await feed.save()
        created = report.outcomes.get(str(Outcome.CREATED), 0)
        updated = report.outcomes.get(str(Outcome.UPDATED), 0)
        if created or updated:
            log.info("feed %s: %d new, %d updated", feed.id, created, updated)
        return report


async def _rekey_first_occurrences(actor: Actor, series: list[SeriesWindow]) -> None:
    """An upcoming event that started or stopped recurring keeps its object: the key of its
    first occurrence changes (``UID`` ↔ ``UID@DTSTART``) before it is upserted."""
    if not series:
        return
    windows = {window.former_key: window for window in series}
    rows = await ContentObject.filter(actor_id=actor.id, source=SOURCE, kind=ObjectKind.EVENT,
                                      state=ObjectState.PUBLISHED,
                                      source_id__in=list(windows))
    for row in rows:
        window = windows.get(row.source_id)
        if window is None or not window.upcoming(row.start_at):
            continue
        if await ContentObject.exists(actor_id=actor.id, source=SOURCE,
                                      source_id=window.key_now):
            continue
        await ContentObject.filter(id=row.id).update(source_id=window.key_now)
        log.info("event %s is now keyed %s", window.former_key, window.key_now)
