"""The editorial rules of syndication: what happens to an item, by policy and by decision.

- A new item takes the state its source's policy says: ``announce`` → *approved* and our actor
  boosts it at once; ``review`` → *pending_review* (the editorial queue); ``store`` → *stored*
  (kept for the site, nothing sent).
- ``approve`` (from *pending_review* or *rejected*) sends the Announce; ``reject`` (from
  *pending_review* or *approved*) keeps it out of the exports and, if it was announced, sends
  ``Undo(Announce)``: the Announce then answers 410 at its id and leaves the outbox.
- ``withdraw`` (the source deleted the item): content dropped, ``Undo(Announce)`` if it was
  announced, never shown again.

The Announce is ``{actor: our actor, object: the item's id, to: Public, cc: [our followers, the
item's author]}``, delivered to our actor's followers, to the author's inbox (Mastodon's shape:
its author is notified of the boost) and to the relays we subscribe to — never to the relay the
item came through (``via``), which would carry it back to where it already went. Its
``Undo`` goes the same way. Relayed items are boosted by the site actor (the instance actor,
which follows relays, has no readers). Every decision by a person is written to the moderation
audit log (``subject_type`` ``syndicated``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from federation.db import is_row_id
from federation.db.moderation import Decision
from federation.db.social import Following, SyndicationPolicy
from federation.db.syndication import ItemState, SyndicatedItem
from federation.delivery.outbox import Audience, activity_uri, send_activity, withdraw_activities
from federation.errors import Conflict, NotFound
from federation.identity.directory import ActorDirectory, LocalActor
from federation.protocol import activities
from federation.protocol.actors import iso
from federation.protocol.jsonld import with_context
from federation.protocol.uris import link_url

logger = logging.getLogger(__name__)

AUDIT_SUBJECT = "syndicated"

INITIAL_STATE = {
    SyndicationPolicy.ANNOUNCE: ItemState.APPROVED,
    SyndicationPolicy.REVIEW: ItemState.PENDING_REVIEW,
    SyndicationPolicy.STORE: ItemState.STORED,
}


class Decide:
    APPROVE = "approve"
    REJECT = "reject"


ACTIONS = (Decide.APPROVE, Decide.REJECT)


@dataclass(frozen=True)
class DecisionOutcome:
    item_id: int
    ok: bool
    state: str | None = None
    error: str | None = None
    #: The error's message key and parameters, for the UI to translate.
    error_key: str | None = None
    error_params: dict[str, str] | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def sender_of(directory: ActorDirectory, source: Following) -> LocalActor:
    """Our actor that follows ``source`` (it boosts the source's items); the site actor for
    a relay the instance actor subscribed to."""
    actor = directory.by_db_id(source.actor_id)
    if actor is None:
        raise NotFound("the actor that follows this source is not configured any more",
                       key="error.syndication.no_actor")
    return directory.site_actor if directory.is_instance_actor(actor) else actor


def build_announce(directory: ActorDirectory, actor: LocalActor, object_uri: str,
                   author: str | None = None) -> dict[str, Any]:
    return with_context(activities.boost(
        activity_uri(directory, "announce"), actor.uri, object_uri, published=iso(_now()),
        followers=directory.uris.followers(actor.identifier), author=author,
    ))


def build_undo_announce(directory: ActorDirectory, actor: LocalActor, announce_uri: str,
                        object_uri: str, author: str | None = None) -> dict[str, Any]:
    boost = activities.boost(announce_uri, actor.uri, object_uri,
                             followers=directory.uris.followers(actor.identifier), author=author)
    return with_context(activities.undo(activity_uri(directory, "undo"), actor.uri, boost,
                                        to=boost["to"], cc=boost["cc"]))


def boost_audience(actor: LocalActor, item: SyndicatedItem) -> Audience:
    """Who receives our boost of ``item`` (and its Undo): our followers and its author; the
    relay it came through never (the relays themselves are added when it is sent)."""
    return Audience(followers_of=actor.identifier, actor_uris=(item.actor_uri,),
                    excluded=(item.via_uri,) if item.via_uri else ())


async def announce(directory: ActorDirectory, item: SyndicatedItem, source: Following) -> None:
    """Boost ``item`` as the actor following its source (to that actor's followers, and its
    author)."""
    actor = sender_of(directory, source)
    activity = build_announce(directory, actor, item.object_uri, item.actor_uri)
    await send_activity(activity, sender=actor, audience=boost_audience(actor, item), public=True)
    item.announce_activity_uri = activity["id"]
    logger.info("announced %s as %s", item.object_uri, actor.identifier)


async def undo_announce(directory: ActorDirectory, item: SyndicatedItem, source: Following) -> None:
    """Retract our boost of ``item`` (nothing when it was not announced)."""
    if not item.announce_activity_uri:
        return
    actor = sender_of(directory, source)
    activity = build_undo_announce(directory, actor, item.announce_activity_uri, item.object_uri,
                                   item.actor_uri)
    await send_activity(activity, sender=actor, audience=boost_audience(actor, item), public=True)
    await withdraw_activities(uris=[item.announce_activity_uri])
    item.announce_activity_uri = None
    logger.info("announce of %s undone", item.object_uri)


async def admit(directory: ActorDirectory, item: SyndicatedItem, source: Following) -> None:
    """Apply the source's policy to a new item (its state is already the initial one)."""
    if item.state == ItemState.APPROVED:
        await announce(directory, item, source)
        await item.save(update_fields=["announce_activity_uri"])


async def withdraw(directory: ActorDirectory, item: SyndicatedItem) -> None:
    """The source deleted ``item``: undo our boost, drop the content, keep it out of exports."""
    if item.state == ItemState.WITHDRAWN:
        return
    source = await Following.get_or_none(id=item.source_id)
    if source is not None:
        await undo_announce(directory, item, source)
    item.state, item.withdrawn_at = ItemState.WITHDRAWN, _now()
    item.document, item.name, item.summary = {}, "", ""
    await item.save()
    logger.info("syndicated item %s withdrawn", item.object_uri)


async def _audit(moderator: str, action: str, item: SyndicatedItem, from_state: str,
                 to_state: str) -> None:
    await Decision.create(moderator=moderator[:64], action=action, subject_type=AUDIT_SUBJECT,
                          subject_uri=item.object_uri, from_state=from_state, to_state=to_state,
                          note="")


async def decide(directory: ActorDirectory, item_id: int, action: str, moderator: str) -> SyndicatedItem:
    """Approve (→ Announce) or reject (→ Undo(Announce) if it was announced) one item."""
    item = (await SyndicatedItem.get_or_none(id=item_id).prefetch_related("source")
            if is_row_id(item_id) else None)
    if item is None:
        raise NotFound("no such syndicated item", key="error.syndication.not_found")
    before = ItemState(item.state)
    if action == Decide.APPROVE:
        if before not in (ItemState.PENDING_REVIEW, ItemState.REJECTED):
            raise Conflict(f"an item that is {before} cannot be approved",
                           key="error.syndication.not_approvable",
                           params={"syndication_state": str(before)})
        await announce(directory, item, item.source)
        item.state = ItemState.APPROVED
    elif action == Decide.REJECT:
        if before not in (ItemState.PENDING_REVIEW, ItemState.APPROVED, ItemState.STORED):
            raise Conflict(f"an item that is {before} cannot be rejected",
                           key="error.syndication.not_rejectable",
                           params={"syndication_state": str(before)})
        await undo_announce(directory, item, item.source)
        item.state = ItemState.REJECTED
    else:
        raise NotFound(f"no action {action!r}", key="error.action.unknown")
    item.decided_at, item.decided_by = _now(), moderator[:64]
    await item.save()
    await _audit(moderator, action, item, str(before), str(item.state))
    return item


async def decide_many(directory: ActorDirectory, item_ids: list[int], action: str,
                      moderator: str) -> list[DecisionOutcome]:
    """:func:`decide` for each id; failures are reported, never raised."""
    outcomes = []
    for item_id in item_ids:
        try:
            item = await decide(directory, item_id, action, moderator)
        except (NotFound, Conflict) as error:
            outcomes.append(DecisionOutcome(item_id, False, error=error.message,
                                            error_key=error.key, error_params=error.params))
        else:
            outcomes.append(DecisionOutcome(item_id, True, state=str(item.state)))
    return outcomes


def item_summary(item: SyndicatedItem, *, with_content: bool = False) -> dict[str, Any]:
    """An item as the JSON API and the CLI show it."""
    data: dict[str, Any] = {
        "id": item.id, "object": item.object_uri, "type": item.type, "actor": item.actor_uri,
        "via": item.via_uri, "source": item.source_id,
        "state": str(item.state), "name": item.name, "url": link_url(item.url),
        "published": iso(item.published_at) if item.published_at else None,
        "start": iso(item.start_at) if item.start_at else None,
        "end": iso(item.end_at) if item.end_at else None,
        "received": iso(item.received_at), "announce": item.announce_activity_uri,
    }
    if with_content:
        data["summary"] = item.summary
        document = item.document if isinstance(item.document, dict) else {}
        content = document.get("content")
        data["content"] = content if isinstance(content, str) else ""
    return data
