"""Publishing: site content in, ``Create``/``Update``/``Delete`` (and notices) out.

:class:`Publisher` is the one place that turns a :class:`ContentItem` into stored objects and
sent activities. It is idempotent by content hash: the same item twice changes nothing, a
changed item becomes an ``Update``. Mastodon (4.5 on) applies an ``Update`` of an article or an
event as an edit — readers, and those who boosted it, see a cancellation, a new date or place —
but only when the title, the summary or the media change, and only when its ``updated`` is
strictly later than the last one: ``updated`` therefore strictly increases, and a ``Create``
carries none (the post would show as edited at once). A correction marked important that changes
nothing Mastodon shows (the text only) is *also* published as a short ``Note`` replying to the
object; nothing else is. These decisions read the object's typed columns (its event's date,
place and status, the ``updated`` last sent: :class:`~federation.publishing.items.EventFacts`),
never its stored document. A deleted object keeps its row as a tombstone: it answers 410 and
cannot be published again under the same source id; the activities that carried it
(:data:`WITHDRAWN_WITH_OBJECT`) answer 410 and leave the outbox.

A collective's new public event is also boosted (``Announce``) by the site actor, so that the
instances following the site (Mobilizon's instance follows) list it.

``deliver=False`` (backfill, demo) stores the activities in the outbox without sending them to
anyone: imported history must not flood followers' timelines.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from hashlib import sha256
from typing import Any

from tortoise.transactions import in_transaction

from federation.db.content import ContentObject, ObjectKind, ObjectState
from federation.delivery.outbox import Audience, activity_uri, send_activity, withdraw_activities
from federation.errors import Gone, NotFound
from federation.identity.directory import ActorDirectory, LocalActor
from federation.protocol import activities
from federation.protocol.actors import iso
from federation.protocol.jsonld import with_context
from federation.protocol.objects import (
    Addressing,
    ArticleView,
    EventView,
    build_activity,
    build_article,
    build_event,
    build_note,
    build_tombstone,
    event_summary,
    event_when,
    markup_safe,
    object_type,
    shows_as_edit,
)
from federation.protocol.wording import wording
from federation.publishing.collections import with_quote_policy
from federation.publishing.items import EVENT_COLUMNS, ContentItem, EventFacts, content_hash
from federation.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SendActivity = Callable[..., Awaitable[Any]]

NOTICE_SOURCE = "notice"

#: The activities of an object that go with it when it is deleted: they answer 410 and leave
#: the outbox (the Delete stays, to tell readers of the outbox).
WITHDRAWN_WITH_OBJECT = ("Create", "Update", "Add", "Remove", "Announce")


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    PINNED = "pinned"
    UNPINNED = "unpinned"


@dataclass(frozen=True)
class PublishResult:
    """What publishing did: the object, the activity sent (if any) and the notice (if any)."""

    outcome: Outcome
    object_uri: str
    url: str | None
    activity_uri: str | None = None
    notice_uri: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": str(self.outcome), "id": self.object_uri, "url": self.url,
                "activity": self.activity_uri, "notice": self.notice_uri}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Publisher:
    """Stores objects and sends their activities for the local actors of ``directory``."""

    def __init__(self, directory: ActorDirectory, *, site_language: str = "fr",
                 clock: Clock = _utc_now, send: SendActivity = send_activity,
                 quotes: str = "automatic") -> None:
        self._directory = directory
        self._language = site_language
        self._quotes = quotes  # [moderation] quotes: the canQuote of what we publish
        self._clock = clock
        self._send_activity = send
        self._lock = asyncio.Lock()

    @classmethod
    def for_site(cls, directory: ActorDirectory, settings: Settings) -> Publisher:
        """The site's publisher, as ``serve``, ``worker`` and the CLI build it."""
        return cls(directory, site_language=settings.site.language,
                   quotes=settings.moderation.quotes)

    @property
    def directory(self) -> ActorDirectory:
        return self._directory

    def addressing(self, actor: LocalActor) -> Addressing:
        uris = self._directory.uris
        site = self._directory.site_actor
        return Addressing(actor_uri=actor.uri, followers_uri=uris.followers(actor.identifier),
                          audience_uri=None if actor.is_site_actor else site.uri)

    # -- building ---------------------------------------------------------------------------

    def build_document(self, item: ContentItem, actor: LocalActor, object_uri: str,
                       published_at: datetime, updated_at: datetime | None) -> dict[str, Any]:
        """The ActivityPub document of ``item`` (its replies count is filled in when served)."""
        common: dict[str, Any] = dict(
            object_uri=object_uri, addressing=self.addressing(actor), name=item.name,
            summary_text=item.summary_text, content_html=item.content_html,
            language=item.language or self._language, url=item.url, published_at=published_at,
            updated_at=updated_at, image=item.image, attachments=item.attachments,
            tags=item.tags, sensitive=item.sensitive,
        )
        if item.kind == ObjectKind.EVENT and item.event is not None:
            event = item.event
            return with_quote_policy(build_event(EventView(
                **common, start_at=event.start_at, end_at=event.end_at, timezone=event.timezone,
                place=event.place, status=event.status, join_mode=event.join_mode,
                external_participation_url=event.external_participation_url,
                is_online=event.is_online, category=event.category,
                online_url=event.online_url,
            )), self._quotes)
        return with_quote_policy(build_article(ArticleView(**common)), self._quotes)

    # -- sending ----------------------------------------------------------------------------

    async def _send(self, kind: str, actor: LocalActor, obj: Any, *, deliver: bool,
                    published_at: datetime, target: str | None = None) -> str:
        uri = activity_uri(self._directory, kind)
        activity = build_activity(kind, uri, self.addressing(actor), obj,
                                  published_at=published_at, target=target)
        audience = Audience(followers_of=actor.identifier) if deliver else Audience()
        await self._send_activity(activity, sender=actor, audience=audience, public=True)
        return uri

    # -- the operations ---------------------------------------------------------------------

    async def _find(self, actor: LocalActor, kind: ObjectKind, source: str,
                    source_id: str) -> ContentObject | None:
        row = await ContentObject.get_or_none(actor_id=actor.db_id, source=source,
                                              source_id=source_id)
        if row is not None and row.kind != kind:
            return None
        return row

    async def get(self, actor_identifier: str, kind: ObjectKind, source: str,
                  source_id: str) -> ContentObject:
        """The object published from ``source_id``; :class:`NotFound` if there is none."""
        actor = self._directory.get(actor_identifier)
        row = await self._find(actor, kind, source, source_id)
        if row is None:
            raise NotFound(f"no {kind} {source_id!r} for {actor_identifier}")
        return row

    async def upsert(self, item: ContentItem, *, deliver: bool = True,
                     republish: bool = False) -> PublishResult:
        """Publish ``item``: Create when new, Update when changed, nothing when the same.

        An item whose object was deleted is :class:`Gone` — unless ``republish`` (the site
        publishes it again, e.g. an article unpublished then published): it becomes a new
        object with a new id (servers keep the old id's Tombstone and would refuse it again),
        and the deleted one keeps answering 410.
        """
        actor = self._directory.get(item.actor)
        digest = content_hash(item)
        item = _stored_in_utc(item)  # after the hash: the hash of what the site sent is kept
        async with self._lock:
            row = await ContentObject.get_or_none(actor_id=actor.db_id, source=item.source,
                                                  source_id=item.source_id)
            if row is not None and row.kind != item.kind:
                raise NotFound(f"{item.source_id!r} is a {row.kind}, not a {item.kind}")
            if row is not None and row.state == ObjectState.DELETED:
                if not republish:
                    raise Gone(f"{item.kind} {item.source_id!r} was deleted and stays deleted",
                               tombstone=row.document)
                return await self._create(item, actor, digest, deliver=deliver, replacing=row)
            if row is not None and row.content_hash == digest:
                return PublishResult(Outcome.UNCHANGED, row.uri, row.url)
            if row is None:
                return await self._create(item, actor, digest, deliver=deliver)
            return await self._update(item, actor, row, digest, deliver=deliver)

    async def _create(self, item: ContentItem, actor: LocalActor, digest: str, *,
                      deliver: bool, replacing: ContentObject | None = None) -> PublishResult:
        now = self._clock()
        published_at = item.published_at or now
        async with in_transaction():
            if replacing is not None:  # the tombstone gives its source id to the new object
                replacing.source_id = f"{replacing.source_id}#deleted-{replacing.id}"
                await replacing.save(update_fields=["source_id"])
            row = await ContentObject.create(
                actor_id=actor.db_id, kind=item.kind, source=item.source,
                source_id=item.source_id, uri=f"urn:uuid:{uuid.uuid4()}", url=item.url,
                document={}, content_hash=digest, published_at=published_at,
                updated_at=item.updated_at, **EventFacts.of_item(item).columns(),
            )
            row.uri = self._directory.uris.object(str(item.kind), str(row.id))
            row.document = self.build_document(item, actor, row.uri, published_at, None)
            await row.save(update_fields=["uri", "document"])
            sent = await self._send("Create", actor, row.document, deliver=deliver,
                                    published_at=published_at)
            if deliver and item.kind == ObjectKind.EVENT:
                await self._announce_by_site(actor, row.uri)
        log.info("published %s %s of %s", item.kind, row.uri, actor.identifier)
        return PublishResult(Outcome.CREATED, row.uri, row.url, sent)

    async def _update(self, item: ContentItem, actor: LocalActor, row: ContentObject,
                      digest: str, *, deliver: bool) -> PublishResult:
        now = self._clock()
        wanted = item.updated_at if item.updated_at and item.updated_at > row.published_at \
            else now
        updated_at = later_than_last(wanted, row.edited_at, row.published_at)
        published_at = item.published_at or row.published_at
        document = self.build_document(item, actor, row.uri, published_at, updated_at)
        language = item.language or self._language
        _, correction = notice_parts(EventFacts.of_row(row), item, language=language)
        notice_key = None
        if correction and not shows_as_edit(row.document, document):
            notice_key = f"{row.id}:correction:{sha256(correction.encode()).hexdigest()[:24]}"
            if await ContentObject.exists(actor_id=actor.db_id, source=NOTICE_SOURCE,
                                          source_id=notice_key):
                notice_key = None  # told already
        async with in_transaction():
            row.document = document
            row.content_hash = digest
            row.url = item.url
            row.published_at = published_at
            row.updated_at = updated_at
            row.edited_at = updated_at
            row.update_from_dict(EventFacts.of_item(item).columns())
            await row.save(update_fields=["document", "content_hash", "url", "published_at",
                                          "updated_at", "edited_at", *EVENT_COLUMNS])
            sent = await self._send("Update", actor, document, deliver=deliver,
                                    published_at=now)
            notice_uri = None
            if notice_key and correction:
                notice_uri = await self._notice(actor, row, notice_key, correction,
                                                about_name=item.name, language=language,
                                                deliver=deliver)
        log.info("updated %s %s of %s%s", item.kind, row.uri, actor.identifier,
                 " with a notice" if notice_uri else "")
        return PublishResult(Outcome.UPDATED, row.uri, row.url, sent, notice_uri)

    async def _announce_by_site(self, actor: LocalActor, object_uri: str) -> None:
        """The site actor boosts a collective's public event to the site's followers."""
        site = self._directory.site_actor
        if actor.is_site_actor:
            return
        uris = self._directory.uris
        now = self._clock()
        announce = with_context(activities.boost(  # cc its author, as every boost of ours
            activity_uri(self._directory, "announce"), site.uri, object_uri,
            published=iso(now), followers=uris.followers(site.identifier), author=actor.uri,
        ))
        await self._send_activity(announce, sender=site,
                                  audience=Audience(followers_of=site.identifier), public=True)

    async def _notice(self, actor: LocalActor, about: ContentObject, key: str, text: str,
                      *, about_name: str, language: str, deliver: bool) -> str:
        """Publish a short Note in reply to ``about`` (its Update shows nothing on Mastodon)."""
        now = self._clock()
        note = await ContentObject.create(
            actor_id=actor.db_id, kind=ObjectKind.NOTE, source=NOTICE_SOURCE,
            source_id=key, uri=f"urn:uuid:{uuid.uuid4()}", url=about.url, document={},
            content_hash=sha256(text.encode()).hexdigest(), published_at=now,
        )
        note.uri = self._directory.uris.object(str(ObjectKind.NOTE), str(note.id))
        note.document = build_note(
            note.uri, self.addressing(actor), text=text, language=language, published_at=now,
            about_uri=about.uri, about_url=about.url,
            about_name=html.unescape(markup_safe(about_name)),
        )
        note.document = with_quote_policy(note.document, self._quotes)
        await note.save(update_fields=["uri", "document"])
        await self._send("Create", actor, note.document, deliver=deliver, published_at=now)
        return note.uri

    async def delete(self, actor_identifier: str, kind: ObjectKind, source: str,
                     source_id: str, *, deliver: bool = True) -> PublishResult:
        """Delete an object: its content is dropped, a Tombstone stays, ``Delete`` is sent."""
        actor = self._directory.get(actor_identifier)
        async with self._lock:
            row = await self._find(actor, kind, source, source_id)
            if row is None:
                raise NotFound(f"no {kind} {source_id!r} for {actor_identifier}")
            if row.state == ObjectState.DELETED:
                return PublishResult(Outcome.UNCHANGED, row.uri, row.url)
            now = self._clock()
            tombstone = build_tombstone(row.uri, object_type(str(row.kind)), now)
            async with in_transaction():
                row.state = ObjectState.DELETED
                row.deleted_at = now
                row.pinned = False
                row.document = tombstone
                await row.save(update_fields=["state", "deleted_at", "pinned", "document"])
                await withdraw_activities(object_uri=row.uri, types=WITHDRAWN_WITH_OBJECT, at=now)
                sent = await self._send("Delete", actor, tombstone, deliver=deliver,
                                        published_at=now)
        log.info("deleted %s %s of %s", kind, row.uri, actor.identifier)
        return PublishResult(Outcome.DELETED, row.uri, row.url, sent)

    async def pin(self, actor_identifier: str, kind: ObjectKind, source: str, source_id: str,
                  pinned: bool, *, deliver: bool = True) -> PublishResult:
        """Pin ("À la une") or unpin an object: it enters or leaves the featured collection."""
        actor = self._directory.get(actor_identifier)
        async with self._lock:
            row = await self._find(actor, kind, source, source_id)
            if row is None:
                raise NotFound(f"no {kind} {source_id!r} for {actor_identifier}")
            if row.state == ObjectState.DELETED:
                raise Gone("a deleted object cannot be pinned", tombstone=row.document)
            if row.pinned == pinned:
                return PublishResult(Outcome.UNCHANGED, row.uri, row.url)
            async with in_transaction():
                row.pinned = pinned
                await row.save(update_fields=["pinned"])
                sent = await self._send(
                    "Add" if pinned else "Remove", actor, row.uri, deliver=deliver,
                    published_at=self._clock(),
                    target=self._directory.uris.featured(actor.identifier),
                )
        return PublishResult(Outcome.PINNED if pinned else Outcome.UNPINNED, row.uri, row.url,
                             sent)


def _stored_in_utc(item: ContentItem) -> ContentItem:
    """``item`` with its publication times in UTC, as the database stores them.

    A naive time read in the site's zone can carry an odd offset (before 1911, Europe/Paris was
    at +00:09:21, local mean time); stored as is in SQLite, such a value could not be read back.
    """
    def utc(moment: datetime | None) -> datetime | None:
        return moment.astimezone(UTC) if moment is not None and moment.tzinfo else moment

    return dataclasses.replace(item, published_at=utc(item.published_at),
                               updated_at=utc(item.updated_at))


# -- edits and notices ---------------------------------------------------------------------


def later_than_last(wanted: datetime, last_sent: datetime | None,
                    published_at: datetime) -> datetime:
    """``wanted``, or one second after the last ``updated`` sent (``last_sent``, or
    ``published``) when it is not later: Mastodon drops an edit whose ``updated`` is not strictly
    later than the last one (two edits in the same second, or a site that did not move its date).
    ISO times are to the second."""
    last = published_at if published_at.tzinfo else published_at.replace(tzinfo=UTC)
    if last_sent is not None:
        last = max(last, last_sent if last_sent.tzinfo else last_sent.replace(tzinfo=UTC))
    wanted = wanted if wanted.tzinfo else wanted.replace(tzinfo=UTC)
    if wanted.replace(microsecond=0) <= last.replace(microsecond=0):
        return last.replace(microsecond=0) + timedelta(seconds=1)
    return wanted


def notice_parts(before: EventFacts, item: ContentItem, *,
                 language: str | None = None) -> tuple[str | None, str | None]:
    """What a Note about the Update of ``item`` would say: (event news, correction), or Nones.

    Events: cancelled, reinstated, moved in time or place since ``before`` (what readers were
    told: the object's typed columns) — news that Mastodon 4.5+ already shows as an edit (the
    summary changes), so the publisher sends no Note for it. Any object: a correction the site
    marked important, sent as a Note when the edit shows nothing on Mastodon
    (:func:`~federation.protocol.objects.shows_as_edit`). Written in ``language`` (by default,
    the item's).
    """
    language = language or item.language or "fr"
    words = wording(language)
    name = markup_safe(item.name)  # as the object's ``name`` says it
    news = None
    event = item.event
    if item.kind == ObjectKind.EVENT and event is not None:
        now = EventFacts.of_item(item)
        when = event_when(event.start_at, event.end_at, event.timezone, language)
        summary = event_summary(event.start_at, event.end_at, event.timezone, event.place,
                                language=language, is_online=event.is_online)
        moved_in_time = before.moved_in_time(now)
        moved_in_place = before.moved_in_place(now)
        if now.cancelled and not before.cancelled:
            news = words.message("notice.cancelled", name=name, when=when)
        elif before.cancelled and not now.cancelled:
            news = words.message("notice.reinstated", name=name, summary=summary)
        elif moved_in_time or moved_in_place:
            key = ("notice.moved_both" if moved_in_time and moved_in_place
                   else "notice.moved_time" if moved_in_time else "notice.moved_place")
            news = words.message(key, name=name, summary=summary)
    correction = None
    if item.correction and item.correction.strip():
        correction = words.message("notice.correction", name=name, text=item.correction.strip())
    return news, correction
