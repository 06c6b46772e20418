"""Following sister sites and subscribing to relays (the admin's side of syndication).

Every function writes rows and queues activities with
:func:`~federation.delivery.outbox.send_activity`; nothing is sent from here. A running
``federation serve`` (or ``federation worker``) delivers them; the remote ``Accept``/``Reject``
arrives in the inbox and updates the ``Following`` row.

- :func:`follow` — ``@name@host`` (WebFinger) or an actor URL; the actor document is fetched
  from its origin before anything is written, and the follow names the id it finally has
  (after redirects), not the address given.
- :func:`unfollow` — ``Undo(Follow)`` to the actor, then the row (and its items) is removed;
  the Follow answers 410 at its id.
- :func:`set_policy` — what happens to what a follow brings (announce, review, store).
- :func:`subscribe_relay` — FEP-ae0c: *mastodon* style is a ``Follow`` of ``as:Public`` POSTed
  to the relay's inbox URL; *litepub* style is a ``Follow`` of the relay's actor. Relayed
  content arrives as ``Announce`` from the relay's actor. The follow is always sent by the
  instance actor (``/actor``, an ``Application``, as Mastodon's): ActivityRelay and
  Activity-Relay refuse a LitePub follow from any other type, whatever the site actor is. Once
  the relay accepts, every public post of every local actor is delivered to it
  (:func:`~federation.delivery.fanout.relay_inboxes`).
- :func:`unfollow` of a relay also forgets the relay as a follower of any of our actors (a
  LitePub relay follows its subscriber back): nothing is sent to it any more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from federation.db import is_row_id
from federation.db.social import Follower, Following, FollowState, RemoteActor, SyndicationPolicy
from federation.delivery.outbox import Audience, activity_uri, send_activity, withdraw_activities
from federation.errors import BadRequest, NotFound
from federation.identity.directory import INSTANCE_IDENTIFIER, ActorDirectory, LocalActor
from federation.protocol import activities
from federation.protocol.actors import AS_PUBLIC as PUBLIC
from federation.protocol.handles import is_handle, parse_handle
from federation.protocol.jsonld import with_context
from federation.protocol.numbers import is_ascii_digits
from federation.protocol.uris import is_http_url, same_origin
from federation.remote.actors import RemoteActorStore
from federation.remote.client import HardenedClient
from federation.settings import Settings

logger = logging.getLogger(__name__)



class RelayStyle(StrEnum):
    MASTODON = "mastodon"
    LITEPUB = "litepub"


@dataclass(frozen=True)
class FollowResult:
    row: Following
    created: bool
    sent: bool


async def resolve_actor(store: RemoteActorStore, handle_or_url: str, *,
                        local_origin: str) -> RemoteActor:
    """The remote actor named by a URL, or by a handle both hosts confirm
    (:meth:`RemoteActorStore.fetch_handle`), fetched from its origin and stored."""
    text = handle_or_url.strip()
    if not is_http_url(text):
        return await store.fetch_handle(text)
    if same_origin(text, local_origin):
        raise BadRequest("that is one of our own actors")
    return await store.lookup(text)


def _follow_activity(directory: ActorDirectory, actor: LocalActor, target: str) -> dict[str, Any]:
    return with_context(activities.follow(activity_uri(directory, "follow"), actor.uri, target))


async def _send_follow(directory: ActorDirectory, actor: LocalActor, row: Following,
                       audience: Audience, follow_object: str) -> None:
    activity = _follow_activity(directory, actor, follow_object)
    row.follow_activity_uri = activity["id"]
    row.state, row.decided_at = FollowState.PENDING, None
    await row.save()
    await send_activity(activity, sender=actor, audience=audience, public=False)


async def is_mastodon_relay(row: Following) -> bool:
    """A Mastodon-style relay: we followed ``as:Public`` at its inbox (the target is no actor)."""
    if not row.is_relay:
        return False
    await row.fetch_related("remote")
    return row.remote is None or row.remote.uri != row.target_uri


async def _upsert(directory: ActorDirectory, actor: LocalActor, target_uri: str,
                  remote: RemoteActor | None, policy: SyndicationPolicy, is_relay: bool,
                  audience: Audience) -> FollowResult:
    follow_object = target_uri if remote is not None else PUBLIC
    row = await Following.get_or_none(actor_id=actor.db_id, target_uri=target_uri)
    if row is not None:
        changed = row.policy != policy
        row.policy = policy
        if row.state == FollowState.REJECTED:
            await _send_follow(directory, actor, row, audience, follow_object)
            return FollowResult(row, False, True)
        if changed:
            await row.save(update_fields=["policy"])
        return FollowResult(row, False, False)
    row = Following(actor_id=actor.db_id, target_uri=target_uri, remote=remote, policy=policy,
                    is_relay=is_relay, follow_activity_uri=activity_uri(directory, "follow"))
    await _send_follow(directory, actor, row, audience, follow_object)
    logger.info("%s follows %s (%s)", actor.identifier, target_uri, policy)
    return FollowResult(row, True, True)


async def follow(directory: ActorDirectory, store: RemoteActorStore,
                 handle_or_url: str, *, as_actor: str | None = None,
                 policy: SyndicationPolicy = SyndicationPolicy.REVIEW) -> FollowResult:
    """Follow a remote actor as ``as_actor`` (default: the site actor) with ``policy``.

    Following again changes the policy; a rejected follow is sent again.
    """
    actor = directory.get(as_actor) if as_actor else directory.site_actor
    remote = await resolve_actor(store, handle_or_url, local_origin=directory.uris.base_url)
    return await _upsert(directory, actor, remote.uri, remote, policy, False,
                         Audience(actor_uris=(remote.uri,)))


async def find_following(directory: ActorDirectory, reference: str,
                         as_actor: str | None = None, *,
                         store: RemoteActorStore | None = None) -> Following:
    """Our follow named by its id, target URL or handle: the confirmed handle of a followed
    actor, else (with a store) the actor a handle names once both hosts confirm it."""
    actor = directory.get(as_actor) if as_actor else None
    rows = Following.all() if actor is None else Following.filter(actor_id=actor.db_id)
    text = reference.strip()
    row = None
    if is_ascii_digits(text):
        row = await rows.filter(id=int(text)).first() if is_row_id(int(text)) else None
    elif is_http_url(text):
        row = await rows.filter(target_uri=text).order_by("id").first()
        if row is None:
            row = await rows.filter(remote__uri=text).order_by("id").first()
    else:
        if is_handle(text):
            acct = str(parse_handle(text))
            row = await rows.filter(remote__acct__iexact=acct).order_by("id").first()
        if row is None and store is not None:  # BadRequest for what is not a handle
            remote = await store.fetch_handle(text)
            row = await rows.filter(target_uri=remote.uri).order_by("id").first()
    if row is None:
        raise NotFound(f"we do not follow {reference}")
    return row


async def unfollow(directory: ActorDirectory, row: Following) -> None:
    """Send ``Undo(Follow)`` for ``row`` and remove it (its items go with it)."""
    actor = directory.by_db_id(row.actor_id)
    if actor is None:
        raise NotFound("the actor of this follow is not configured any more")
    mastodon = await is_mastodon_relay(row)
    follow_document = activities.follow(row.follow_activity_uri, actor.uri,
                                        PUBLIC if mastodon else row.target_uri)
    undo = with_context(activities.undo(activity_uri(directory, "undo"), actor.uri,
                                        follow_document))
    audience = Audience(inboxes=(row.target_uri,)) if mastodon else Audience(
        actor_uris=(row.target_uri,))
    await send_activity(undo, sender=actor, audience=audience, public=False)
    await withdraw_activities(uris=[row.follow_activity_uri])
    followers = 0
    if row.is_relay and row.remote_id is not None:  # its follow-back, of whichever actor
        followers = await Follower.filter(remote_id=row.remote_id).delete()
    await row.delete()
    logger.info("%s unfollowed %s%s", actor.identifier, row.target_uri,
                f" (and forgot it as a follower {followers} time(s))" if followers else "")


async def subscribe_relay(directory: ActorDirectory, store: RemoteActorStore, url: str, *,
                          style: RelayStyle | None = None,
                          policy: SyndicationPolicy = SyndicationPolicy.REVIEW) -> FollowResult:
    """Subscribe the instance actor to the relay at ``url`` (an inbox URL, or the relay's actor).

    Without ``style``: an URL ending in ``/inbox`` is a Mastodon-style relay, anything else the
    actor of a LitePub relay.
    """
    url = url.strip()
    if not is_http_url(url):
        raise BadRequest("a relay is given by its URL (https://relay.example/inbox or its actor)")
    if same_origin(url, directory.uris.base_url):
        raise BadRequest("that URL is on our own origin")
    if style is None:
        style = RelayStyle.MASTODON if url.rstrip("/").endswith("/inbox") else RelayStyle.LITEPUB
    actor = directory.instance_actor
    if style == RelayStyle.MASTODON:
        if not url.rstrip("/").endswith("/inbox"):
            raise BadRequest("a Mastodon-style relay is subscribed at its inbox URL (…/inbox)")
        return await _upsert(directory, actor, url, None, policy, True, Audience(inboxes=(url,)))
    remote = await store.lookup(url)
    return await _upsert(directory, actor, remote.uri, remote, policy, True,
                         Audience(actor_uris=(remote.uri,)))


def store_for(settings: Settings, client: HardenedClient) -> RemoteActorStore:
    """The remote actor store the admin's commands and pages resolve handles and URLs with
    (the inbox's refresh period; the site's own origin refused)."""
    return RemoteActorStore(client, local_origin=settings.base_url,
                            refresh_after=timedelta(hours=settings.inbox.actor_refresh_hours))


async def following_by_id(following_id: int) -> Following:
    """Our follow ``following_id`` with its remote and local actors; :class:`NotFound`."""
    row = await Following.get_or_none(id=following_id).prefetch_related("remote", "actor") \
        if is_row_id(following_id) else None
    if row is None:
        raise NotFound(f"we do not follow #{following_id}")
    return row


async def set_policy(row: Following, policy: SyndicationPolicy) -> Following:
    """Change what happens to what ``row`` brings from now on (nothing is sent, nothing
    fetched; items already received keep their state)."""
    if row.policy != policy:
        row.policy = policy
        await row.save(update_fields=["policy"])
        logger.info("follow %s: policy %s", row.id, policy)
    return row


async def following_of(as_actor: str | None, directory: ActorDirectory) -> list[Following]:
    rows = Following.all()
    if as_actor:
        rows = rows.filter(actor_id=directory.get(as_actor).db_id)
    return await rows.order_by("id").prefetch_related("remote", "actor")


def describe(row: Following) -> dict[str, Any]:
    """A follow as the CLI shows it."""
    remote = row.remote
    actor = row.actor.identifier
    return {
        "id": row.id, "actor": "(instance)" if actor == INSTANCE_IDENTIFIER else actor,
        "target": row.target_uri, "handle": remote.handle if remote else None,
        "state": str(row.state), "policy": str(row.policy), "relay": row.is_relay,
    }

