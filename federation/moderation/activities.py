"""The documents a moderation decision produces (pure: no I/O).

GoToSocial interaction controls and FEP-044f quotes (``docs/moderation.md``): approving sends
the interacting actor an ``Accept`` whose ``result`` is a dereferenceable authorization
(``ReplyAuthorization`` or ``QuoteAuthorization``: ``attributedTo`` our actor,
``interactingObject`` their note, ``interactionTarget`` what it answers or quotes); rejecting
sends a ``Reject``.

Shapes, as the peers read them:

- a plain reply (``Create`` of a note, "impolite" in GoToSocial's words): the ``object`` of
  Accept/Reject is the reply, ``target`` what it answers (its direct ``inReplyTo``). The Accept
  is also addressed to Public and our followers when the reply is public, as GoToSocial 0.20
  does, so that our followers' servers learn the reply is approved;
- a ``ReplyRequest`` (GoToSocial's polite request) or a ``QuoteRequest`` (Mastodon 4.5): the
  ``object`` is the request itself, inlined with its ``actor``, ``object`` and ``instrument``
  (GoToSocial only handles an Accept of a ReplyRequest when it is inlined; Mastodon's own
  Accept of a QuoteRequest inlines it too), addressed to the requester only;
- revoking a quote: a ``Delete`` of the ``QuoteAuthorization`` (inlined, Mastodon's
  ``DeleteQuoteAuthorizationSerializer``) to Public; its id then answers 410.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from federation.protocol import activities
from federation.protocol.actors import AS_PUBLIC
from federation.protocol.jsonld import INTERACTION_CONTEXT, with_context, without_context

#: GoToSocial's namespace carries ReplyRequest, QuoteRequest, the authorization types and
#: interactingObject / interactionTarget (a bundled context: ``protocol/contexts``).
CONTEXT = INTERACTION_CONTEXT

REPLY_AUTHORIZATION = "ReplyAuthorization"
QUOTE_AUTHORIZATION = "QuoteAuthorization"


@dataclass(frozen=True)
class Interaction:
    """Who interacted with what: the facts every decision document is built from."""

    our_actor_uri: str  # the target object's actor, or the mentioned actor
    replier_uri: str
    reply_uri: str
    target_uri: str  # what the note answers (its direct inReplyTo) or quotes, or our actor
    request_uri: str | None = None  # the ReplyRequest / QuoteRequest activity, if one was sent
    request_type: str = "ReplyRequest"  # ReplyRequest or QuoteRequest
    followers_uri: str | None = None  # our actor's followers: cc'd when the reply is public
    is_public: bool = True

    @property
    def is_quote(self) -> bool:
        return self.request_type == "QuoteRequest"

    @property
    def authorization_type(self) -> str:
        return QUOTE_AUTHORIZATION if self.is_quote else REPLY_AUTHORIZATION

    @property
    def accepted_object(self) -> str | dict[str, Any]:
        """What an Accept or a Reject answers: the request inlined if there was one, else the
        reply's id."""
        if self.request_uri is None:
            return self.reply_uri
        return {
            "type": self.request_type,
            "id": self.request_uri,
            "actor": self.replier_uri,
            "object": self.target_uri,
            "instrument": self.reply_uri,
        }

    def addressing(self, *, widely: bool) -> dict[str, list[str]]:
        """``to`` the interacting actor; ``widely``: also ``cc`` Public and our followers (only
        for a public plain reply: never for a request, never for a private note)."""
        addressed: dict[str, list[str]] = {"to": [self.replier_uri]}
        if widely and self.request_uri is None and self.is_public and self.followers_uri:
            addressed["cc"] = [AS_PUBLIC, self.followers_uri]
        return addressed


def build_accept(interaction: Interaction, *, activity_uri: str,
                 authorization_uri: str) -> dict[str, Any]:
    """The Accept sent to the interacting actor when a moderator (or the quote policy)
    approves."""
    addressed = interaction.addressing(widely=True)
    return with_context(activities.accept(
        activity_uri, interaction.our_actor_uri, interaction.accepted_object,
        to=addressed["to"], cc=addressed.get("cc"),
        target=None if interaction.is_quote else interaction.target_uri,
        result=authorization_uri,
    ), CONTEXT)


def build_reject(interaction: Interaction, *, activity_uri: str) -> dict[str, Any]:
    """The Reject sent to the interacting actor alone (a refusal is not broadcast)."""
    addressed = interaction.addressing(widely=False)
    return with_context(activities.reject(
        activity_uri, interaction.our_actor_uri, interaction.accepted_object,
        to=addressed["to"], cc=addressed.get("cc"),
    ), CONTEXT)


def build_authorization(*, authorization_uri: str, our_actor_uri: str, reply_uri: str,
                        target_uri: str,
                        object_type: str = REPLY_AUTHORIZATION) -> dict[str, Any]:
    """The ReplyAuthorization or QuoteAuthorization served at its id while the approval
    stands."""
    return with_context({
        "type": object_type,
        "id": authorization_uri,
        "attributedTo": our_actor_uri,
        "interactingObject": reply_uri,
        "interactionTarget": target_uri,
    }, CONTEXT)


def build_revoked_authorization(authorization_uri: str, revoked_at: str,
                                object_type: str = REPLY_AUTHORIZATION) -> dict[str, Any]:
    """The Tombstone answered (410) for an authorization whose approval was undone."""
    return with_context(activities.tombstone(authorization_uri, object_type, revoked_at), CONTEXT)


def build_revocation(authorization: dict[str, Any], *, activity_uri: str, our_actor_uri: str,
                     quoter_uri: str) -> dict[str, Any]:
    """The Delete of a QuoteAuthorization we withdraw (Mastodon then detaches the quote)."""
    return with_context(activities.delete(
        activity_uri, our_actor_uri, without_context(authorization),
        to=[AS_PUBLIC], cc=[quoter_uri],
    ), CONTEXT)
