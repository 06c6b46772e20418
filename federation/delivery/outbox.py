"""Sending an activity: the one call other services make (publishing, inbox, moderation).

:func:`send_activity` stores the activity as a ``content.OutboxActivity`` row and one
:class:`~federation.db.delivery.FanoutJob`, in one transaction, and returns at once. Workers
split the fanout into one delivery per inbox and POST it, signed by the sender. Sending the same
activity id twice creates nothing new (the first row is returned).

Example::

    activity = with_context({"id": activity_uri(directory, "create"), "type": "Create",
                             "actor": sender.uri, "object": article, "to": [AS_PUBLIC],
                             "cc": [followers]})
    await send_activity(activity, sender=sender, audience=Audience(followers_of=sender.identifier))
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from federation.db.content import OutboxActivity
from federation.db.delivery import FanoutJob
from federation.errors import Problem, Unprocessable
from federation.identity.directory import ActorDirectory, LocalActor
from federation.protocol import activities
from federation.protocol.activities import addressees
from federation.protocol.paths import LocalURIs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Audience:
    """Who receives an activity. The three parts are merged and deduplicated by inbox."""

    #: Identifier of a local actor: all its ACCEPTED followers (shared inboxes preferred).
    followers_of: str | None = None
    #: Remote actor ids, resolved to inboxes (known RemoteActor rows, or fetched).
    actor_uris: tuple[str, ...] = ()
    #: Explicit inbox URLs.
    inboxes: tuple[str, ...] = ()
    #: The inboxes of every accepted relay subscription, one delivery per relay. Set by
    #: :func:`send_activity` alone, for what :func:`~federation.protocol.activities.is_relayable`
    #: (a public post, its edit or deletion, a public boost): never by a caller.
    relays: bool = False
    #: Remote actors (or relay inbox URLs) that must not receive it, whatever else names them:
    #: the relay an item came through is never sent our boost of it.
    excluded: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The form stored in ``FanoutJob.audience``."""
        return {
            "followers_of": self.followers_of,
            "actor_uris": list(self.actor_uris),
            "inboxes": list(self.inboxes),
            "relays": self.relays,
            "excluded": list(self.excluded),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        """Inverse of :meth:`to_json` (tolerates missing keys)."""
        return cls(
            followers_of=data.get("followers_of"),
            actor_uris=tuple(data.get("actor_uris") or ()),
            inboxes=tuple(data.get("inboxes") or ()),
            relays=data.get("relays") is True,
            excluded=tuple(data.get("excluded") or ()),
        )

    @property
    def is_empty(self) -> bool:
        return not (self.followers_of or self.actor_uris or self.inboxes)


def activity_uri(source: ActorDirectory | LocalURIs, kind: str = "") -> str:
    """A new, unique id for an activity of ``kind`` (``create``, ``update``…) we are sending."""
    uris = source.uris if isinstance(source, ActorDirectory) else source
    token = uuid.uuid4().hex
    return uris.activity(f"{kind.lower()}-{token}" if kind else token)


def readers_of(activity: dict[str, Any], audience: Audience) -> list[str]:
    """Who may read ``activity`` at its id besides the public: its addressees, and the actors
    and inboxes it was delivered to (a ``Follow`` has no ``to``; a Mastodon relay is followed
    at its inbox URL). Our followers are named by their collection, resolved when read."""
    found = addressees(activity) | set(audience.actor_uris) | set(audience.inboxes)
    return sorted(found)


async def withdraw_activities(*, uris: Iterable[str] = (), object_uri: str | None = None,
                   types: Iterable[str] = (), at: datetime | None = None) -> int:
    """Mark activities we sent as undone or deleted: from now on they answer 410 with a
    Tombstone at their id and leave the outbox. ``uris`` names them; or ``object_uri`` with
    ``types`` (the activities of one object). Already withdrawn ones keep their time."""
    query = OutboxActivity.filter(withdrawn_at__isnull=True)
    wanted = list(uris)
    if wanted:
        query = query.filter(uri__in=wanted)
    elif object_uri is not None:
        query = query.filter(object_uri=object_uri, type__in=list(types))
    else:
        return 0
    count: int = await query.update(withdrawn_at=at or datetime.now(UTC))
    return count


def _object_uri(activity: dict[str, Any]) -> str | None:
    target = activity.get("object")
    if isinstance(target, str):
        return target
    if isinstance(target, dict) and isinstance(target_id := target.get("id"), str):
        return target_id
    return None


def _check(activity: dict[str, Any], sender: LocalActor) -> str:
    problems = []
    uri = activity.get("id")
    if not isinstance(uri, str) or not uri:
        problems.append(Problem("id", "an activity to send needs an id"))
    if not isinstance(activity.get("type"), str):
        problems.append(Problem("type", "an activity to send needs a type"))
    actor = activity.get("actor")
    if actor is not None and actor != sender.uri:
        problems.append(Problem("actor", "must be the sender's id"))
    if problems:
        raise Unprocessable(problems, "cannot send this activity")
    assert isinstance(uri, str)
    return uri


async def send_activity(
    activity: dict[str, Any],
    *,
    sender: LocalActor,
    audience: Audience,
    public: bool = True,
) -> OutboxActivity:
    """Store ``activity`` and queue its delivery to ``audience``; return its outbox row.

    A public post, its edit or deletion, and a public boost also go to every accepted relay
    (:attr:`Audience.relays`, decided here from the activity itself, so that no path forgets
    it and nothing else ever reaches a relay); an empty audience (``deliver=False``) sends
    nothing, to relays neither.

    Idempotent on the activity id: a second call with the same id returns the existing row
    and queues nothing. Raises :class:`~federation.errors.Unprocessable` when the activity has
    no id or type, or names another actor than ``sender``.
    """
    uri = _check(activity, sender)
    relays = public and not audience.is_empty and activities.is_relayable(activity)
    audience = dataclasses.replace(audience, relays=relays)
    existing = await OutboxActivity.get_or_none(uri=uri)
    if existing is not None:
        return existing
    try:
        async with in_transaction():
            row = await OutboxActivity.create(
                uri=uri,
                actor_id=sender.db_id,
                type=str(activity["type"])[:32],
                object_uri=_object_uri(activity),
                document=activity,
                public=public,
                readers=readers_of(activity, audience),
            )
            if not audience.is_empty:
                await FanoutJob.create(
                    activity=row, sender=sender.identifier, audience=audience.to_json()
                )
    except IntegrityError:  # the same id sent concurrently: the other call won
        winner = await OutboxActivity.get_or_none(uri=uri)
        if winner is None:
            raise
        return winner
    if audience.is_empty:  # recorded in the outbox only (history imported without delivery)
        log.debug("recorded activity %s (%s) of %s, not delivered", uri, row.type,
                  sender.identifier)
    else:
        log.info("queued activity %s (%s) of %s", uri, row.type, sender.identifier)
    return row
