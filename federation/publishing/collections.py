"""Reading what we published: objects as served, outbox and featured, replies, likes, shares.

Only public things appear: public activities in the outbox, approved public replies in
``replies`` (pending, rejected or private ones never show, security rule 12), counts only for
likes and shares (who liked is not published). A Create or Update of an object deleted since
shows the Tombstone instead of the content.
"""

from __future__ import annotations

from typing import Any

from federation.db import column
from federation.db.content import ContentObject, ObjectKind, ObjectState, OutboxActivity
from federation.db.moderation import Interaction, InteractionKind, Reply, ReplyState, is_a_reply
from federation.errors import Gone, NotFound
from federation.identity.directory import LocalActor
from federation.protocol.activities import ordered_collection
from federation.protocol.collections import (
    PageRequest,
    build_collection,
    build_page,
    page_context,
)
from federation.protocol.jsonld import with_context, without_context
from federation.protocol.objects import can_quote
from federation.protocol.objects import interactions_collection as counted

#: At most this many pinned objects are listed in ``featured`` (Mastodon shows 5).
MAX_FEATURED = 20

#: Replies per page. Mastodon reads only the first page of ``replies`` (up to 500 ids) when a
#: user opens the thread: a large first page, newest first, shows more than the oldest few.
REPLIES_PAGE_SIZE = 100


async def find_object(object_uri: str) -> ContentObject:
    """The published object at ``object_uri``: :class:`NotFound`, or :class:`Gone` if deleted."""
    row = await ContentObject.get_or_none(uri=object_uri)
    if row is None:
        raise NotFound("no such object")
    if row.state == ObjectState.DELETED:
        raise Gone("this object was deleted", tombstone=row.document)
    return row


def approved_replies(row: ContentObject) -> Any:
    """Replies a moderator approved, public ones only (not quotes)."""
    return Reply.filter(is_a_reply(), target_id=row.id, state=ReplyState.APPROVED,
                        is_public=True)


def with_quote_policy(document: dict[str, Any], quotes: str) -> dict[str, Any]:
    """``document`` whose ``canQuote`` says ``[moderation] quotes`` (a stored document keeps the
    policy of the day it was published; what we serve follows the setting of today)."""
    policy = document.get("interactionPolicy")
    author = document.get("attributedTo")
    if not isinstance(policy, dict) or not isinstance(author, str):
        return document
    return {**document, "interactionPolicy": {**policy, "canQuote": can_quote(author, quotes)}}


async def served_document(row: ContentObject, *, quotes: str | None = None) -> dict[str, Any]:
    """The stored document with live counters: approved replies, likes and shares (embedded
    with ``totalItems``, the only form Mastodon reads counts from) and, given ``quotes``, the
    quote policy in force."""
    document = dict(row.document)
    replies = document.get("replies")
    if isinstance(replies, dict):
        total = await approved_replies(row).count()
        document["replies"] = {**replies, "totalItems": total}
    if "likes" in document or "shares" in document:
        for suffix, kind in (("likes", InteractionKind.LIKE), ("shares", InteractionKind.ANNOUNCE)):
            total = await Interaction.filter(object_uri=row.uri, kind=kind).count()
            document[suffix] = counted(row.uri, suffix, total)
    if quotes is not None:
        document = with_quote_policy(document, quotes)
    return document


async def replies_collection(row: ContentObject, page: PageRequest) -> dict[str, Any]:
    """Approved public replies to ``row`` (their ids), newest first, :data:`REPLIES_PAGE_SIZE`
    a page (Mastodon reads the first page only)."""
    collection_uri = f"{row.uri}/replies"
    page = PageRequest(page=page.page, size=REPLIES_PAGE_SIZE)
    query = approved_replies(row)
    total = await query.count()
    if page.page is None:
        return build_collection(collection_uri, total, page.size)
    uris: list[str] = await column(
        query.order_by("-published_at", "-id").offset(page.offset).limit(page.size), "uri")
    return build_page(collection_uri, page, total, list(uris))


async def interactions_collection(row: ContentObject, kind: InteractionKind) -> dict[str, Any]:
    """``likes`` or ``shares``: only how many (who did it is theirs to tell)."""
    suffix = "likes" if kind == InteractionKind.LIKE else "shares"
    total = await Interaction.filter(object_uri=row.uri, kind=kind).count()
    return with_context(counted(row.uri, suffix, total))


def _embedded(document: dict[str, Any]) -> dict[str, Any]:
    return without_context(document)


async def _hide_deleted(activities: list[OutboxActivity]) -> list[dict[str, Any]]:
    """The activities as served (with their ``@context``), a deleted object's Tombstone in
    place of its content."""
    uris = {a.object_uri for a in activities if a.object_uri and a.type in ("Create", "Update")}
    deleted = {
        row.uri: row.document
        for row in await ContentObject.filter(uri__in=list(uris), state=ObjectState.DELETED)
    } if uris else {}
    items = []
    for activity in activities:
        document = dict(activity.document)
        if activity.object_uri in deleted and activity.type in ("Create", "Update"):
            document["object"] = _embedded(deleted[activity.object_uri])
        items.append(document)
    return items


async def outbox_collection(actor: LocalActor, collection_uri: str,
                            page: PageRequest) -> dict[str, Any]:
    """The actor's public activities, newest first."""
    query = OutboxActivity.filter(actor_id=actor.db_id, public=True)
    total = await query.count()
    if page.page is None:
        return build_collection(collection_uri, total, page.size)
    rows = await query.order_by("-id").offset(page.offset).limit(page.size)
    context, items = page_context(await _hide_deleted(list(rows)))
    return build_page(collection_uri, page, total, items, context)


async def featured_collection(actor: LocalActor, collection_uri: str) -> dict[str, Any]:
    """The actor's pinned objects ("À la une"), newest first, as ids: Mastodon keeps a featured
    item only if it is an id or an embedded ``Note``, and unpins everything else."""
    uris: list[str] = await column(ContentObject.filter(
        actor_id=actor.db_id, pinned=True, state=ObjectState.PUBLISHED
    ).order_by("-published_at", "-id").limit(MAX_FEATURED), "uri")
    return with_context(ordered_collection(collection_uri, len(uris), list(uris)))


async def activity_document(activity_uri: str) -> OutboxActivity:
    """A public activity we sent; a Create/Update of an object deleted since is Gone."""
    row = await OutboxActivity.get_or_none(uri=activity_uri, public=True)
    if row is None:
        raise NotFound("no such activity")
    if row.type in ("Create", "Update") and row.object_uri:
        target = await ContentObject.get_or_none(uri=row.object_uri)
        if target is not None and target.state == ObjectState.DELETED:
            raise Gone("the object of this activity was deleted", tombstone=target.document)
    return row


async def count_local_posts() -> int:
    """Published articles, events and notes, for NodeInfo."""
    return await ContentObject.filter(
        state=ObjectState.PUBLISHED,
        kind__in=[ObjectKind.ARTICLE, ObjectKind.EVENT, ObjectKind.NOTE],
    ).count()
