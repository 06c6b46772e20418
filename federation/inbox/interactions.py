"""Listeners for Like, Announce, Undo and Flag.

- ``Like``/``Announce`` of one of our published objects: one ``Interaction`` row (counted per
  object; the same actor liking twice counts once). ``Undo`` removes it — only the actor's own.
- ``Announce`` of someone else's note (relays, boosts of a reply to us): the note is re-fetched
  from its origin — the embedded copy is never trusted — and handled as that author's ``Create``.
- ``Flag`` naming one of our actors or objects: a ``Report`` for the moderators.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from federation.db.content import ContentObject, ObjectState
from federation.db.moderation import Interaction, InteractionKind, Report
from federation.db.raw import first_row, insert_new
from federation.db.social import Follower
from federation.errors import Forbidden
from federation.inbox.context import Activity
from federation.inbox.follows import undo_follow, undo_of_ours
from federation.inbox.limits import Kind
from federation.inbox.processor import is_tombstoned
from federation.inbox.replies import REPLY_TYPES, relation_of, store_reply
from federation.inbox.wire import (
    announced_object,
    attributed_to,
    id_of,
    ids_of,
    natural_text,
    owned_by,
    type_of,
)
from federation.moderation import notify
from federation.protocol.html import html_to_text
from federation.protocol.uris import same_origin

logger = logging.getLogger(__name__)

#: ``EmojiReact`` (Pleroma, Akkoma; Misskey sends a ``Like`` with ``_misskey_reaction``) is
#: counted as a like: one per actor and object, whatever the emoji.
KINDS = {"Like": InteractionKind.LIKE, "EmojiReact": InteractionKind.LIKE,
         "Announce": InteractionKind.ANNOUNCE}
#: Undo of these removes the ``Interaction`` the undone activity made.
COUNTED_TYPES = frozenset(KINDS)
MAX_REPORTED_OBJECTS = 20
MAX_REPORT_CHARS = 5_000
_URL_RE = re.compile(r"https?://[^\s<>\"']{1,2000}")


async def _our_object(activity: Activity, uri: str | None) -> str | None:
    """``uri`` when it is one of our published objects (``None`` otherwise)."""
    if uri is None or not same_origin(uri, activity.services.local_origin):
        return None
    found = await first_row(ContentObject, ("id",), uri=uri, state=ObjectState.PUBLISHED)
    return uri if found is not None else None


async def on_like_or_announce(activity: Activity) -> bool:
    """Count a Like/EmojiReact/Announce of our object; an Announce of a remote reply is
    re-fetched (a group's Announce of a ``Create``, FEP-1b12, is one of the created object)."""
    value = activity.document.get("object")
    if activity.type == "Announce":
        value = announced_object(value)
        if value is None:
            logger.debug("Announce %s of an activity ignored: only a Create is followed",
                         activity.id)
            return False
    target = await _our_object(activity, id_of(value))
    if target is not None:
        activity.count(Kind.INTERACTION)
        remote = await activity.remote_actor()
        try:
            created = await insert_new(Interaction, {
                "kind": KINDS[activity.type], "activity_uri": activity.id,
                "remote_id": remote.id, "object_uri": target})
        except IntegrityError:  # the actor's row removed meanwhile
            return False
        return created is not None  # None: already counted
    if activity.type == "Announce":
        return await _announced_note(activity, value)
    return False


async def _announced_note(activity: Activity, value: Any) -> bool:
    """A boosted note from any origin: re-fetched from its origin, kept if it concerns us."""
    object_id = id_of(value)
    if object_id is None or same_origin(object_id, activity.services.local_origin):
        return False
    if await is_tombstoned(object_id):
        return False
    if isinstance(value, dict) and "type" in value and type_of(value, REPLY_TYPES) is None:
        return False
    fetched = await activity.fetch_object(object_id)
    if fetched is None:
        return False
    note, author = fetched.document, attributed_to(fetched.document)
    # the author must live where the note was finally found, not where the Announce pointed
    if type_of(note, REPLY_TYPES) is None or author is None or not owned_by(fetched.id, author):
        return False
    if await activity.is_blocked(author):  # a boost does not carry a blocked author in
        return False
    relation = await relation_of(activity, note)
    if relation is None:
        return False
    activity.count(Kind.REPLY)  # the announcer's host pays, not the author's
    as_author = Activity(activity.document, author, activity.services, activity.budget,
                         activity.inbox_owner)
    return await store_reply(as_author, note, relation, counted=True)


async def on_undo(activity: Activity) -> bool:
    """``Undo`` of a Follow, Like, EmojiReact or Announce — only of the actor's own activity
    (item 17). ``Undo(Block)`` restores nothing (the unblocked actor follows again if it
    wants to); an undone type we never kept (``Dislike``…) is ignored."""
    inner = activity.document.get("object")
    inner_id = id_of(inner)
    inner_type = inner.get("type") if isinstance(inner, dict) else None
    if inner_type is not None and not isinstance(inner_type, str):
        inner_type = type_of(inner, {"Follow", *COUNTED_TYPES}) or "?"
    if isinstance(inner, dict):
        inner_actor = id_of(inner.get("actor"))
        if inner_actor is not None and inner_actor != activity.actor_uri:
            if await undo_of_ours(activity, inner):  # a relay's answer to our unsubscription
                return True
            raise Forbidden("Undo of another actor's activity")
    if inner_type == "Follow":
        return await undo_follow(activity, inner)
    if inner_type is not None and inner_type not in COUNTED_TYPES:
        logger.debug("Undo %s of a %s ignored: nothing of it was kept", activity.id, inner_type)
        return False
    if inner_id is None:
        return False
    deleted = await Interaction.filter(
        activity_uri=inner_id, remote__uri=activity.actor_uri
    ).delete()
    if deleted:
        return True
    if inner_type is None:  # a bare id: maybe a Follow
        return await undo_follow(activity, inner)
    return False


async def on_flag(activity: Activity) -> bool:
    """A report naming one of our actors or objects becomes a ``Report`` row.

    Shapes: Mastodon, GoToSocial, Pleroma and Mobilizon send ``object: [actor, status…]``
    (Pleroma builds the statuses as embedded objects and strips them to ids before sending:
    both forms are read) and the comment in ``content``; Misskey names the actor only and
    writes the notes' URLs in ``content``; Lemmy and Mbin put the reason in ``summary``. Our
    URLs found in the comment are reported objects too."""
    document = activity.document
    local_origin = activity.services.local_origin
    content, _ = natural_text(document, "content", MAX_REPORT_CHARS * 4)
    if not content.strip():
        content, _ = natural_text(document, "summary", MAX_REPORT_CHARS * 4)
    comment = html_to_text(content)[:MAX_REPORT_CHARS]
    objects = ids_of(document.get("object"))
    for found in _URL_RE.findall(content):
        found = found.rstrip(".,;:!?)]")  # the sentence's, not the URL's
        if same_origin(found, local_origin) and found not in objects:
            objects.append(found)
    objects = objects[:MAX_REPORTED_OBJECTS]
    if not any(same_origin(uri, local_origin) for uri in objects):
        return False
    activity.count(Kind.REPORT)
    reporter = await activity.remote_actor()
    try:
        async with in_transaction():  # the report and its moderators' notifications, or neither
            report = await Report.create(activity_uri=activity.id, reporter_id=reporter.id,
                                         object_uris=objects, content=comment)
            await notify.item_received(activity.services.settings, notify.REPORT, report.id)
    except IntegrityError:
        return False
    logger.info("report %s received from %s", activity.id, reporter.domain)
    return True


async def on_block(activity: Activity) -> bool:
    """A remote actor blocks one of ours (Mastodon, Misskey, Pleroma send it to the blocked
    actor): it no longer follows that actor — its ``Follower`` row goes, so nothing more is
    delivered to it — as Mastodon does on a block. A block of someone else (a Lemmy
    community ban) is not ours."""
    local = activity.services.directory.by_uri(id_of(activity.document.get("object")) or "")
    if local is None:
        return False
    removed = await Follower.filter(actor_id=local.db_id, remote__uri=activity.actor_uri).delete()
    if removed:
        logger.info("blocked by a follower of %s: follow removed", local.identifier)
    return bool(removed)
