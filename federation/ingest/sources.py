"""The feeds polled for our actors, as an admin manages them (``federation feeds``,
``/admin/feeds``).

- :func:`add_feed` — validated (an http(s) URL, an interval within bounds, a configured actor,
  not already polled for it), then its job is scheduled due now; its first poll records the
  entries already there without delivering them.
- :func:`remove_feed` — no longer polled; what it published stays published.
- :func:`poll_soon` — "poll now" from a request: the feed and its job are made due now, and a
  worker polls it on its next claim (a request never fetches a feed itself). ``federation
  feeds poll`` polls in its own process instead (:meth:`FeedPoller.run_once`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from federation.db import is_row_id
from federation.db.actors import Actor
from federation.db.ingest import Feed, FeedKind
from federation.db.jobs import Job, JobState
from federation.errors import BadRequest, Conflict, NotFound
from federation.identity.directory import ActorDirectory
from federation.ingest.poller import (
    MAX_INTERVAL_SECONDS,
    MIN_INTERVAL_SECONDS,
    guess_kind,
    schedule_feed,
)
from federation.jobs.kinds import FEED
from federation.protocol.numbers import is_ascii_digits
from federation.protocol.uris import is_http_url

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 900
#: Longest feed URL accepted (the column's size).
MAX_URL_LENGTH = 2048


def feed_id_of(text: str) -> int:
    """A feed's id as given (``feeds remove 3``, a form's field); 0 when it cannot be one."""
    text = text.strip()
    return int(text) if is_ascii_digits(text) and len(text) < 12 else 0


async def list_feeds() -> list[Feed]:
    """Every feed, with its actor, in the order they were added."""
    return list(await Feed.all().order_by("id").prefetch_related("actor"))


async def get_feed(feed_id: int) -> Feed:
    feed = await Feed.get_or_none(id=feed_id).prefetch_related("actor") \
        if is_row_id(feed_id) else None
    if feed is None:
        raise NotFound(f"no feed {feed_id} (see `federation feeds list`)")
    return feed


async def add_feed(directory: ActorDirectory, identifier: str, url: str, *,
                   kind: FeedKind | None = None,
                   interval_seconds: int = DEFAULT_INTERVAL_SECONDS) -> Feed:
    """Poll ``url`` for the actor ``identifier`` every ``interval_seconds``."""
    url = url.strip()
    if not MIN_INTERVAL_SECONDS <= interval_seconds <= MAX_INTERVAL_SECONDS:
        raise BadRequest(f"the interval must be {MIN_INTERVAL_SECONDS} to "
                         f"{MAX_INTERVAL_SECONDS} seconds")
    if len(url) > MAX_URL_LENGTH or not is_http_url(url):
        raise BadRequest(f"{url[:200]!r} is not an http(s) URL")
    directory.get(identifier)  # NotFound for an actor that is not configured
    actor = await Actor.get(identifier=identifier)
    if await Feed.exists(actor=actor, url=url):
        raise Conflict(f"{url} is already polled for {identifier}")
    kind = kind or guess_kind(url)
    feed = await Feed.create(actor=actor, url=url, kind=kind, interval_seconds=interval_seconds,
                             next_poll_at=datetime.now(UTC))
    await schedule_feed(feed)  # (workers would also find it within minutes)
    await feed.fetch_related("actor")
    log.info("feed %s added for %s", feed.id, identifier)
    return feed


async def remove_feed(feed_id: int) -> Feed:
    """Stop polling the feed ``feed_id``; the removed row (its job ends on its next claim)."""
    feed = await get_feed(feed_id)
    await feed.delete()
    log.info("feed %s removed", feed_id)
    return feed


async def poll_soon(feed_id: int, *, now: datetime | None = None) -> Feed:
    """Make the feed and its job due now; a worker polls it on its next claim. A feed a worker
    is polling at this moment is not polled twice (its lease holds)."""
    now = now or datetime.now(UTC)
    feed = await get_feed(feed_id)
    feed.next_poll_at = now
    await feed.save(update_fields=["next_poll_at"])
    await schedule_feed(feed)
    await Job.filter(kind=FEED.name, ref=str(feed.id), state=JobState.PENDING).update(
        next_attempt_at=now)
    log.info("feed %s queued to be polled now", feed_id)
    return feed
