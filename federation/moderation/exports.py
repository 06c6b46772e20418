"""Approved replies for the site: a JSON list and an Atom feed per object.

Only replies that are approved **and** public appear (security principle 12): pending,
rejected, spam and non-public (followers-only, direct) replies never leave the moderation
views. An unknown or deleted object answers 404 — the same as any other "not found".

Links (``url``, Atom ``<link>`` and ``<uri>``) are only http(s) URLs
(:func:`~federation.protocol.uris.link_url`): a stored value that is not one (a row of an older
version) becomes ``null`` or is left out, never a ``javascript:`` link on the site.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

from federation.db.content import ContentObject, ObjectState
from federation.db.moderation import Reply, ReplyState, is_a_reply
from federation.errors import NotFound
from federation.protocol.actors import iso
from federation.protocol.uris import link_url

MAX_REPLIES = 500
ATOM_NS = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: What :func:`escape` also replaces inside a double-quoted attribute.
ATTRIBUTE = {'"': "&quot;"}


def escape(text: str, entities: dict[str, str] | None = None) -> str:
    """XML-escaped text without the characters XML 1.0 forbids."""
    return _xml_escape(_NOT_XML.sub("", text), entities or {})


async def find_object(reference: str) -> ContentObject:
    """Our published object whose id or site URL is ``reference``."""
    if not reference or len(reference) > 2048:
        raise NotFound("no such object")
    obj = await ContentObject.get_or_none(uri=reference, state=ObjectState.PUBLISHED)
    if obj is None:
        obj = await ContentObject.filter(url=reference, state=ObjectState.PUBLISHED).first()
    if obj is None:
        raise NotFound("no such object")
    return obj


async def public_replies(obj: ContentObject) -> list[Reply]:
    """The approved public replies to ``obj`` (quotes and mentions are not replies), oldest first."""
    return await Reply.filter(
        is_a_reply(), target_id=obj.id, state=ReplyState.APPROVED, is_public=True
    ).order_by("published_at", "id").limit(MAX_REPLIES).prefetch_related("author")


def _published(reply: Reply) -> datetime:
    return reply.published_at or reply.received_at


def reply_json(reply: Reply) -> dict[str, Any]:
    author = reply.author
    return {
        "id": reply.uri,
        "url": link_url(reply.url) or link_url(reply.uri),
        "in_reply_to": reply.in_reply_to_uri,
        "published": iso(_published(reply)),
        "updated": iso(reply.edited_at) if reply.edited_at else None,
        "language": reply.language,
        "name": reply.name or None,
        "summary": reply.summary or None,
        "content_html": reply.content_html,
        "author": {
            "id": author.uri,
            "handle": author.handle,
            "name": author.name or author.handle,
            "url": link_url(author.url) or link_url(author.uri),
        },
    }


def replies_document(obj: ContentObject, replies: list[Reply]) -> dict[str, Any]:
    return {
        "object": obj.uri,
        "url": link_url(obj.url),
        "totalItems": len(replies),
        "replies": [reply_json(r) for r in replies],
    }


def _title_of(obj: ContentObject) -> str:
    document = obj.document if isinstance(obj.document, dict) else {}
    name = document.get("name")
    return name if isinstance(name, str) and name else obj.uri


def link_element(rel: str, url: str | None) -> list[str]:
    """An Atom ``<link>`` to ``url`` if it is an http(s) URL, else nothing."""
    url = link_url(url)
    return [f'<link rel="{rel}" href="{escape(url, ATTRIBUTE)}"/>'] if url else []


def uri_element(url: str | None) -> str:
    return f"<uri>{escape(url)}</uri>" if url else ""


def replies_atom(obj: ContentObject, replies: list[Reply], feed_url: str) -> str:
    """An Atom feed of the approved public replies to ``obj`` (newest first)."""
    updated = max((_published(r) for r in replies), default=obj.updated_at or obj.published_at)
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="{ATOM_NS}">',
        f"<id>{escape(feed_url)}</id>",
        f"<title>{escape(_title_of(obj))}</title>",
        f'<link rel="self" href="{escape(feed_url, ATTRIBUTE)}"/>',
        *link_element("related", link_url(obj.url) or obj.uri),
        f"<updated>{iso(updated)}</updated>",
    ]
    for reply in sorted(replies, key=_published, reverse=True):
        author = reply.author
        lines += [
            "<entry>",
            f"<id>{escape(reply.uri)}</id>",
            f"<title>{escape(author.name or author.handle)}</title>",
            *link_element("alternate", link_url(reply.url) or reply.uri),
            f"<published>{iso(_published(reply))}</published>",
            f"<updated>{iso(reply.edited_at or _published(reply))}</updated>",
            f"<author><name>{escape(author.name or author.handle)}</name>"
            f"{uri_element(link_url(author.url) or link_url(author.uri))}</author>",
            f'<content type="html">{escape(reply.content_html)}</content>',
            "</entry>",
        ]
    lines.append("</feed>")
    return "\n".join(lines) + "\n"
