"""Reading what we published: objects as served, outbox and featured, replies, likes, shares,
and every activity we sent at its id.

Only public things appear in collections: public activities in the outbox, approved public
replies in ``replies`` (pending, rejected or private ones never show, security rule 12), counts
only for likes and shares (who liked is not published). An activity undone or whose object was
deleted (``withdrawn_at``) leaves the outbox and answers 410 with its own Tombstone.

Who may read an activity at its id (:func:`may_read`): everyone when it is public (listed in
the outbox, or addressed to Public); else only a signed GET whose signer is one of its readers —
an addressee (``to``, ``cc``, ``bto``, ``bcc``, ``audience``, the actor a Follow follows), an
actor or inbox it was delivered to — or an actor of the same server (origin: scheme, IDNA host,
port) as one of them (servers fetch with an instance actor: Mastodon's representative,
Misskey's ``instance.actor``; the server already received it in its shared inbox); our own
followers collection stands for our accepted followers, by actor or by server.
"""

from __future__ import annotations

from typing import Any

from federation.db import column
from federation.db.content import ContentObject, ObjectKind, ObjectState, OutboxActivity
from federation.db.moderation import Interaction, InteractionKind, Reply, ReplyState, is_a_reply
from federation.db.social import Follower, FollowState
from federation.errors import Gone, NotFound
from federation.identity.directory import ActorDirectory, LocalActor
from federation.protocol.activities import (
    addressees,
    is_addressed_to_public,
    ordered_collection,
    tombstone,
)
from federation.protocol.actors import iso
from federation.protocol.collections import (
    PageRequest,
    build_collection,
    build_page,
    page_context,
)
from federation.protocol.jsonld import with_context
from federation.protocol.objects import can_quote
from federation.protocol.objects import interactions_collection as counted
from federation.protocol.uris import Origin, is_http_url, origin_of, same_origin

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


async def outbox_collection(actor: LocalActor, collection_uri: str,
                            page: PageRequest) -> dict[str, Any]:
    """The actor's public activities still standing (not undone, their object not deleted),
    newest first."""
    query = OutboxActivity.filter(actor_id=actor.db_id, public=True, withdrawn_at__isnull=True)
    total = await query.count()
    if page.page is None:
        return build_collection(collection_uri, total, page.size)
    rows = await query.order_by("-id").offset(page.offset).limit(page.size)
    context, items = page_context([dict(row.document) for row in rows])
    return build_page(collection_uri, page, total, items, context)


async def featured_collection(actor: LocalActor, collection_uri: str) -> dict[str, Any]:
    """The actor's pinned objects ("À la une"), newest first, as ids: Mastodon keeps a featured
    item only if it is an id or an embedded ``Note``, and unpins everything else."""
    uris: list[str] = await column(ContentObject.filter(
        actor_id=actor.db_id, pinned=True, state=ObjectState.PUBLISHED
    ).order_by("-published_at", "-id").limit(MAX_FEATURED), "uri")
    return with_context(ordered_collection(collection_uri, len(uris), list(uris)))


async def find_activity(activity_uri: str) -> OutboxActivity | None:
    """The activity we sent with this id, whoever may read it."""
    return await OutboxActivity.get_or_none(uri=activity_uri)


def is_public_activity(row: OutboxActivity) -> bool:
    """Everyone may read it: listed in the outbox, or addressed to Public."""
    return row.public or is_addressed_to_public(row.document)


def readers_of(row: OutboxActivity) -> set[str]:
    """Its addressees and whom it was delivered to (``readers``, kept when it was sent)."""
    stored = row.readers if isinstance(row.readers, list) else []
    return addressees(row.document) | {r for r in stored if isinstance(r, str)}


async def _follower_reads(actor: LocalActor, signer_uri: str, signer: Origin) -> bool:
    """The signer is an accepted follower of ``actor``, or of a follower's server."""
    uris: list[str] = await column(Follower.filter(
        actor_id=actor.db_id, state=FollowState.ACCEPTED, remote__domain=signer.host,
    ), "remote__uri")
    return any(uri == signer_uri or (is_http_url(uri) and origin_of(uri) == signer)
               for uri in uris)


async def may_read(row: OutboxActivity, signer_uri: str, directory: ActorDirectory) -> bool:
    """Whether the proven signer of a GET may read the non-public activity ``row`` (the rule is
    in this module's docstring)."""
    if not is_http_url(signer_uri):
        return False
    signer = origin_of(signer_uri)
    followers = {directory.uris.followers(a.identifier): a for a in directory.all()}
    for reader in sorted(readers_of(row)):
        if reader == signer_uri:
            return True
        if reader in followers:
            if await _follower_reads(followers[reader], signer_uri, signer):
                return True
        elif is_http_url(reader) and not same_origin(reader, directory.uris.base_url) \
                and origin_of(reader) == signer:
            return True
    return False


async def withdrawn_tombstone(row: OutboxActivity) -> dict[str, Any] | None:
    """The Tombstone an activity answers (410) once undone or its object deleted, else None.
    A Create or Update of an object deleted before ``withdrawn_at`` was kept is withdrawn too."""
    withdrawn_at = row.withdrawn_at
    if withdrawn_at is None and row.type in ("Create", "Update") and row.object_uri:
        target = await ContentObject.get_or_none(uri=row.object_uri)
        if target is not None and target.state == ObjectState.DELETED:
            withdrawn_at = target.deleted_at or target.updated_at or target.published_at
    if withdrawn_at is None:
        return None
    return with_context(tombstone(row.uri, row.type, iso(withdrawn_at)))


async def count_local_posts() -> int:
    """Published articles, events and notes, for NodeInfo."""
    return await ContentObject.filter(
        state=ObjectState.PUBLISHED,
        kind__in=[ObjectKind.ARTICLE, ObjectKind.EVENT, ObjectKind.NOTE],
    ).count()
