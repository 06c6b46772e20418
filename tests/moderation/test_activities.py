"""The decision documents as JSON-LD: every term we send (QuoteRequest, QuoteAuthorization,
ReplyRequest, interactingObject, interactionTarget…) is defined by the bundled contexts, so that
a consumer expanding them reads what a compacting one (Mastodon, GoToSocial) reads."""

from __future__ import annotations

from federation.moderation.activities import (
    QUOTE_AUTHORIZATION,
    Interaction,
    build_accept,
    build_authorization,
    build_reject,
    build_revocation,
)
from federation.protocol.jsonld import expand

AS = "https://www.w3.org/ns/activitystreams#"
GTS = "https://gotosocial.org/ns#"
FEP_044F = "https://w3id.org/fep/044f#"
OURS = "https://bridge.example/actors/halte"
ARTICLE = "https://bridge.example/objects/article/1"
NOTE = "https://masto.example/users/bob/statuses/7"
AUTHORIZATION = "https://bridge.example/authorizations/abc"


def _quote() -> Interaction:
    return Interaction(our_actor_uri=OURS, replier_uri="https://masto.example/users/bob",
                       reply_uri=NOTE, target_uri=ARTICLE,
                       request_uri="https://masto.example/users/bob/quote_requests/1",
                       request_type="QuoteRequest", followers_uri=f"{OURS}/followers")


def _id(node: dict, term: str) -> str:
    [value] = node[term]
    return value["@id"]


def test_quote_documents_expand_to_fep_044f_and_gotosocial_terms():
    """Accept (the QuoteRequest inlined), Reject, QuoteAuthorization and its Delete expand with
    bundled contexts only, to the FEP-044f and GoToSocial IRIs."""
    accept = expand(build_accept(_quote(), activity_uri="https://bridge.example/activities/a",
                                 authorization_uri=AUTHORIZATION))[0]
    assert accept["@type"] == [f"{AS}Accept"] and _id(accept, f"{AS}result") == AUTHORIZATION
    [request] = accept[f"{AS}object"]
    assert request["@type"] == [f"{FEP_044F}QuoteRequest"]
    assert _id(request, f"{AS}instrument") == NOTE and _id(request, f"{AS}object") == ARTICLE
    reject = expand(build_reject(_quote(), activity_uri="https://bridge.example/activities/r"))[0]
    assert reject[f"{AS}object"][0]["@type"] == [f"{FEP_044F}QuoteRequest"]
    document = build_authorization(authorization_uri=AUTHORIZATION, our_actor_uri=OURS,
                                   reply_uri=NOTE, target_uri=ARTICLE,
                                   object_type=QUOTE_AUTHORIZATION)
    authorization = expand(document)[0]
    assert authorization["@type"] == [f"{FEP_044F}QuoteAuthorization"]
    assert _id(authorization, f"{GTS}interactingObject") == NOTE
    assert _id(authorization, f"{GTS}interactionTarget") == ARTICLE
    assert _id(authorization, f"{AS}attributedTo") == OURS
    delete = expand(build_revocation(document, activity_uri="https://bridge.example/activities/d",
                                     our_actor_uri=OURS, quoter_uri=_quote().replier_uri))[0]
    assert delete[f"{AS}object"][0]["@type"] == [f"{FEP_044F}QuoteAuthorization"]


def test_reply_request_accept_expands_to_gotosocial_terms():
    """The inlined ReplyRequest and the ReplyAuthorization are GoToSocial's types."""
    interaction = Interaction(our_actor_uri=OURS, replier_uri="https://gts.example/users/al",
                              reply_uri=NOTE, target_uri=ARTICLE,
                              request_uri="https://gts.example/users/al/interaction_requests/1")
    accept = expand(build_accept(interaction, activity_uri="https://bridge.example/activities/a",
                                 authorization_uri=AUTHORIZATION))[0]
    assert accept[f"{AS}object"][0]["@type"] == [f"{GTS}ReplyRequest"]
    authorization = expand(build_authorization(authorization_uri=AUTHORIZATION,
                                               our_actor_uri=OURS, reply_uri=NOTE,
                                               target_uri=ARTICLE))[0]
    assert authorization["@type"] == [f"{GTS}ReplyAuthorization"]
