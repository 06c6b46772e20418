"""RSS 2.0, Atom and JSON Feed entries as :class:`ContentItem` articles.

SPIP's ``backend`` feed is the main case: ``<description>`` is the chapô (our summary),
``<content:encoded>`` the text, ``<dc:subject>`` the keywords, ``<enclosure>`` the documents.
feedparser reads RSS and Atom (and their encodings); JSON Feed 1.0/1.1 is read here. An entry
without an id nor a link is skipped (it could not be updated later).
"""

from __future__ import annotations

import calendar
import logging
import mimetypes
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser

from federation.db.content import ObjectKind
from federation.errors import BadRequest
from federation.protocol.html import html_to_text, text_to_html
from federation.protocol.objects import MediaView, TagView
from federation.protocol.text import scrub_tree
from federation.protocol.uris import is_http_url
from federation.publishing.items import ContentItem, clean_content, derive_summary
from federation.remote.jsonlimits import JSONLimitError, parse_json_limited

log = logging.getLogger(__name__)

MAX_ENTRIES = 500


def _guess_media_type(url: str, given: str | None) -> str:
    if given and "/" in given:
        return given.split(";")[0].strip().lower()
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    return guessed or "application/octet-stream"


def _web_url(value: Any) -> str | None:
    if isinstance(value, str) and len(value) <= 2048 and is_http_url(value.strip()):
        return value.strip()
    return None


def _media(url: Any, media_type: str | None, name: str = "") -> MediaView | None:
    checked = _web_url(url)
    if checked is None:
        return None
    return MediaView(url=checked, media_type=_guess_media_type(checked, media_type),
                     name=name[:500])


def _split_media(media: list[MediaView]) -> tuple[MediaView | None, tuple[MediaView, ...]]:
    """The first image is the object's ``image``; the rest are attachments."""
    image = next((m for m in media if m.as_type == "Image"), None)
    return image, tuple(m for m in media if m is not image)


def _language(value: Any, default: str) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip().split("-")[0].split("_")[0].lower()[:8] or default
    return default


def _struct_time(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), UTC)


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(value: Any) -> str:
    value = value if isinstance(value, str) else ""
    return html_to_text(value) if "<" in value or "&" in value else value.strip()


#: A numeric character reference (``&#0;``, ``&#xD800;``) as the XML parsers expand it.
_CHARACTER_REFERENCE_RE = re.compile(rb"&#(?:[xX]([0-9A-Fa-f]{1,8})|([0-9]{1,10}));")


def _storable_reference(match: re.Match[bytes]) -> bytes:
    """A reference to U+0000 is dropped, one to a surrogate or beyond U+10FFFF becomes U+FFFD,
    as :func:`~federation.protocol.text.scrub` does (feedparser's fallback parser fails on
    surrogates with UnicodeEncodeError; NULs reached the database)."""
    hexadecimal, decimal = match.groups()
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    if code == 0:
        return b""
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return b"&#xFFFD;"
    return match.group()


def parse_feed(body: bytes, *, actor: str, source: str = "feed", language: str = "fr",
               media_type: str | None = None) -> list[ContentItem]:
    """The entries of an RSS, Atom or JSON Feed document, as articles of ``actor``."""
    stripped = body.lstrip()
    if stripped.startswith(b"{") or (media_type or "").endswith("json"):
        return parse_json_feed(body, actor=actor, source=source, language=language)
    try:
        parsed = feedparser.parse(_CHARACTER_REFERENCE_RE.sub(_storable_reference, body))
    except Exception as error:
        raise BadRequest(f"not a feed: {type(error).__name__}") from None
    if parsed.bozo and not parsed.entries:
        raise BadRequest(f"not a feed: {type(parsed.get('bozo_exception')).__name__}")
    scrub_tree(parsed.feed)
    scrub_tree(parsed.entries)
    feed_language = _language(parsed.feed.get("language"), language)
    items = []
    for entry in parsed.entries[:MAX_ENTRIES]:
        item = _rss_item(entry, actor=actor, source=source, language=feed_language)
        if item is not None:
            items.append(item)
    return items


def _rss_item(entry: Any, *, actor: str, source: str, language: str) -> ContentItem | None:
    source_id = entry.get("id") or entry.get("link")
    if not source_id:
        log.info("feed entry without id or link skipped")
        return None
    contents = entry.get("content") or []
    html_content = next((c.get("value", "") for c in contents
                         if "html" in c.get("type", "text/html")), "")
    description = entry.get("summary", "")
    if not html_content:
        html_content, description = description, ""
    content = clean_content(None, html_content)
    media: list[MediaView] = []
    for enclosure in entry.get("enclosures", []):
        found = _media(enclosure.get("href"), enclosure.get("type"),
                       enclosure.get("title", "") or "")
        if found is not None:
            media.append(found)
    for thumbnail in entry.get("media_thumbnail", []) + entry.get("media_content", []):
        found = _media(thumbnail.get("url"), thumbnail.get("type") or "image/jpeg")
        if found is not None and found.as_type == "Image" and all(m.url != found.url
                                                                  for m in media):
            media.append(found)
    image, attachments = _split_media(media)
    tags = tuple(  # feeds give no page per keyword: the hashtag goes without href
        TagView(name=(tag.get("label") or tag.get("term") or "").strip()[:100])
        for tag in entry.get("tags", [])
        if (tag.get("label") or tag.get("term") or "").strip()
    )
    return ContentItem(
        kind=ObjectKind.ARTICLE, actor=actor, source=source, source_id=str(source_id)[:2048],
        name=_text(entry.get("title", ""))[:500] or str(source_id)[:100],
        summary_text=derive_summary(description or None, None, content),
        content_html=content, language=_language(entry.get("language"), language),
        url=_web_url(entry.get("link")),
        published_at=_struct_time(entry.get("published_parsed") or entry.get("updated_parsed")),
        updated_at=_struct_time(entry.get("updated_parsed")),
        image=image, attachments=attachments, tags=tags,
    )


def parse_json_feed(body: bytes, *, actor: str, source: str = "feed",
                    language: str = "fr") -> list[ContentItem]:
    """The items of a JSON Feed (https://jsonfeed.org/version/1.1)."""
    try:
        document = parse_json_limited(body, scrub=True)
    except JSONLimitError as error:
        raise BadRequest(f"not a JSON Feed: {error}") from None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
            "https://jsonfeed.org/version/"):
        raise BadRequest("not a JSON Feed: no jsonfeed.org version")
    feed_language = _language(document.get("language"), language)
    items = []
    for entry in (document.get("items") or [])[:MAX_ENTRIES]:
        if not isinstance(entry, dict):
            continue
        item = _json_item(entry, actor=actor, source=source, language=feed_language)
        if item is not None:
            items.append(item)
    return items


def _json_item(entry: dict[str, Any], *, actor: str, source: str,
               language: str) -> ContentItem | None:
    source_id = entry.get("id")
    if source_id is None or str(source_id) == "":
        return None
    html_content = entry.get("content_html")
    if not isinstance(html_content, str):
        raw_text = entry.get("content_text")
        text = raw_text if isinstance(raw_text, str) else ""
        html_content = text_to_html(text)
    content = clean_content(None, html_content)
    media = [m for m in (
        _media(a.get("url"), a.get("mime_type"), str(a.get("title") or ""))
        for a in entry.get("attachments") or [] if isinstance(a, dict)
    ) if m is not None]
    image = _media(entry.get("image") or entry.get("banner_image"), None)
    if image is not None and image.as_type != "Image":
        image = None
    first_image, attachments = _split_media(media)
    summary = entry.get("summary") if isinstance(entry.get("summary"), str) else None
    return ContentItem(
        kind=ObjectKind.ARTICLE, actor=actor, source=source, source_id=str(source_id)[:2048],
        name=_text(entry.get("title"))[:500] or str(source_id)[:100],
        summary_text=derive_summary(summary, None, content), content_html=content,
        language=_language(entry.get("language"), language),
        url=_web_url(entry.get("url") or entry.get("external_url")),
        published_at=_iso(entry.get("date_published") or entry.get("date_modified")),
        updated_at=_iso(entry.get("date_modified")),
        image=image or first_image, attachments=attachments,
        tags=tuple(TagView(name=t.strip()[:100]) for t in entry.get("tags") or []
                   if isinstance(t, str) and t.strip()),
    )
