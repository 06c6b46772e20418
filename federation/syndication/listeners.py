"""Inbox listeners for what followed sister sites (and subscribed relays) send us.

They are composed with the inbox's own listeners by
:func:`~federation.inbox.processor.first_of` (``federation/services.py``, ``LISTENERS``):
a syndication listener claims an activity only when it is about a sister site's publication,
and returns ``False`` otherwise so that the next listener (replies, interactions) sees it.
The order matters: a *reply* (``inReplyTo``) by a followed actor is declined here, so a reply
to one of our objects still reaches moderation; an ``Announce`` of one of *our* objects is
declined, so it is still counted as a boost.

Origin rules (security principles 1–3, 11):

- ``Create``/``Update``: the object's id is on the actor's origin and ``attributedTo`` is the
  actor (else 403); only public articles, events, notes and pages are kept.
- ``Announce`` by a followed actor or relay: the announced object is **always re-fetched from
  its origin** (:meth:`Activity.fetch_object`), the embedded copy is ignored; its identity is
  the id it finally has after redirects (never the URL announced), and its author is its
  ``attributedTo``, which must share that id's origin (checklist 36).
- An object named by URL in a ``Create`` must finally be on the actor's origin; in an
  ``Update``, it must be the very item named.
- ``Delete``: only the item's author withdraws it; a tombstone makes a replayed ``Create`` a
  no-op.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from federation.db.social import Following, FollowState
from federation.db.syndication import ItemState, SyndicatedItem
from federation.errors import Forbidden
from federation.inbox.context import Activity
from federation.inbox.follows import log_answer
from federation.inbox.processor import add_tombstone, is_tombstoned
from federation.inbox.wire import (
    announced_object,
    attributed_to,
    id_of,
    is_public,
    owned_by,
    type_of,
)
from federation.protocol.uris import same_origin
from federation.syndication import service
from federation.syndication.items import ITEM_TYPES, is_reply, item_fields

logger = logging.getLogger(__name__)


async def followed_source(activity: Activity) -> Following | None:
    """Our accepted follow of the activity's actor (a sister site, or a relay's actor), oldest
    first."""
    actor_uri = activity.actor_uri
    if not await activity.services.followed.may_follow(actor_uri):  # most: no query
        return None
    rows = Following.filter(state=FollowState.ACCEPTED)
    found = await rows.filter(target_uri=actor_uri).order_by("id").first()
    if found is None:
        found = await rows.filter(remote__uri=actor_uri).order_by("id").first()
    return found


async def store_item(activity: Activity, source: Following, document: dict[str, Any], *,
                     author: str, via: str | None) -> bool:
    """Keep ``document`` as a new item of ``source`` and apply the source's policy."""
    object_uri = str(document["id"])
    if await SyndicatedItem.exists(object_uri=object_uri):
        return False
    try:
        item = await SyndicatedItem.create(
            source=source, object_uri=object_uri, actor_uri=author, via_uri=via,
            state=service.INITIAL_STATE[source.policy], **item_fields(document),
        )
    except IntegrityError:  # the same item, concurrently
        return False
    await service.admit(activity.services.directory, item, source)
    logger.info("syndicated %s %s from %s: %s", item.type, object_uri,
                source.target_uri, item.state)
    return True


def _keepable(document: dict[str, Any]) -> bool:
    return (type_of(document, ITEM_TYPES) is not None and not is_reply(document)
            and is_public(document))


async def on_create(activity: Activity) -> bool:
    """``Create`` by a followed actor of a public article, event or note: a new item."""
    value = activity.document.get("object")
    object_id = id_of(value)
    if object_id is None or activity.is_deleted(object_id):  # tombstones read by the processor
        return False
    source = await followed_source(activity)
    if source is None or same_origin(object_id, activity.services.local_origin):
        return False  # not ours to handle (the replies listener refuses our own origin)
    if not owned_by(object_id, activity.actor_uri):
        raise Forbidden("object id is not on the actor's origin")
    document = value if isinstance(value, dict) else await activity.fetch_own_object(object_id)
    if document is None or not _keepable(document):
        return False
    if attributed_to(document) != activity.actor_uri:
        raise Forbidden("attributedTo is not the activity's actor")
    return await store_item(activity, source, document, author=activity.actor_uri, via=None)


async def on_announce(activity: Activity) -> bool:
    """``Announce`` by a followed actor or relay: the object, re-fetched from its origin (a
    group's Announce of a ``Create``, FEP-1b12, shares the created object)."""
    value = announced_object(activity.document.get("object"))
    object_id = id_of(value)
    if object_id is None or same_origin(object_id, activity.services.local_origin):
        return False  # a boost of our own object: counted by the interactions listener
    source = await followed_source(activity)
    if source is None or await is_tombstoned(object_id):
        return False
    if isinstance(value, dict) and "type" in value and type_of(value, ITEM_TYPES) is None:
        return False
    if await SyndicatedItem.exists(object_uri=object_id):
        return False
    fetched = await activity.fetch_object(object_id)  # the embedded copy is never trusted
    if fetched is None:
        return False
    document, author = fetched.document, attributed_to(fetched.document)
    if author is None or not owned_by(fetched.id, author) or not _keepable(document):
        return False
    if await activity.is_blocked(author):  # a relay does not carry a blocked author in
        return False
    return await store_item(activity, source, document, author=author, via=activity.actor_uri)


async def on_update(activity: Activity) -> bool:
    """``Update`` of an item we hold, by its author: its columns refreshed, its state kept."""
    value = activity.document.get("object")
    object_id = id_of(value)
    if object_id is None or object_id == activity.actor_uri:
        return False  # an actor refreshing itself: the replies listener handles it
    item = await SyndicatedItem.get_or_none(object_uri=object_id)
    if item is None or item.state == ItemState.WITHDRAWN:
        return False
    if item.actor_uri != activity.actor_uri or not owned_by(object_id, activity.actor_uri):
        raise Forbidden("Update of another actor's object")
    document = value if isinstance(value, dict) else await activity.fetch_own_object(
        object_id, exact=True)
    if document is None:
        return False
    if type_of(document, ITEM_TYPES) is None or attributed_to(document) != activity.actor_uri:
        raise Forbidden("the updated object is not the actor's item")
    for name, new in item_fields(document).items():
        setattr(item, name, new)
    await item.save()
    logger.info("syndicated item %s updated", object_id)
    return True


async def on_delete(activity: Activity) -> bool:
    """``Delete`` of an item by its author: withdrawn (Undo of our boost) and tombstoned.

    The deletion of a whole actor withdraws its items and then lets the replies listener
    remove the actor's other rows (so ``False`` is returned after the withdrawal).
    """
    object_id = id_of(activity.document.get("object"))
    if object_id is None:
        return False
    directory = activity.services.directory
    if object_id == activity.actor_uri:
        items = await SyndicatedItem.filter(actor_uri=activity.actor_uri).exclude(
            state=ItemState.WITHDRAWN)
        for withdrawn in items:
            await service.withdraw(directory, withdrawn)
        return False
    item = await SyndicatedItem.get_or_none(object_uri=object_id)
    if item is None:
        return False
    if item.actor_uri != activity.actor_uri:
        raise Forbidden("Delete of another actor's object")
    await service.withdraw(directory, item)
    retention = timedelta(days=activity.services.settings.inbox.tombstone_retention_days)
    await add_tombstone(object_id, activity.actor_uri, retention)
    return True


async def on_relay_answer(activity: Activity) -> bool:
    """``Accept``/``Reject`` of our Follow of a Mastodon-style relay (sent to its inbox).

    We followed ``as:Public`` at an inbox URL, so the answer comes from the relay's actor,
    which we learn here (same origin as the inbox). LitePub relays (a Follow of the relay
    actor) are answered like any follow, by the follows listener.
    """
    inner_id = id_of(activity.document.get("object"))
    if inner_id is None:
        return False
    row = await Following.get_or_none(follow_activity_uri=inner_id, is_relay=True)
    if row is None or row.target_uri == activity.actor_uri:
        return False
    if not same_origin(row.target_uri, activity.actor_uri):
        raise Forbidden("an answer to our relay follow from another origin")
    remote = await activity.remote_actor()
    row.remote = remote
    row.state = FollowState.ACCEPTED if activity.type == "Accept" else FollowState.REJECTED
    row.decided_at = datetime.now(UTC)
    await row.save()
    log_answer(row, activity.actor_uri)
    return True
