"""Listeners for follows: Follow and its Undo, and the answers to follows we sent.

- ``Follow`` of one of our actors: a ``Follower`` row, accepted at once (an ``Accept`` is sent
  to the follower) unless the actor ``manually_approves_followers``: then it waits, pending,
  for ``federation followers accept|reject`` (:func:`decide_follower`).
- ``Undo(Follow)``: the inner actor must be the outer actor (checklist item 17).
- ``Accept``/``Reject`` of a ``Follow`` we sent (``social.Following``): its state is updated when
  the answer comes from the actor we followed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from federation.db.social import Follower, Following, FollowState, RemoteActor
from federation.delivery.outbox import Audience, activity_uri, send_activity, withdraw_activities
from federation.errors import Forbidden, NotFound
from federation.identity.directory import ActorDirectory, LocalActor
from federation.inbox.context import Activity
from federation.inbox.limits import Kind
from federation.inbox.wire import id_of
from federation.protocol import activities
from federation.protocol.jsonld import with_context

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


async def on_follow(activity: Activity) -> bool:
    """A remote actor follows one of ours: record it, and accept unless approval is manual."""
    directory = activity.services.directory
    local = directory.by_uri(id_of(activity.document.get("object")) or "")
    if local is None:
        return False
    activity.count(Kind.FOLLOW)  # before any row, the follower's actor included
    remote = await activity.remote_actor()
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
        if follower.state == FollowState.REJECTED:
            follower.state, follower.decided_at = state, None if manual else now
        await follower.save()
    if follower.state == FollowState.ACCEPTED:
        await send_follow_answer(directory, local, remote.uri, activity.id, accept=True)
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
        local = activity.services.directory.by_uri(id_of(inner.get("object")) or "")
        if local is not None:
            deleted = await Follower.filter(
                remote__uri=activity.actor_uri, actor_id=local.db_id
            ).delete()
    return bool(deleted)


async def on_follow_answer(activity: Activity) -> bool:
    """``Accept``/``Reject`` of a Follow we sent: update the ``Following`` row."""
    inner = activity.document.get("object")
    row = None
    inner_id = id_of(inner)
    if inner_id is not None:
        row = await Following.get_or_none(follow_activity_uri=inner_id)
    if row is None and isinstance(inner, dict) and inner.get("type") == "Follow":
        local = activity.services.directory.by_uri(id_of(inner.get("actor")) or "")
        if local is not None:
            row = await Following.get_or_none(actor_id=local.db_id, target_uri=activity.actor_uri)
    if row is None or row.target_uri != activity.actor_uri:
        return False
    row.state = FollowState.ACCEPTED if activity.type == "Accept" else FollowState.REJECTED
    row.decided_at = datetime.now(UTC)
    await row.save()
    logger.info("our follow %s was answered: %s", row.follow_activity_uri, row.state)
    return True


async def decide_follower(
    directory: ActorDirectory, identifier: str, remote_uri: str, *, accept: bool
) -> Follower:
    """Accept or reject a follower of ``identifier`` (CLI); the answer is sent to it."""
    local = directory.get(identifier)
    remote = await RemoteActor.get_or_none(uri=remote_uri)
    follower = None
    if remote is not None:
        follower = await Follower.get_or_none(actor_id=local.db_id, remote_id=remote.id)
    if remote is None or follower is None:
        raise NotFound(f"{remote_uri} does not follow {identifier}")
    follower.state = FollowState.ACCEPTED if accept else FollowState.REJECTED
    follower.decided_at = datetime.now(UTC)
    await follower.save()
    await send_follow_answer(directory, local, remote.uri, follower.follow_activity_uri, accept=accept)
    return follower
