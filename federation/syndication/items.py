"""A sister site's object as we keep it: the clean columns of a ``SyndicatedItem``. No I/O.

Only what the site needs to show the item is kept, sanitised on intake (names and locations as
plain text, summary and content through :func:`~federation.protocol.html.sanitize_html`,
URLs only http(s)); the remote JSON itself is never stored.
"""

from __future__ import annotations

from typing import Any

from federation.inbox.wire import (
    as_list,
    attributed_to,
    http_url,
    id_of,
    natural_text,
    parse_time,
    text,
    type_of,
)
from federation.protocol.html import html_to_text, sanitize_html

#: Object types a sister site publishes and we may republish.
ITEM_TYPES = frozenset({"Article", "Event", "Note", "Page"})
MAX_NAME_CHARS = 500
MAX_SUMMARY_CHARS = 5_000
MAX_CONTENT_CHARS = 100_000
MAX_LOCATION_CHARS = 500
MAX_TAGS = 20


def _content(document: dict[str, Any]) -> str:
    content = natural_text(document, "content", MAX_CONTENT_CHARS * 2)[0]
    return sanitize_html(content, max_chars=MAX_CONTENT_CHARS)


def _location(value: Any) -> str:
    """A place as one line of plain text: its name, then its address parts."""
    place = next((item for item in as_list(value, 4) if isinstance(item, dict)), None)
    if place is None:
        return ""
    parts = [text(place.get("name"), MAX_LOCATION_CHARS)]
    address = place.get("address")
    if isinstance(address, dict):
        parts += [text(address.get(key), 200) for key in
                  ("streetAddress", "postalCode", "addressLocality", "addressCountry")]
    elif isinstance(address, str):
        parts.append(text(address, MAX_LOCATION_CHARS))
    line = ", ".join(html_to_text(part) for part in parts if part and part.strip())
    return line[:MAX_LOCATION_CHARS]


def _tags(value: Any) -> list[str]:
    names = []
    for tag in as_list(value, MAX_TAGS * 2):
        if isinstance(tag, dict) and tag.get("type") == "Hashtag":
            name = html_to_text(text(tag.get("name"), 100)).lstrip("#").strip()
            if name:
                names.append(name)
    return names[:MAX_TAGS]


def item_fields(document: dict[str, Any]) -> dict[str, Any]:
    """The columns of a ``SyndicatedItem`` for ``document`` (its type checked by the caller)."""
    kind = type_of(document, ITEM_TYPES) or "Note"  # the caller checked it is one of them
    name = html_to_text(natural_text(document, "name", MAX_NAME_CHARS * 4)[0])[:MAX_NAME_CHARS]
    summary = sanitize_html(natural_text(document, "summary", MAX_SUMMARY_CHARS * 4)[0],
                            max_chars=MAX_SUMMARY_CHARS)
    content = _content(document)
    url = http_url(document.get("url"))
    image = document.get("image")
    kept: dict[str, Any] = {
        "id": document["id"], "type": kind, "attributedTo": attributed_to(document),
        "name": name, "summary": summary, "content": content, "url": url,
        "published": text(document.get("published"), 64) or None,
        "updated": text(document.get("updated"), 64) or None,
        "tags": _tags(document.get("tag")),
    }
    image_url = http_url(image.get("url") if isinstance(image, dict) else image)
    if image_url:
        kept["image"] = image_url
    start_at = end_at = None
    if kind == "Event":
        start_at, end_at = parse_time(document.get("startTime")), parse_time(document.get("endTime"))
        kept.update(startTime=text(document.get("startTime"), 64) or None,
                    endTime=text(document.get("endTime"), 64) or None,
                    location=_location(document.get("location")),
                    timezone=text(document.get("timezone"), 64) or None)
    return {
        "type": kind,
        "document": kept,
        "name": name,
        "summary": summary,
        "url": url,
        "published_at": parse_time(document.get("published")),
        "updated_at": parse_time(document.get("updated")),
        "start_at": start_at,
        "end_at": end_at,
    }


def title_of(name: str, summary_html: str, content_html: str = "", limit: int = 120) -> str:
    """A short title for an item: its name, else the start of its summary or content."""
    if name.strip():
        return name.strip()
    plain = html_to_text(summary_html) or html_to_text(content_html)
    plain = " ".join(plain.split())
    return plain if len(plain) <= limit else plain[: limit - 1].rstrip() + "…"


def is_reply(document: dict[str, Any]) -> bool:
    """True for a reply (``inReplyTo``): conversation, never republished as a site item."""
    return id_of(document.get("inReplyTo")) is not None

