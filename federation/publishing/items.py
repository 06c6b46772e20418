"""A piece of site content as the publisher takes it, whatever brought it (API, feed, iCal, CLI).

:class:`ContentItem` is frozen and already clean: HTML sanitised, a plain-language summary of at
most :data:`SUMMARY_CHARS`, times timezone-aware. :func:`content_hash` is what makes publishing
idempotent: the same item twice has the same hash, a changed item a different one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from federation.db.content import ContentObject, ObjectKind
from federation.protocol.html import html_to_text, sanitize_html, summarize
from federation.protocol.objects import MediaView, PlaceView, TagView

#: Mastodon shows ``summary`` as the body of an article: a lead, not a whole text.
SUMMARY_CHARS = 500

EVENT_STATUSES = ("TENTATIVE", "CONFIRMED", "CANCELLED")
JOIN_MODES = ("free", "restricted", "invite", "external")


@dataclass(frozen=True)
class EventDetails:
    """What makes an item an event."""

    start_at: datetime
    end_at: datetime | None
    timezone: str
    place: PlaceView | None = None
    status: str = "CONFIRMED"
    join_mode: str = "free"
    external_participation_url: str | None = None
    is_online: bool = False
    category: str | None = None
    #: The address of an online event (Mobilizon's ``online_address``).
    online_url: str | None = None


#: Fields added after items were first hashed: left out of the hash while unset, so that adding
#: one does not make every stored item look changed (and sent again as an Update).
_LATE_FIELDS = {"event": ("online_url",)}


@dataclass(frozen=True)
class ContentItem:
    """One article or event of one actor, keyed by (actor, source, source_id)."""

    kind: ObjectKind
    actor: str
    source: str
    source_id: str
    name: str
    summary_text: str
    content_html: str
    language: str
    url: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    image: MediaView | None = None
    attachments: tuple[MediaView, ...] = ()
    tags: tuple[TagView, ...] = ()
    sensitive: bool = False
    #: A correction worth telling readers about (a Note replying to the object when the Update
    #: changes nothing Mastodon shows), or None.
    correction: str | None = None
    event: EventDetails | None = field(default=None)

    def with_source(self, source: str) -> ContentItem:
        return replace(self, source=source)


def _to_second(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC to the second (what readers are shown), naive read as UTC."""
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class EventFacts:
    """What readers were told of an event: when, where, whether it happens — the typed
    columns of :class:`~federation.db.content.ContentObject`, compared to decide whether an
    Update cancels, reinstates or moves it (never read back from a stored document).

    All ``None`` for an object that is not an event."""

    start_at: datetime | None = None
    end_at: datetime | None = None
    timezone: str | None = None
    place: str | None = None
    status: str | None = None

    @classmethod
    def of_item(cls, item: ContentItem) -> EventFacts:
        event = item.event
        if item.kind != ObjectKind.EVENT or event is None:
            return cls()
        return cls(start_at=_to_second(event.start_at), end_at=_to_second(event.end_at),
                   timezone=event.timezone,
                   place=(event.place.one_line() if event.place else "") or None,
                   status=event.status)

    @classmethod
    def of_row(cls, row: ContentObject) -> EventFacts:
        return cls(start_at=_to_second(row.start_at), end_at=_to_second(row.end_at),
                   timezone=row.timezone, place=row.place or None, status=row.event_status)

    def columns(self) -> dict[str, Any]:
        """The values of the object's columns."""
        return {"start_at": self.start_at, "end_at": self.end_at, "timezone": self.timezone,
                "place": self.place, "event_status": self.status}

    @property
    def cancelled(self) -> bool:
        return self.status == "CANCELLED"

    def moved_in_time(self, now: EventFacts) -> bool:
        return (self.start_at, self.end_at, self.timezone) != \
            (now.start_at, now.end_at, now.timezone)

    def moved_in_place(self, now: EventFacts) -> bool:
        return (self.place or "") != (now.place or "")


#: The columns :meth:`EventFacts.columns` sets.
EVENT_COLUMNS = ("start_at", "end_at", "timezone", "place", "event_status")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def content_hash(item: ContentItem) -> str:
    """SHA-256 of everything that shows, in a canonical form (not the source nor the key)."""
    data = asdict(item)
    for key in ("source", "source_id", "actor"):
        data.pop(key)
    for part, names in _LATE_FIELDS.items():
        if isinstance(data.get(part), dict):
            for name in names:
                if data[part].get(name) is None:
                    data[part].pop(name, None)
    canonical = json.dumps(_jsonable(data), sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def derive_summary(summary: str | None, lead_html: str | None, content_html: str) -> str:
    """The plain-language lead: the site's summary, else its chapô, else the text's beginning."""
    for candidate in (summary, lead_html):
        if candidate and candidate.strip():
            text = html_to_text(candidate) if "<" in candidate else candidate.strip()
            if text:
                return summarize(text, SUMMARY_CHARS)
    return summarize(html_to_text(content_html), SUMMARY_CHARS)


def clean_content(lead_html: str | None, content_html: str) -> str:
    """Sanitised HTML of the chapô (when given) followed by the text."""
    lead = sanitize_html(lead_html or "")
    body = sanitize_html(content_html or "")
    return lead + body if lead and lead not in body else body
