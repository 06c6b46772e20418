"""Where our documents live: every local ActivityPub id is built here and nowhere else.

Ids use the actor's stable ``identifier`` (never the changeable WebFinger username).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class LocalURIs:
    """Builds the ids of our actors, collections and objects from the public base URL."""

    base_url: str

    def actor(self, identifier: str) -> str:
        return f"{self.base_url}/actors/{quote(identifier, safe='')}"

    def key(self, identifier: str) -> str:
        return f"{self.actor(identifier)}#main-key"

    def ed25519_key(self, identifier: str) -> str:
        return f"{self.actor(identifier)}#ed25519-key"

    def inbox(self, identifier: str) -> str:
        return f"{self.actor(identifier)}/inbox"

    def outbox(self, identifier: str) -> str:
        return f"{self.actor(identifier)}/outbox"

    def followers(self, identifier: str) -> str:
        return f"{self.actor(identifier)}/followers"

    def following(self, identifier: str) -> str:
        return f"{self.actor(identifier)}/following"

    def featured(self, identifier: str) -> str:
        return f"{self.actor(identifier)}/featured"

    # The instance actor (an ``Application``, as Mastodon's at ``/actor``): it follows relays.

    @property
    def instance_actor(self) -> str:
        return f"{self.base_url}/actor"

    @property
    def instance_key(self) -> str:
        return f"{self.instance_actor}#main-key"

    @property
    def instance_inbox(self) -> str:
        return f"{self.instance_actor}/inbox"

    @property
    def instance_outbox(self) -> str:
        return f"{self.instance_actor}/outbox"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base_url}/inbox"

    def object(self, kind: str, object_id: str) -> str:
        """The id of a published object (``kind`` is ``article``, ``event``, ``note``…)."""
        return f"{self.base_url}/objects/{quote(kind, safe='')}/{quote(object_id, safe='')}"

    def activity(self, activity_id: str) -> str:
        return f"{self.base_url}/activities/{quote(activity_id, safe='')}"

    def authorization(self, token: str) -> str:
        """The id of a ReplyAuthorization we issued (GoToSocial interaction controls)."""
        return f"{self.base_url}/authorizations/{quote(token, safe='')}"

    def media(self, name: str) -> str:
        """An image we serve ourselves (an actor's uploaded avatar or header)."""
        return f"{self.base_url}/media/{quote(name, safe='')}"

    def nodeinfo(self, version: str) -> str:
        return f"{self.base_url}/nodeinfo/{version}"

    def webfinger_template(self) -> str:
        return f"{self.base_url}/.well-known/webfinger?resource={{uri}}"

    def authorize_interaction_template(self) -> str:
        return f"{self.base_url}/authorize_interaction?uri={{uri}}"
