"""What a listener works with: settings, local actors, remote actors, and a fetch budget.

One :class:`Activity` is built per verified request; its :class:`FetchBudget` bounds the remote
documents fetched on its behalf (security principle 10): the signer's key, its actor document,
an object re-fetched from its origin. A listener that runs out of budget stops; it never fetches
more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from federation.db.inbox import deleted_among
from federation.db.social import RemoteActor
from federation.errors import FederationError, Forbidden
from federation.identity.directory import ActorDirectory
from federation.inbox.blocks import BlockList
from federation.inbox.followed import FollowedActors
from federation.inbox.limits import InboxLimits, Kind
from federation.protocol.uris import origin_of, same_origin, same_uri
from federation.remote.actors import RemoteActorStore
from federation.remote.client import HardenedClient
from federation.remote.fetch import FetchedDocument, fetch_ap_document
from federation.settings import Settings

logger = logging.getLogger(__name__)


class BudgetExhausted(FederationError):
    """An incoming activity asked for more remote fetches than it may cause.

    Raised by listeners only; the processor catches it (the activity is ignored, 202).
    """


@dataclass
class FetchBudget:
    """How many more remote documents may be fetched for one incoming activity."""

    remaining: int

    def take(self) -> None:
        """Spend one fetch; :class:`BudgetExhausted` when none is left."""
        if self.remaining <= 0:
            raise BudgetExhausted("fetch budget of this activity exhausted")
        self.remaining -= 1

    def spend(self) -> None:
        """Count a fetch made before the budget applied (the signer's key, bounded apart)."""
        self.remaining -= 1


@dataclass(frozen=True)
class InboxServices:
    """The long-lived services the inbox uses (one per application)."""

    settings: Settings
    directory: ActorDirectory
    client: HardenedClient
    actors: RemoteActorStore
    blocks: BlockList
    limits: InboxLimits
    #: Which actors we follow (the syndication listeners ask it for every Create).
    followed: FollowedActors = field(default_factory=FollowedActors)

    @property
    def local_origin(self) -> str:
        return self.settings.base_url


@dataclass
class Activity:
    """A verified incoming activity: its JSON, who sent it, and its fetch budget."""

    document: dict[str, Any]
    actor_uri: str
    services: InboxServices
    budget: FetchBudget
    #: Identifier of the local actor whose personal inbox received it (``None``: shared inbox).
    inbox_owner: str | None = None
    #: Which of the actor and the object ids were deleted (read once by the processor).
    tombstoned: frozenset[str] = frozenset()
    #: Documents fetched for this activity, by the URL asked for (composed listeners that
    #: decline it do not fetch the same object twice).
    _fetched: dict[str, FetchedDocument] = field(default_factory=dict, repr=False)
    #: Object ids with an unverified tombstone (a Delete from an actor we did not know).
    doubtful: frozenset[str] = frozenset()
    #: What :meth:`count` counted against the sender's host (given back if nothing is stored).
    counted: list[Kind] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.document["id"])

    @property
    def type(self) -> str:
        return str(self.document["type"])

    @property
    def object_id(self) -> str | None:
        """The id of the activity's ``object`` (a string or an embedded object's ``id``)."""
        value = self.document.get("object")
        if isinstance(value, dict):
            value = value.get("id")
        return value if isinstance(value, str) else None

    async def is_blocked(self, actor_uri: str) -> bool:
        """True when ``actor_uri`` (an author this activity credits, not its proven sender) or
        its domain is blocked."""
        blocks = await self.services.blocks.current()
        return blocks.actor_blocked(actor_uri) or blocks.domain_blocked(origin_of(actor_uri).host)

    def is_deleted(self, uri: str | None) -> bool:
        """True when ``uri`` (the actor or the object) was deleted by its author."""
        return uri is not None and uri in self.tombstoned

    def maybe_deleted(self, uri: str | None) -> bool:
        """True when an unverified ``Delete`` named ``uri``: only its origin can say."""
        return uri is not None and uri in self.doubtful

    def count(self, kind: Kind) -> None:
        """Count what this activity is about to store against its sender's host (429 if over).

        Call it before writing anything, the sender's actor row included."""
        self.services.limits.take(kind, self.actor_uri)
        self.counted.append(kind)

    def give_back(self) -> None:
        """Return what :meth:`count` took: the activity stored nothing after all."""
        for kind in self.counted:
            self.services.limits.give_back(kind, self.actor_uri)
        self.counted.clear()

    async def remote_actor(self, uri: str | None = None) -> RemoteActor:
        """The row of ``uri`` (default: the sender), fetched within the budget when needed."""
        return await self.services.actors.ensure(uri or self.actor_uri, self.budget.take)

    async def fetch_object(self, uri: str) -> FetchedDocument | None:
        """A remote object fetched from its origin, within budget; ``None`` when the document
        finally fetched was deleted by its author (deletion wins, whatever id the URL led to).

        Its identity is the result's ``id`` (the URL finally fetched, after redirects), never
        ``uri``: whoever is credited with the object is checked against ``id`` (checklist 36).
        """
        fetched = self._fetched.get(uri)
        if fetched is None:
            self.budget.take()
            fetched = await fetch_ap_document(
                self.services.client, uri, local_origin=self.services.local_origin
            )
            self._fetched[uri] = fetched
        if not same_uri(fetched.id, uri) and await deleted_among([fetched.id]):
            return None
        return fetched

    async def fetch_own_object(self, uri: str, *, exact: bool = False) -> dict[str, Any] | None:
        """An object the activity's actor names by URL, fetched (:meth:`fetch_object`).

        Refused (403) unless its final id is on the actor's origin — and, with ``exact``, is
        ``uri`` itself (an ``Update`` is about the object it names, not where a redirect leads).
        """
        fetched = await self.fetch_object(uri)
        if fetched is None:
            return None
        if not same_origin(fetched.id, self.actor_uri):
            raise Forbidden("the object fetched is not on the actor's origin")
        if exact and not same_uri(fetched.id, uri):
            raise Forbidden("the URL named led to another object")
        return fetched.document
