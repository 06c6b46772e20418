"""Syndicated items for the site's CMS: Atom, JSON Feed 1.1 and iCalendar (events).

Only *approved* and *stored* items appear: pending, rejected and withdrawn ones never leave
the editorial views (security principle 12). Every text was sanitised on intake; here it is
escaped once more for the format, and links are only http(s) URLs
(:func:`~federation.protocol.uris.link_url`): a stored row of any content never breaks a feed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import icalendar

from federation.db.social import Following
from federation.db.syndication import VISIBLE_STATES, SyndicatedItem
from federation.errors import NotFound
from federation.moderation.exports import ATOM_NS, ATTRIBUTE, escape, link_element, uri_element
from federation.protocol.actors import iso
from federation.protocol.html import html_to_text
from federation.protocol.numbers import is_ascii_digits
from federation.protocol.uris import link_url
from federation.syndication.items import title_of

MAX_ITEMS = 200
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ICAL_PRODID = "-//federation//sister sites//FR"
#: Characters an iCalendar text property cannot hold as such (C0 controls but tab, DEL, C1).
_NOT_ICAL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]+")


@dataclass(frozen=True)
class FeedInfo:
    """What a feed is about: its title, its own URL and the site's home page."""

    title: str
    feed_url: str
    home_page_url: str


async def visible_items(source: Following | None = None, *, events_only: bool = False
                        ) -> list[SyndicatedItem]:
    """Approved and stored items (of ``source``, or of every source), newest first."""
    query = SyndicatedItem.filter(state__in=[str(s) for s in VISIBLE_STATES])
    if source is not None:
        query = query.filter(source_id=source.id)
    if events_only:
        query = query.filter(type="Event")
    return await query.order_by("-id").limit(MAX_ITEMS)


async def find_source(raw_id: str) -> Following:
    """The follow whose id is ``raw_id`` (404 otherwise: the same for unknown and invalid)."""
    if not is_ascii_digits(raw_id) or len(raw_id) > 9:
        raise NotFound("no such source")
    source = await Following.get_or_none(id=int(raw_id))
    if source is None:
        raise NotFound("no such source")
    return source


def _when(item: SyndicatedItem) -> datetime:
    moment = item.published_at or item.received_at
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _link(item: SyndicatedItem) -> str | None:
    return link_url(item.url) or link_url(item.object_uri)


def _document(item: SyndicatedItem) -> dict[str, Any]:
    return item.document if isinstance(item.document, dict) else {}


def _text(value: Any) -> str:
    """A stored value for a feed's text field: a string, else nothing."""
    return value if isinstance(value, str) else ""


def _ical_line(value: str) -> str:
    """One line of iCalendar text: line breaks and other control characters become spaces."""
    return _NOT_ICAL.sub(" ", value)


def _content(item: SyndicatedItem) -> str:
    return _text(_document(item).get("content"))


def _title(item: SyndicatedItem) -> str:
    return title_of(item.name, item.summary, _content(item))


def atom_feed(info: FeedInfo, items: list[SyndicatedItem]) -> str:
    """An Atom feed of ``items``."""
    updated = max((item.updated_at or _when(item) for item in items),
                  default=datetime(2000, 1, 1, tzinfo=UTC))
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="{ATOM_NS}">',
        f"<id>{escape(info.feed_url)}</id>",
        f"<title>{escape(info.title)}</title>",
        f'<link rel="self" href="{escape(info.feed_url, ATTRIBUTE)}"/>',
        f'<link rel="alternate" href="{escape(info.home_page_url, ATTRIBUTE)}"/>',
        f"<updated>{iso(updated)}</updated>",
    ]
    for item in items:
        lines += [
            "<entry>",
            f"<id>{escape(item.object_uri)}</id>",
            f"<title>{escape(_title(item))}</title>",
            *link_element("alternate", _link(item)),
            f"<published>{iso(_when(item))}</published>",
            f"<updated>{iso(item.updated_at or _when(item))}</updated>",
            f"<author>{uri_element(link_url(item.actor_uri))}<name>{escape(item.actor_uri)}</name>"
            "</author>",
            f'<category term="{escape(item.type, ATTRIBUTE)}"/>',
        ]
        if item.summary:
            lines.append(f'<summary type="html">{escape(item.summary)}</summary>')
        lines += [f'<content type="html">{escape(_content(item))}</content>', "</entry>"]
    lines.append("</feed>")
    return "\n".join(lines) + "\n"


def json_item(item: SyndicatedItem) -> dict[str, Any]:
    document = _document(item)
    tags = document.get("tags")
    data: dict[str, Any] = {
        "id": item.object_uri,
        "url": _link(item),
        "title": _title(item),
        "content_html": _content(item),
        "summary": html_to_text(item.summary) or None,
        "date_published": iso(_when(item)),
        "date_modified": iso(item.updated_at) if item.updated_at else None,
        "authors": [{"url": link_url(item.actor_uri)}],
        "tags": [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else [],
        "_activitypub": {"type": item.type, "actor": item.actor_uri, "via": item.via_uri,
                         "state": str(item.state)},
    }
    if link_url(document.get("image")):
        data["image"] = document["image"]
    if item.type == "Event":
        data["_event"] = {"start": iso(item.start_at) if item.start_at else None,
                          "end": iso(item.end_at) if item.end_at else None,
                          "location": _text(document.get("location")) or None,
                          "timezone": _text(document.get("timezone")) or None}
    return data


def json_feed(info: FeedInfo, items: list[SyndicatedItem]) -> dict[str, Any]:
    """A JSON Feed 1.1 document of ``items``."""
    return {"version": JSON_FEED_VERSION, "title": info.title,
            "home_page_url": info.home_page_url, "feed_url": info.feed_url,
            "items": [json_item(item) for item in items]}


def _keep_newline(match: re.Match[str]) -> str:
    return "\n" if "\n" in match.group() else " "


def ical_feed(info: FeedInfo, items: list[SyndicatedItem]) -> bytes:
    """An iCalendar of the events among ``items`` (those with a start time)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", ICAL_PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", _ical_line(info.title))
    for item in items:
        if item.type != "Event" or item.start_at is None:
            continue
        document = _document(item)
        event = icalendar.Event()
        event.add("uid", _ical_line(item.object_uri))
        event.add("dtstamp", item.updated_at or _when(item))
        event.add("dtstart", item.start_at.astimezone(UTC))
        if item.end_at is not None and item.end_at >= item.start_at:
            event.add("dtend", item.end_at.astimezone(UTC))
        event.add("summary", _ical_line(_title(item)))
        description = html_to_text(_content(item)) or html_to_text(item.summary)
        if description:
            event.add("description", _NOT_ICAL.sub(_keep_newline, description[:10_000]))
        location = _ical_line(_text(document.get("location")))
        if location:
            event.add("location", location)
        link = _link(item)
        if link:
            event.add("url", link)
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()  # icalendar annotates it as Any
    return ical
