"""The documents a moderation decision produces (pure: no I/O).

GoToSocial interaction controls (``docs/moderation.md``): approving a reply sends the replier an
``Accept`` whose ``result`` is a dereferenceable ``ReplyAuthorization``; rejecting sends a
``Reject``. For a ``ReplyRequest`` the ``object`` of both is the request activity, otherwise the
reply itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from federation.protocol.jsonld import AS2_CONTEXT, GOTOSOCIAL_CONTEXT

CONTEXT: list[str] = [AS2_CONTEXT, GOTOSOCIAL_CONTEXT]


@dataclass(frozen=True)
class Interaction:
    """Who interacted with what: the facts every decision document is built from."""

    our_actor_uri: str  # the target object's actor, or the mentioned actor
    replier_uri: str
    reply_uri: str
    target_uri: str  # our object (or, for a mention, our actor)
    request_uri: str | None = None  # the ReplyRequest activity, when the reply came as one

    @property
    def accepted_object(self) -> str:
        """What an Accept or a Reject answers: the request if there was one, else the reply."""
        return self.request_uri or self.reply_uri


def build_accept(interaction: Interaction, *, activity_uri: str,
                 authorization_uri: str) -> dict[str, Any]:
    """The Accept sent to the replier when a moderator approves."""
    return {
        "@context": CONTEXT,
        "id": activity_uri,
        "type": "Accept",
        "actor": interaction.our_actor_uri,
        "to": [interaction.replier_uri],
        "object": interaction.accepted_object,
        "target": interaction.target_uri,
        "result": authorization_uri,
    }


def build_reject(interaction: Interaction, *, activity_uri: str) -> dict[str, Any]:
    """The Reject sent to the replier when a moderator rejects."""
    return {
        "@context": CONTEXT,
        "id": activity_uri,
        "type": "Reject",
        "actor": interaction.our_actor_uri,
        "to": [interaction.replier_uri],
        "object": interaction.accepted_object,
    }


def build_authorization(*, authorization_uri: str, our_actor_uri: str, reply_uri: str,
                        target_uri: str) -> dict[str, Any]:
    """The ReplyAuthorization served at its id while the approval stands."""
    return {
        "@context": CONTEXT,
        "type": "ReplyAuthorization",
        "id": authorization_uri,
        "attributedTo": our_actor_uri,
        "interactingObject": reply_uri,
        "interactionTarget": target_uri,
    }


def build_revoked_authorization(authorization_uri: str, revoked_at: str) -> dict[str, Any]:
    """The Tombstone answered (410) for an authorization whose approval was undone."""
    return {
        "@context": CONTEXT,
        "type": "Tombstone",
        "id": authorization_uri,
        "formerType": "ReplyAuthorization",
        "deleted": revoked_at,
    }
