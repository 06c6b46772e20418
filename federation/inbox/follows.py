"""Listeners for follows: Follow and its Undo, and the answers to follows we sent.

- ``Follow`` of one of our actors: a ``Follower`` row, accepted at once (an ``Accept`` is sent
  to the follower) unless the actor ``manually_approves_followers``: then it waits, pending,
  for ``federation followers accept|reject`` or ``/admin/followers`` (:func:`answer_follower`);
  :func:`remove_follower` ends an accepted follow from our side.
- ``Undo(Follow)``: the inner actor must be the outer actor (checklist item 17).
- ``Accept``/``Reject`` of a ``Follow`` we sent (``social.Following``): its state is updated when
  the answer comes from the actor we followed. A ``Reject`` is logged as a warning, with what a
  relay's refusal usually means.
- The instance actor (``/actor``) is followed only by the relays it subscribed to (a LitePub
  relay follows its subscriber back): their follow is accepted, anyone else's rejected.
- A relay's ``Undo`` may wrap *our own* activity (ActivityRelay answers our ``Undo(Follow)``
  with an ``Undo`` of it): :func:`undo_of_ours` takes it as the relay's unfollow of the actor
  named, and removes nothing but the signer's own follow.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from federation.db import column, is_row_id
from federation.db.content import OutboxActivity
from federation.db.social import Follower, Following, FollowState
from federation.delivery.outbox import Audience, activity_uri, send_activity, withdraw_activities
from federation.errors import Forbidden, NotFound
from federation.identity.directory import ActorDirectory, LocalActor
from federation.inbox.context import Activity
from federation.inbox.limits import Kind
from federation.inbox.wire import id_of
from federation.protocol import activities
from federation.protocol.jsonld import with_context
from federation.protocol.uris import same_origin

logger = logging.getLogger(__name__)


async def send_follow_answer(
    directory: ActorDirectory, local: LocalActor, follower_uri: str, follow_uri: str, *, accept: bool
) -> None:
    """Queue an ``Accept`` (or ``Reject``) of the Follow ``follow_uri`` to its author; a
    Reject withdraws the Accepts sent before for it (they answer 410 at their ids)."""
    answer_with = activities.accept if accept else activities.reject
    answer = with_context(answer_with(
        activity_uri(directory, "Accept" if accept else "Reject"), local.uri,
        activities.follow(follow_uri, follower_uri, local.uri), to=[follower_uri],
    ))
    if not accept:
        await withdraw_activities(object_uri=follow_uri, types=("Accept",))
    await send_activity(answer, sender=local, audience=Audience(actor_uris=(follower_uri,)), public=False)


async def is_our_relay(actor_uri: str) -> bool:
    """True when ``actor_uri`` is on the origin of a relay we subscribed to (its actor, or the
    inbox we subscribed at: a Mastodon-style relay's actor is learnt only from its answer)."""
    targets: list[str] = await column(Following.filter(is_relay=True), "target_uri")
    return any(same_origin(target, actor_uri) for target in targets)


async def on_follow(activity: Activity) -> bool:
    """A remote actor follows one of ours: record it, and accept unless approval is manual.

    The instance actor accepts only the relays it subscribed to, and rejects everyone else.
    """
    directory = activity.services.directory
    local = directory.any_by_uri(id_of(activity.document.get("object")) or "")
    if local is None:
        return False
    activity.count(Kind.FOLLOW)  # before any row, the follower's actor included
    remote = await activity.remote_actor()
    if directory.is_instance_actor(local):
        relay = await is_our_relay(remote.uri)
        state = FollowState.ACCEPTED if relay else FollowState.REJECTED
        manual = False
    else:
        manual = local.config.manually_approves_followers
        state = FollowState.PENDING if manual else FollowState.ACCEPTED
    now = datetime.now(UTC)
    follower = await Follower.get_or_none(actor_id=local.db_id, remote_id=remote.id)
    if follower is None:
        try:
            follower = await Follower.create(
                actor_id=local.db_id, remote_id=remote.id, state=state,
                follow_activity_uri=activity.id, decided_at=None if manual else now,
            )
        except IntegrityError:  # the same follow, concurrently
            follower = await Follower.get(actor_id=local.db_id, remote_id=remote.id)
    else:
        follower.follow_activity_uri = activity.id
        if follower.state == FollowState.REJECTED or directory.is_instance_actor(local):
            follower.state, follower.decided_at = state, None if manual else now
        await follower.save()
    if follower.state == FollowState.ACCEPTED:
        await send_follow_answer(directory, local, remote.uri, activity.id, accept=True)
    elif directory.is_instance_actor(local):  # refused at once: no one waits on it
        await send_follow_answer(directory, local, remote.uri, activity.id, accept=False)
    logger.info("follow of %s from %s: %s", local.identifier, remote.domain, follower.state)
    return True


async def undo_follow(activity: Activity, inner: Any) -> bool:
    """``Undo(Follow)``: remove the follower, only when the undoer is the follower."""
    inner_id = id_of(inner)
    if isinstance(inner, dict):
        inner_actor = id_of(inner.get("actor"))
        if inner_actor is not None and inner_actor != activity.actor_uri:
            raise Forbidden("Undo of another actor's Follow")
    rows = Follower.filter(remote__uri=activity.actor_uri)
    deleted = await rows.filter(follow_activity_uri=inner_id).delete() if inner_id else 0
    if not deleted and isinstance(inner, dict):
        local = activity.services.directory.any_by_uri(id_of(inner.get("object")) or "")
        if local is not None:
            deleted = await Follower.filter(
                remote__uri=activity.actor_uri, actor_id=local.db_id
            ).delete()
    return bool(deleted)


async def undo_of_ours(activity: Activity, inner: dict[str, Any]) -> bool:
    """An ``Undo`` by a remote actor of an activity *we* sent (our ``Follow`` of it, or our
    ``Undo`` of that Follow, ActivityRelay's answer to an unsubscription): the signer stops
    following the local actor that sent it. Only the signer's own follow is removed, and only
    when the wrapped activity is one of ours (its id is in our outbox); False otherwise."""
    local = activity.services.directory.any_by_uri(id_of(inner.get("actor")) or "")
    inner_id = id_of(inner)
    if local is None or inner_id is None or inner.get("type") not in ("Follow", "Undo"):
        return False
    if not await OutboxActivity.exists(uri=inner_id, actor_id=local.db_id):
        return False
    removed = await Follower.filter(remote__uri=activity.actor_uri, actor_id=local.db_id).delete()
    logger.info("%s undid our %s %s: %d follow(s) of %s removed", activity.actor_uri,
                inner.get("type"), inner_id, removed, local.identifier)
    return True


async def on_follow_answer(activity: Activity) -> bool:
    """``Accept``/``Reject`` of a Follow we sent: update the ``Following`` row."""
    inner = activity.document.get("object")
    row = None
    inner_id = id_of(inner)
    if inner_id is not None:
        row = await Following.get_or_none(follow_activity_uri=inner_id)
    if row is None and isinstance(inner, dict) and inner.get("type") == "Follow":
        local = activity.services.directory.any_by_uri(id_of(inner.get("actor")) or "")
        if local is not None:
            row = await Following.get_or_none(actor_id=local.db_id, target_uri=activity.actor_uri)
    if row is None or row.target_uri != activity.actor_uri:
        return False
    row.state = FollowState.ACCEPTED if activity.type == "Accept" else FollowState.REJECTED
    row.decided_at = datetime.now(UTC)
    await row.save()
    log_answer(row, activity.actor_uri)
    return True


async def followers_of(directory: ActorDirectory, identifier: str,
                       state: FollowState = FollowState.ACCEPTED, *, after: int | None = None,
                       limit: int | None = None) -> list[Follower]:
    """The followers of ``identifier`` in ``state`` (accepted, or pending requests), oldest
    first (by row id, after the row ``after``; at most ``limit``), with their remote actor
    (``federation followers``, ``/admin/followers``)."""
    local = directory.get(identifier)
    rows = Follower.filter(actor_id=local.db_id, state=state)
    if after is not None:
        rows = rows.filter(id__gt=after)
    rows = rows.order_by("id")
    if limit is not None:
        rows = rows.limit(limit)
    return list(await rows.prefetch_related("remote"))


async def count_followers(directory: ActorDirectory, identifier: str,
                          state: FollowState = FollowState.ACCEPTED) -> int:
    return await Follower.filter(actor_id=directory.get(identifier).db_id, state=state).count()


async def find_follower(directory: ActorDirectory, identifier: str, remote_uri: str) -> Follower:
    """The follow of ``identifier`` by the remote actor ``remote_uri``; :class:`NotFound`."""
    local = directory.get(identifier)
    follower = await Follower.get_or_none(actor_id=local.db_id, remote__uri=remote_uri)
    if follower is None:
        raise NotFound(f"{remote_uri} does not follow {identifier}")
    return follower


async def follower_by_id(directory: ActorDirectory, identifier: str, follower_id: int) -> Follower:
    """The follower row ``follower_id`` of ``identifier``; :class:`NotFound` for another
    actor's row or an unknown id (``/admin/followers`` posts row ids)."""
    local = directory.get(identifier)
    follower = await Follower.get_or_none(id=follower_id, actor_id=local.db_id) \
        if is_row_id(follower_id) else None
    if follower is None:
        raise NotFound(f"no follower #{follower_id} of {identifier}")
    return follower


def _local_of(directory: ActorDirectory, follower: Follower) -> LocalActor:
    local = next((a for a in directory.all() if a.db_id == follower.actor_id), None)
    if local is None:
        raise NotFound("the actor of this follower is not configured any more")
    return local


async def answer_follower(directory: ActorDirectory, follower: Follower, *,
                          accept: bool) -> Follower:
    """Accept or reject ``follower``'s request; the ``Accept``/``Reject`` is queued for it."""
    local = _local_of(directory, follower)
    await follower.fetch_related("remote")
    follower.state = FollowState.ACCEPTED if accept else FollowState.REJECTED
    follower.decided_at = datetime.now(UTC)
    await follower.save(update_fields=["state", "decided_at"])
    await send_follow_answer(directory, local, follower.remote.uri,
                             follower.follow_activity_uri, accept=accept)
    logger.info("follower %s of %s %s", follower.remote.domain, local.identifier, follower.state)
    return follower


async def remove_follower(directory: ActorDirectory, follower: Follower) -> None:
    """Remove an accepted (or pending) follower: a ``Reject`` of its Follow is queued (how
    Mastodon removes a follower: the remote server drops the follow), then the row goes."""
    local = _local_of(directory, follower)
    await follower.fetch_related("remote")
    await send_follow_answer(directory, local, follower.remote.uri,
                             follower.follow_activity_uri, accept=False)
    await follower.delete()
    logger.info("follower %s of %s removed", follower.remote.domain, local.identifier)
def log_answer(row: Following, answered_by: str) -> None:
    """One line for the answer to our follow ``row``: a warning for a ``Reject``, which for a
    relay means its own rules refused us (an allow-list, approval, a banned software, or an
    actor type it does not take: ActivityRelay follows only ``Application`` actors)."""
    if row.state != FollowState.REJECTED:
        logger.info("our follow %s was answered: %s", row.follow_activity_uri, row.state)
    elif row.is_relay:
        logger.warning("the relay %s REJECTED our subscription %s (answered by %s): its rules "
                       "refused us (allow-list, manual approval, banned software, or an actor "
                       "type it does not take); `federation relay list` shows it rejected",
                       row.target_uri, row.follow_activity_uri, answered_by)
    else:
        logger.warning("%s REJECTED our follow %s", answered_by, row.follow_activity_uri)


async def decide_follower(
    directory: ActorDirectory, identifier: str, remote_uri: str, *, accept: bool
) -> Follower:
    """Accept or reject a follower of ``identifier`` named by its actor id (CLI)."""
    follower = await find_follower(directory, identifier, remote_uri)
    return await answer_follower(directory, follower, accept=accept)
