"""Listener for FEP-044f ``QuoteRequest``: someone asks to quote one of our objects.

Mastodon 4.5+ sends it to the quoted actor's inbox when a user quotes an object whose
``canQuote`` allows it::

    {"id": "https://masto.example/users/bob/quote_requests/<uuid>", "type": "QuoteRequest",
     "actor": "https://masto.example/users/bob", "object": <our object>,
     "instrument": {<the quoting Note, with "quote": <our object>>}}

and the quote stays "pending" until an ``Accept`` whose ``result`` is a dereferenceable
``QuoteAuthorization`` arrives (``moderation/activities.py``). The answer follows
``[moderation] quotes``: ``automatic`` accepts at once (the quote is kept, approved, so that
moderators can revoke it), ``moderated`` puts it in the moderation queue (approve → Accept,
reject → Reject), ``nobody`` refuses it (Reject; nothing is kept).

Origin rules as for replies: the instrument is the actor's note (embedded from another origin:
re-fetched; by reference: fetched within the activity's budget), and it must quote the object
it asks for. A quote is a ``moderation.Reply`` of kind ``quote``; it is not a reply: it shows in
no ``replies`` collection or export unless the note also answers one of our threads.
"""

from __future__ import annotations

import logging
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from federation.db.content import ContentObject, ObjectState
from federation.db.moderation import Action, Reply, ReplyKind, ReplyState
from federation.db.raw import first_row, insert_new
from federation.errors import Forbidden
from federation.inbox.context import Activity
from federation.inbox.replies import (
    content_fields,
    created_note,
    instrument_note,
    relation_of,
    store_if_related,
)
from federation.inbox.wire import id_of, ids_of
from federation.moderation import notify
from federation.moderation.service import AUTOMATIC, ModerationService
from federation.protocol.uris import same_origin

logger = logging.getLogger(__name__)

#: Where a note names what it quotes: FEP-044f ``quote``, and the older spellings Mastodon
#: still writes beside it (``_misskey_quote``, ``quoteUri``) or reads (``quoteUrl``).
QUOTE_PROPERTIES = ("quote", "quoteUrl", "quoteUri", "_misskey_quote")

#: Kinds of a pending row that a QuoteRequest for the same note turns into a quote (a quote
#: that also mentions us, or answers our article, arrived first as a Create).
_UPGRADABLE = (ReplyKind.REPLY, ReplyKind.MENTION)


def quoted_uris(note: dict[str, Any]) -> set[str]:
    """Every object ``note`` says it quotes."""
    return {uri for name in QUOTE_PROPERTIES for uri in ids_of(note.get(name))}


async def on_quote_request(activity: Activity) -> bool:
    """Answer a ``QuoteRequest`` for one of our published objects, as the quote policy says."""
    services = activity.services
    quoted_uri = id_of(activity.document.get("object"))
    if quoted_uri is None or not same_origin(quoted_uri, services.local_origin):
        return False
    target = await first_row(ContentObject, ("id", "actor_id"), uri=quoted_uri,
                             state=ObjectState.PUBLISHED)
    if target is None:
        return False
    note = await instrument_note(activity)
    if note is None:
        return False
    if quoted_uri not in quoted_uris(note):
        raise Forbidden("the instrument does not quote the requested object")
    policy = services.settings.moderation.quotes
    moderation = ModerationService(services.settings, services.directory)
    if policy == "nobody":
        await moderation.refuse_quote(actor_db_id=target[1], quoter_uri=activity.actor_uri,
                                      note_uri=str(note["id"]), quoted_uri=quoted_uri,
                                      request_uri=activity.id)
        logger.info("quote request %s refused (quotes = nobody)", activity.id)
        return True
    reply_id = await _store_quote(activity, note, target_id=target[0], actor_id=target[1],
                                  request_uri=activity.id, moderated=policy == "moderated")
    if reply_id is None:
        return False
    if policy == "automatic":
        await moderation.decide(reply_id, Action.APPROVE, AUTOMATIC)
    return True


async def on_create(activity: Activity) -> bool:
    """``Create`` of a note: a quote of one of our published objects is kept as a quote, any
    other note as a reply or mention when it concerns us (:func:`replies.store_if_related`).

    Misskey, Sharkey, Pleroma, Akkoma, Fedibird and Mastodon before 4.5 quote without asking
    (``_misskey_quote``, ``quoteUrl``, ``quoteUri``; no ``QuoteRequest``): such a *legacy*
    quote is published on its server already, like a reply. It follows ``[moderation] quotes``
    as a request does — ``moderated``: the moderation queue, ``automatic``: approved at once,
    ``nobody``: not kept (there is no request to refuse) — without a request to answer
    (``request_activity_uri`` empty; a ``QuoteRequest`` for the same note arriving later
    makes it a requested quote)."""
    note = await created_note(activity)
    if note is None:
        return False
    services = activity.services
    target = None
    for uri in sorted(quoted_uris(note)):
        if same_origin(uri, services.local_origin):
            target = await first_row(ContentObject, ("id", "actor_id"), uri=uri,
                                     state=ObjectState.PUBLISHED)
            if target is not None:
                break
    if target is None:
        return await store_if_related(activity, note)
    policy = services.settings.moderation.quotes
    if policy == "nobody":
        logger.info("quote %s of our object not kept (quotes = nobody)", note.get("id"))
        return await store_if_related(activity, note)
    reply_id = await _store_quote(activity, note, target_id=target[0], actor_id=target[1],
                                  request_uri=None, moderated=policy == "moderated")
    if reply_id is None:
        return False
    if policy == "automatic":
        moderation = ModerationService(services.settings, services.directory)
        await moderation.decide(reply_id, Action.APPROVE, AUTOMATIC)
    return True


async def _store_quote(activity: Activity, note: dict[str, Any], *, target_id: int,
                       actor_id: int, request_uri: str | None,
                       moderated: bool) -> int | None:
    """The pending ``Reply`` row of kind ``quote`` for ``note`` (``None``: nothing to do);
    its moderators are notified when it waits for them (``moderated``).

    A pending row of the note kept as a reply, a mention or an unrequested quote becomes the
    quote of ``request_uri``."""
    uri = str(note["id"])
    relation = await relation_of(activity, note)
    thread_root = relation.thread_root_uri if relation is not None \
        and relation.kind == ReplyKind.REPLY else None
    author = await activity.remote_actor(activity.actor_uri)
    quote = {"kind": ReplyKind.QUOTE, "target_id": target_id, "local_actor_id": actor_id,
             "request_activity_uri": request_uri}
    try:
        async with in_transaction():  # the quote and its moderators' notifications, or neither
            created = await insert_new(Reply, {
                "uri": uri, "author_id": author.id,
                "in_reply_to_uri": id_of(note.get("inReplyTo")),
                "thread_root_uri": thread_root, "state": ReplyState.PENDING,
                **quote, **content_fields(note),
            })
            if created is not None and moderated:  # else approved at once: nothing waits
                await notify.item_received(activity.services.settings, notify.REPLY, created)
    except IntegrityError:  # its target or author removed meanwhile
        return None
    if created is not None:
        logger.info("quote %s from %s queued for moderation", uri, author.domain)
        return created
    if request_uri is None:
        return None  # known already: an unrequested quote changes nothing to it
    pending = Reply.filter(uri=uri, author_id=author.id, state=ReplyState.PENDING)
    upgraded = await pending.filter(kind__in=_UPGRADABLE).update(**quote)
    if not upgraded:  # an unrequested quote, now asked for
        upgraded = await pending.filter(kind=ReplyKind.QUOTE,
                                        request_activity_uri__isnull=True).update(**quote)
    if not upgraded:
        return None  # already a quote, or decided as something else: kept as it is
    row = await first_row(Reply, ("id",), uri=uri)
    return row[0] if row is not None else None
