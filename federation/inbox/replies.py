"""Listeners for replies: Create, Update, Delete, and GoToSocial's ReplyRequest (quotes, which
use the same rows, are in ``inbox/quotes.py``).

Only what concerns us is kept (checklist item 30): a note that replies to one of our objects,
or to a reply in a thread rooted at one, or that mentions one of our actors, becomes a
``moderation.Reply`` in state *pending*; anything else is not stored.

Origin rules (checklist 13–21): the object's id lives on the actor's origin, its
``attributedTo`` is the actor, an id on our own origin is refused, an object embedded from
another origin is re-fetched from that origin (the embedded copy is ignored), and Update/Delete
touch only the actor's own objects. Content is sanitised on intake; attachments are kept as
metadata (type, media type, URL, description), checked and capped, never downloaded.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from federation.db.content import ContentObject, ObjectState
from federation.db.inbox import tombstones_among
from federation.db.moderation import Reply, ReplyKind, ReplyState
from federation.db.raw import first_row, insert_new
from federation.db.social import RemoteActor
from federation.errors import Forbidden
from federation.inbox.context import Activity
from federation.inbox.deletions import ask_origin
from federation.inbox.limits import Kind
from federation.inbox.processor import add_tombstone
from federation.inbox.wire import (
    addressees,
    as_list,
    attributed_to,
    http_url,
    id_of,
    is_public,
    natural_text,
    owned_by,
    parse_time,
    text,
    type_of,
)
from federation.moderation import notify
from federation.protocol.actors import iso
from federation.protocol.html import html_to_text, sanitize_html
from federation.protocol.uris import same_origin

logger = logging.getLogger(__name__)

REPLY_TYPES = frozenset({"Note", "Article", "Question", "Page"})
ATTACHMENT_TYPES = frozenset({"Image", "Document", "Audio", "Video", "Link"})
MAX_ATTACHMENTS = 8
MAX_NAME_CHARS = 500
MAX_SUMMARY_CHARS = 5_000
MAX_HISTORY = 20
_MEDIA_TYPE_RE = re.compile(r"^[a-z]+/[a-z0-9][a-z0-9.+-]{0,80}$")


@dataclass(frozen=True)
class Relation:
    """How a note concerns us: what it answers (or whom it mentions) and its thread root."""

    kind: ReplyKind
    target_id: int | None
    local_actor_id: int | None
    thread_root_uri: str | None


async def relation_of(activity: Activity, note: dict[str, Any]) -> Relation | None:
    """Why ``note`` concerns us, or ``None`` when it does not (then nothing is stored)."""
    in_reply_to = id_of(note.get("inReplyTo"))
    if in_reply_to is not None:
        if same_origin(in_reply_to, activity.services.local_origin):
            target = await first_row(ContentObject, ("id", "actor_id"),
                                     uri=in_reply_to, state=ObjectState.PUBLISHED)
            if target is not None:
                return Relation(ReplyKind.REPLY, target[0], target[1], in_reply_to)
        else:
            parent = await first_row(Reply, ("target_id", "local_actor_id", "thread_root_uri"),
                                     uri=in_reply_to)
            if parent is not None and parent[2] is not None:
                return Relation(ReplyKind.REPLY, *parent)
    directory = activity.services.directory
    mentioned = [t.get("href") for t in as_list(note.get("tag")) if isinstance(t, dict)
                 and t.get("type") == "Mention"]
    for uri in [*mentioned, *sorted(addressees(note))]:
        local = directory.by_uri(uri) if isinstance(uri, str) else None
        if local is not None:
            return Relation(ReplyKind.MENTION, None, local.db_id, None)
    return None


def attachments_of(note: dict[str, Any]) -> list[dict[str, str]]:
    """Attachment metadata: known types, valid media types and URLs, capped in number and size."""
    kept = []
    for item in as_list(note.get("attachment"), MAX_ATTACHMENTS * 4):
        kind = type_of(item, ATTACHMENT_TYPES)
        if kind is None:
            continue
        url = http_url(item.get("url") or item.get("href"))
        if url is None:
            continue
        media_type = text(item.get("mediaType"), 100).strip().lower()
        kept.append({
            "type": kind,
            "media_type": media_type if _MEDIA_TYPE_RE.match(media_type) else "",
            "url": url,
            "name": html_to_text(text(item.get("name"), MAX_NAME_CHARS * 4))[:MAX_NAME_CHARS],
        })
        if len(kept) == MAX_ATTACHMENTS:
            break
    return kept


MAX_POLL_OPTIONS = 20
MAX_POLL_OPTION_CHARS = 200


def poll_of(note: dict[str, Any]) -> dict[str, Any] | None:
    """A ``Question``'s poll as plain data: ``{"mode": "oneOf"|"anyOf", "options": [...],
    "closes_at": ISO 8601 or None}`` (Mastodon, Misskey, Pleroma and GoToSocial all write the
    options as ``Note``s whose ``name`` is the option); ``None`` for any other object."""
    if type_of(note, ("Question",)) is None:
        return None
    for mode in ("oneOf", "anyOf"):
        choices = as_list(note.get(mode), MAX_POLL_OPTIONS)
        if not choices:
            continue
        options = []
        for choice in choices:
            label = natural_text(choice, "name", MAX_POLL_OPTION_CHARS * 4)[0] \
                if isinstance(choice, dict) else ""
            options.append(html_to_text(label)[:MAX_POLL_OPTION_CHARS])
        closes_at = parse_time(note.get("endTime")) or parse_time(note.get("closed"))
        return {"mode": mode, "options": options,
                "closes_at": iso(closes_at) if closes_at else None}
    return None


def is_poll_vote(note: dict[str, Any]) -> bool:
    """True for a vote in a poll: a ``Note`` with a ``name`` (the option chosen), no content,
    replying to the poll (Mastodon, Pleroma, Misskey and GoToSocial vote this way).

    A vote is addressed to the poll's author only; it is never a reply for moderators."""
    if type_of(note, ("Note",)) is None or id_of(note.get("inReplyTo")) is None:
        return False
    name = natural_text(note, "name", MAX_NAME_CHARS)[0]
    content = natural_text(note, "content", 1)[0]
    return bool(name.strip()) and not content


def content_fields(note: dict[str, Any]) -> dict[str, Any]:
    """The sanitised, capped columns of a reply built from ``note``: text fields read from
    ``content``/``name``/``summary`` or their language maps, the content warning
    (``summary`` and ``sensitive``), a poll's options."""
    content, language = natural_text(note, "content", 2_000_000)
    name = natural_text(note, "name", MAX_NAME_CHARS * 4)[0]
    summary, summary_language = natural_text(note, "summary", MAX_SUMMARY_CHARS * 4)
    return {
        "object_type": text(note.get("type"), 32),
        "url": http_url(note.get("url")),
        "name": html_to_text(name)[:MAX_NAME_CHARS],
        "summary": sanitize_html(summary)[:MAX_SUMMARY_CHARS],
        "sensitive": note.get("sensitive") is True,
        "content_html": sanitize_html(content),
        "language": language or summary_language,
        "attachments": attachments_of(note),
        "poll": poll_of(note),
        "is_public": is_public(note),
        "published_at": parse_time(note.get("published")),
    }


async def authored_note(activity: Activity, value: Any, *,
                        exact: bool = False) -> dict[str, Any] | None:
    """The note an activity carries, proven to be the actor's (checklist 13–15, 21, 36).

    Refuses (403) an id on our origin or on another origin than the actor's; a note named by
    URL is fetched, and the id it finally has (after redirects) must be on the actor's origin
    too — ``exact``: it must be the very note named (an Update). ``None`` when the object is
    not a note type we keep, or was deleted.
    """
    object_id = id_of(value)
    if object_id is None:
        return None
    if same_origin(object_id, activity.services.local_origin):
        raise Forbidden("object claims an id on our origin")
    if not owned_by(object_id, activity.actor_uri):
        raise Forbidden("object id is not on the actor's origin")
    note = value if isinstance(value, dict) else await activity.fetch_own_object(object_id, exact=exact)
    if note is None:
        return None
    if type_of(note, REPLY_TYPES) is None:
        return None
    if attributed_to(note) != activity.actor_uri:
        raise Forbidden("attributedTo is not the activity's actor")
    return note


async def store_reply(activity: Activity, note: dict[str, Any], relation: Relation,
                      request_uri: str | None = None, *, counted: bool = False) -> bool:
    """Create the pending ``Reply`` for ``note`` (nothing when it is already known).

    Counted against the sender's host first (429 when over its limit), unless the caller
    ``counted`` it already."""
    if not counted:
        activity.count(Kind.REPLY)
    uri = str(note["id"])
    author = await activity.remote_actor(activity.actor_uri)
    fields = {
        "uri": uri,
        "kind": ReplyKind.REPLY_REQUEST if request_uri else relation.kind,
        "author_id": author.id,
        "local_actor_id": relation.local_actor_id,
        "target_id": relation.target_id,
        "in_reply_to_uri": id_of(note.get("inReplyTo")),
        "thread_root_uri": relation.thread_root_uri,
        "request_activity_uri": request_uri,
        "state": ReplyState.PENDING,
        **content_fields(note),
    }
    settings = activity.services.settings
    try:
        if not notify.any_configured(settings):  # one statement: no transaction round trips
            created = await insert_new(Reply, fields)
        else:
            async with in_transaction():  # the reply and its moderators' notifications, or neither
                created = await insert_new(Reply, fields)
                if created is not None:
                    await notify.item_received(settings, notify.REPLY, created)
    except IntegrityError:  # its target or author removed meanwhile
        return False
    if created is None:  # already known (another activity carried it)
        return False
    logger.info("reply %s from %s queued for moderation", uri, author.domain)
    return True


async def created_note(activity: Activity) -> dict[str, Any] | None:
    """The note a ``Create`` carries, proven to be the actor's and not deleted; ``None`` when
    there is none to keep — a poll vote among them (:func:`is_poll_vote`)."""
    value = activity.document.get("object")
    object_id = id_of(value)
    if activity.is_deleted(object_id):
        return None
    if activity.maybe_deleted(object_id) and owned_by(object_id, activity.actor_uri):
        value = await ask_origin(activity, str(object_id), _tombstone_retention(activity))
        if value is None:
            return None
    note = await authored_note(activity, value)
    if note is None:
        if isinstance(value, dict) and type_of(value, REPLY_TYPES) is None:
            logger.debug("Create %s of a %r ignored: not a note type we keep", activity.id,
                         text(value.get("type"), 32))
        return None
    if is_poll_vote(note):
        logger.debug("Create %s ignored: a poll vote, not a reply", activity.id)
        return None
    return note


async def store_if_related(activity: Activity, note: dict[str, Any]) -> bool:
    """Keep ``note`` pending when it concerns us (a reply in one of our threads, a mention)."""
    relation = await relation_of(activity, note)
    if relation is None:
        return False
    return await store_reply(activity, note, relation)


async def on_create(activity: Activity) -> bool:
    """``Create`` of a note: kept, pending, only when it concerns us and was not deleted."""
    note = await created_note(activity)
    return note is not None and await store_if_related(activity, note)


async def instrument_note(activity: Activity) -> dict[str, Any] | None:
    """The note a ``ReplyRequest`` or ``QuoteRequest`` carries in ``instrument`` (embedded, or
    by reference and fetched), proven to be the actor's: ``None`` if deleted or not a note.

    An unverified tombstone of the instrument (a Delete from an actor we did not know) is
    settled by asking the note's origin."""
    instrument = activity.document.get("instrument")
    instrument_id = id_of(instrument)
    if instrument_id is None:
        return None
    tombstone = (await tombstones_among([instrument_id])).get(instrument_id)
    if tombstone:  # verified
        return None
    if tombstone is not None and owned_by(instrument_id, activity.actor_uri):
        instrument = await ask_origin(activity, instrument_id, _tombstone_retention(activity))
        if instrument is None:
            return None
    if isinstance(instrument, dict) and not owned_by(id_of(instrument), activity.actor_uri):
        instrument = id_of(instrument)  # embedded from elsewhere: re-fetched, never trusted
        if instrument is None or same_origin(instrument, activity.services.local_origin):
            raise Forbidden("instrument claims an id on our origin")
        fetched = await activity.fetch_object(instrument)
        if fetched is None:
            return None
        instrument = fetched.document  # its id is the final one: checked by authored_note
    return await authored_note(activity, instrument)


async def on_reply_request(activity: Activity) -> bool:
    """GoToSocial's ``ReplyRequest``: the instrument note enters the same moderation queue."""
    target_uri = id_of(activity.document.get("object"))
    if target_uri is None:
        return False
    note = await instrument_note(activity)
    if note is None:
        return False
    if id_of(note.get("inReplyTo")) != target_uri:
        raise Forbidden("the instrument does not reply to the requested object")
    relation = await relation_of(activity, note)
    if relation is None or relation.kind != ReplyKind.REPLY:
        return False
    return await store_reply(activity, note, relation, request_uri=activity.id)


#: What a moderator judges of a reply: an Update changing none of these is no edit.
SEEN_BY_MODERATORS = ("name", "summary", "sensitive", "content_html", "attachments", "poll",
                      "is_public")


async def on_update(activity: Activity) -> bool:
    """``Update`` of a reply we hold: back to pending (but a quote approved automatically), the
    previous version kept in history."""
    value = activity.document.get("object")
    object_id = id_of(value)
    if object_id is None:
        return False
    if object_id == activity.actor_uri:
        return await _refresh_actor(activity)
    if not owned_by(object_id, activity.actor_uri):
        raise Forbidden("Update of an object on another origin")
    reply = await Reply.get_or_none(uri=object_id).prefetch_related("author")
    if reply is None:
        return False
    if reply.author.uri != activity.actor_uri:
        raise Forbidden("Update of another actor's object")
    note = await authored_note(activity, value, exact=True)
    if note is None:
        return False
    previous = {"name": reply.name, "summary": reply.summary, "content_html": reply.content_html,
                "edited_at": (reply.edited_at or reply.received_at).isoformat()}
    fields = content_fields(note)
    fields.pop("published_at")
    if all(getattr(reply, name) == fields[name] for name in SEEN_BY_MODERATORS):
        # Mastodon sends an Update of a poll at every vote and when it closes: nothing a
        # moderator judged changed, so nothing goes back to the queue
        logger.debug("Update %s changes nothing moderators see: kept as decided", activity.id)
        return False
    for name, new in fields.items():
        setattr(reply, name, new)
    reply.history = [*reply.history, previous][-MAX_HISTORY:]
    reply.edited_at = datetime.now(UTC)
    if not _approved_automatically(activity, reply):  # an edit waits for a moderator again
        reply.state, reply.decided_at = ReplyState.PENDING, None
    await reply.save()
    return True


def _approved_automatically(activity: Activity, reply: Reply) -> bool:
    """An approved quote under ``[moderation] quotes = "automatic"``: an edit changes nothing
    to its approval (no moderator would be asked about it)."""
    return (reply.kind == ReplyKind.QUOTE and reply.state == ReplyState.APPROVED
            and activity.services.settings.moderation.quotes == "automatic")


async def _refresh_actor(activity: Activity) -> bool:
    """``Update`` of the actor itself: refetch its document from its origin (if we know it)."""
    if await RemoteActor.exists(uri=activity.actor_uri):
        activity.budget.take()
        await activity.services.actors.fetch(activity.actor_uri)
        return True
    return False


def _tombstone_retention(activity: Activity) -> timedelta:
    return timedelta(days=activity.services.settings.inbox.tombstone_retention_days)


async def on_delete(activity: Activity) -> bool:
    """``Delete`` of a reply (row removed) or of the actor (all its rows removed); tombstoned."""
    object_id = id_of(activity.document.get("object"))
    if object_id is None:
        return False
    retention = _tombstone_retention(activity)
    if object_id == activity.actor_uri:
        await activity.services.actors.delete(activity.actor_uri)  # cascades: replies, follows…
        await add_tombstone(object_id, activity.actor_uri, retention)
        logger.info("actor deleted: its replies, interactions and follows are removed")
        return True
    if not owned_by(object_id, activity.actor_uri):
        raise Forbidden("Delete of an object on another origin")
    reply = await Reply.get_or_none(uri=object_id).prefetch_related("author")
    if reply is not None:
        if reply.author.uri != activity.actor_uri:
            raise Forbidden("Delete of another actor's object")
        await reply.delete()
    await add_tombstone(object_id, activity.actor_uri, retention)
    return True
