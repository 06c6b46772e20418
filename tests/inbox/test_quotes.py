"""Quotes (FEP-044f) end to end: a QuoteRequest exactly as Mastodon 4.5 sends it, answered as
``[moderation] quotes`` says, with an Accept the quoter's server verifies and a
QuoteAuthorization that dereferences (200) until it is revoked (410, and a Delete)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from federation.db.content import ContentObject, ObjectKind, OutboxActivity
from federation.db.moderation import Decision, Reply, ReplyAuthorization, ReplyKind, ReplyState
from federation.moderation.service import AUTOMATIC
from federation.moderation.web.keys import MODERATION
from federation.protocol.objects import interaction_policy

from .conftest import ARTICLE, BRIDGE, HALTE, PUBLIC, Bridge, PeerActor, nothing_stored
from .test_follows import deliver_all, follow, trust_bridge

AS_JSON = {"Accept": "application/activity+json"}

#: The @context of Mastodon 4.5's QuoteRequest (ContextHelper: the note's extensions and
#: ``quote_requests``, merged into one object).
MASTODON_CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams",
    {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri",
     "inReplyToAtomUri": "ostatus:inReplyToAtomUri", "conversation": "ostatus:conversation",
     "sensitive": "as:sensitive", "toot": "http://joinmastodon.org/ns#",
     "votersCount": "toot:votersCount",
     "QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest",
     "quote": "https://w3id.org/fep/044f#quote", "quoteUri": "http://fedibird.com/ns#quoteUri",
     "_misskey_quote": "https://misskey-hub.net/ns#_misskey_quote",
     "quoteAuthorization": {"@id": "https://w3id.org/fep/044f#quoteAuthorization",
                            "@type": "@id"},
     "gts": "https://gotosocial.org/ns#",
     "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
     "canQuote": {"@id": "gts:canQuote", "@type": "@id"},
     "automaticApproval": {"@id": "gts:automaticApproval", "@type": "@id"},
     "manualApproval": {"@id": "gts:manualApproval", "@type": "@id"}},
]


def quote_note(author: PeerActor, number: int = 7, quoted: str = ARTICLE,
               **extra: Any) -> dict[str, Any]:
    """A Mastodon 4.5 quote post of ``quoted``, still pending (``quote`` only, no
    ``quoteAuthorization``), with its compatibility "RE:" paragraph."""
    uri = f"{author.uri}/statuses/{number}"
    base = author.uri.split("/users/")[0]
    content = (f'<p>À lire absolument.</p><p class="quote-inline">RE: <a href="{quoted}">'
               f"{quoted}</a></p>")
    return {
        "id": uri, "type": "Note", "summary": None, "inReplyTo": None,
        "published": "2026-05-02T09:30:00Z", "url": f"{base}/@alice/{number}",
        "attributedTo": author.uri, "to": [PUBLIC], "cc": [f"{author.uri}/followers"],
        "sensitive": False, "atomUri": uri, "inReplyToAtomUri": None,
        "conversation": f"tag:{base.split('//')[1]},2026-05-02:objectId={number}:objectType=Conversation",
        "content": content, "contentMap": {"fr": content}, "quote": quoted,
        "attachment": [], "tag": [],
        "replies": {"id": f"{uri}/replies", "type": "Collection",
                    "first": {"type": "CollectionPage", "next": f"{uri}/replies?page=true",
                              "partOf": f"{uri}/replies", "items": []}},
        "likes": {"id": f"{uri}/likes", "type": "Collection", "totalItems": 0},
        "shares": {"id": f"{uri}/shares", "type": "Collection", "totalItems": 0},
        "interactionPolicy": {"canQuote": {"automaticApproval": [PUBLIC], "manualApproval": []}},
        **extra,
    }


def quote_request(author: PeerActor, instrument: Any, number: int = 1,
                  quoted: str = ARTICLE) -> dict[str, Any]:
    """``ActivityPub::QuoteRequestSerializer`` with ``allow_post_inlining``: the quoting note
    embedded as ``instrument`` (without its @context)."""
    return {"@context": MASTODON_CONTEXT,
            "id": f"{author.uri}/quote_requests/0b9c3f6e-{number:04d}",
            "type": "QuoteRequest", "actor": author.uri, "object": quoted,
            "instrument": instrument}


@pytest.fixture
def make_bridge(database_url: str, make_settings: Callable[..., Any],
                aiohttp_client: Any) -> Callable[[str], Any]:
    """The application with ``[moderation] quotes`` set (no in-process workers)."""
    from federation.app import create_app

    async def start(quotes: str) -> Bridge:
        settings = make_settings(database_url, allow_loopback_fetch=True,
                                 server={"run_worker": False}, moderation={"quotes": quotes})
        app = create_app(settings)
        return Bridge(await aiohttp_client(app), app)

    return start


async def _article(bridge: Bridge) -> ContentObject:
    """Our article, with the interaction policy it was published with (quotes automatic)."""
    row = await bridge.article()
    row.document = {**row.document, "attributedTo": HALTE,
                    "interactionPolicy": interaction_policy(HALTE)}
    await row.save(update_fields=["document"])
    return row


async def _get(bridge: Bridge, uri: str) -> Any:
    return await bridge.client.get(uri.removeprefix(BRIDGE), headers=AS_JSON)


def _received(peer: Any, kind: str) -> list[dict[str, Any]]:
    return [a for a in peer.received if a["type"] == kind]


def _check_as_mastodon_does(authorization: dict[str, Any], *, approval_uri: str,
                            quoting_uri: str) -> None:
    """ActivityPub::VerifyQuoteService: AS context, type, attributedTo on the approval's host
    and the quoted post's author, interactingObject the quote, interactionTarget the quoted."""
    assert "https://www.w3.org/ns/activitystreams" in authorization["@context"]
    assert authorization["type"] == "QuoteAuthorization"
    assert authorization["id"] == approval_uri
    assert authorization["attributedTo"] == HALTE
    assert authorization["attributedTo"].split("/")[2] == approval_uri.split("/")[2]
    assert authorization["interactingObject"] == quoting_uri
    assert authorization["interactionTarget"] == ARTICLE


async def test_mastodon_quote_request_is_accepted_with_a_dereferenceable_authorization(
        make_bridge, peer, alice):
    """quotes = automatic: a Mastodon 4.5 QuoteRequest (note embedded) gets at once a signed
    Accept the quoter's server verifies, shaped as Mastodon's own (the request inlined,
    ``result`` the QuoteAuthorization), and the authorization dereferences as Mastodon checks."""
    bridge = await make_bridge("automatic")
    trust_bridge(bridge, peer)
    await _article(bridge)
    note = quote_note(alice)
    request = quote_request(alice, note)
    response = await bridge.post(request, alice, path="/actors/halte-au-controle-numerique/inbox")
    assert response.status == 202
    await deliver_all(bridge)
    assert peer.refused == []
    [accept] = _received(peer, "Accept")
    assert accept["actor"] == HALTE and accept["to"] == [alice.uri] and "cc" not in accept
    assert accept["object"] == {"type": "QuoteRequest", "id": request["id"], "actor": alice.uri,
                                "object": ARTICLE, "instrument": note["id"]}
    assert accept["result"].startswith(f"{BRIDGE}/authorizations/")
    assert peer.count("/users/alice/statuses") == 0  # the embedded note was the actor's own
    response = await _get(bridge, accept["result"])
    assert response.status == 200
    _check_as_mastodon_does(await response.json(content_type=None),
                            approval_uri=accept["result"], quoting_uri=note["id"])
    quote = await Reply.get(uri=note["id"])
    assert quote.kind == ReplyKind.QUOTE and quote.state == ReplyState.APPROVED
    assert quote.request_activity_uri == request["id"]
    decision = await Decision.get(subject_uri=note["id"])
    assert (decision.moderator, decision.subject_type, decision.action) == (
        AUTOMATIC, "quote", "approve")
    # a quote is not a reply: neither the replies collection nor the site's export lists it
    replies = await (await _get(bridge, f"{ARTICLE}/replies")).json(content_type=None)
    assert replies["totalItems"] == 0
    export = await bridge.client.get("/api/v1/replies", params={"object": ARTICLE})
    assert export.status == 200
    exported = await export.json()
    assert note["id"] not in str(exported)


async def test_quote_request_with_the_note_by_reference_fetches_it(make_bridge, peer, alice):
    """The quoting note named by its id is fetched from the quoter's server (once), then
    accepted the same way."""
    bridge = await make_bridge("automatic")
    trust_bridge(bridge, peer)
    await _article(bridge)
    note = quote_note(alice)
    peer.serve("/users/alice/statuses/7", {"@context": MASTODON_CONTEXT, **note})
    assert (await bridge.post(quote_request(alice, note["id"]), alice)).status == 202
    assert peer.count("/users/alice/statuses/7") == 1
    await deliver_all(bridge)
    [accept] = _received(peer, "Accept")
    assert accept["object"]["instrument"] == note["id"]
    authorization = await (await _get(bridge, accept["result"])).json(content_type=None)
    _check_as_mastodon_does(authorization, approval_uri=accept["result"], quoting_uri=note["id"])


async def test_moderated_quote_waits_then_approve_accepts_and_reject_rejects(
        make_bridge, peer, alice):
    """quotes = moderated: canQuote says manualApproval, the quote waits in the queue (nothing
    sent); approving sends the Accept, undo + reject a Reject of the inlined request."""
    bridge = await make_bridge("moderated")
    trust_bridge(bridge, peer)
    await _article(bridge)
    served = await (await _get(bridge, ARTICLE)).json(content_type=None)
    assert served["interactionPolicy"]["canQuote"] == {
        "automaticApproval": [HALTE], "manualApproval": [PUBLIC],
        "always": [HALTE], "approvalRequired": [PUBLIC]}  # GoToSocial <= 0.19's spelling too
    note = quote_note(alice)
    request = quote_request(alice, note)
    assert (await bridge.post(request, alice)).status == 202
    quote = await Reply.get(uri=note["id"])
    assert quote.kind == ReplyKind.QUOTE and quote.state == ReplyState.PENDING
    assert await OutboxActivity.all().count() == 0
    service = bridge.app[MODERATION]
    await service.approve(quote.id, "camille")
    await deliver_all(bridge)
    [accept] = _received(peer, "Accept")
    assert accept["object"]["id"] == request["id"]
    assert (await _get(bridge, accept["result"])).status == 200
    await service.undo(quote.id, "camille")
    await service.reject(quote.id, "camille")
    await deliver_all(bridge)
    [reject] = _received(peer, "Reject")
    assert reject["to"] == [alice.uri] and "result" not in reject
    assert reject["object"] == {"type": "QuoteRequest", "id": request["id"], "actor": alice.uri,
                                "object": ARTICLE, "instrument": note["id"]}
    assert (await _get(bridge, accept["result"])).status == 410


async def test_no_quotes_rejects_at_once_and_keeps_nothing(make_bridge, peer, alice):
    """quotes = nobody: canQuote names the author alone (Mastodon: quotes disabled), and a
    QuoteRequest gets a Reject; nothing about the quote is kept."""
    bridge = await make_bridge("nobody")
    trust_bridge(bridge, peer)
    await _article(bridge)
    served = await (await _get(bridge, ARTICLE)).json(content_type=None)
    assert served["interactionPolicy"]["canQuote"] == {"automaticApproval": [HALTE],
                                                      "always": [HALTE]}
    request = quote_request(alice, quote_note(alice))
    assert (await bridge.post(request, alice)).status == 202
    await deliver_all(bridge)
    [reject] = _received(peer, "Reject")
    assert reject["actor"] == HALTE and reject["object"]["id"] == request["id"]
    assert _received(peer, "Accept") == []
    assert await Reply.all().count() == 0 and await ReplyAuthorization.all().count() == 0


async def test_revoking_a_quote_sends_delete_and_the_authorization_is_gone(
        make_bridge, make_peer, peer, alice, peer_keys):
    """Undoing an approved quote: the QuoteAuthorization answers 410 (Tombstone) and a Delete
    of it (inlined, as Mastodon sends it) reaches the quoter and our followers; approving again
    reinstates the same authorization (200)."""
    bridge = await make_bridge("automatic")
    reader_peer = await make_peer()
    reader = reader_peer.actor("reader", peer_keys[2])
    trust_bridge(bridge, peer)
    trust_bridge(bridge, reader_peer)
    assert (await bridge.post(follow(reader), reader)).status == 202
    await _article(bridge)
    note = quote_note(alice)
    await bridge.post(quote_request(alice, note), alice)
    quote = await Reply.get(uri=note["id"])
    uri = quote.authorization_uri
    await bridge.app[MODERATION].undo(quote.id, "camille")
    await deliver_all(bridge)
    response = await _get(bridge, uri)
    assert response.status == 410
    tombstone = await response.json(content_type=None)
    assert tombstone["type"] == "Tombstone" and tombstone["formerType"] == "QuoteAuthorization"
    for receiver in (peer, reader_peer):
        assert receiver.refused == []
        [delete] = _received(receiver, "Delete")
        assert delete["actor"] == HALTE and delete["to"] == [PUBLIC]
        assert delete["object"]["type"] == "QuoteAuthorization"
        assert delete["object"]["id"] == uri
        assert delete["object"]["interactingObject"] == note["id"]
    await bridge.app[MODERATION].approve(quote.id, "camille")
    assert (await _get(bridge, uri)).status == 200


async def test_deleted_quote_leaves_a_gone_authorization(make_bridge, peer, alice):
    """The quoter deletes the quote post: the row goes, its authorization answers 410."""
    bridge = await make_bridge("automatic")
    await _article(bridge)
    note = quote_note(alice)
    await bridge.post(quote_request(alice, note), alice)
    uri = (await Reply.get(uri=note["id"])).authorization_uri
    delete = {"@context": "https://www.w3.org/ns/activitystreams",
              "id": f"{note['id']}#delete", "type": "Delete", "actor": alice.uri,
              "to": [PUBLIC], "object": {"id": note["id"], "type": "Tombstone",
                                         "atomUri": note["id"]}}
    assert (await bridge.post(delete, alice)).status == 202
    assert await Reply.all().count() == 0
    assert (await _get(bridge, uri)).status == 410


@pytest.mark.parametrize(("quotes", "state"), [("automatic", ReplyState.APPROVED),
                                               ("moderated", ReplyState.PENDING)])
async def test_edited_quote(make_bridge, peer, alice, quotes, state):
    """An edit of an approved quote: kept approved when quotes are automatic, back to the
    queue when they are moderated (as an edited reply)."""
    bridge = await make_bridge(quotes)
    await _article(bridge)
    note = quote_note(alice)
    await bridge.post(quote_request(alice, note), alice)
    quote = await Reply.get(uri=note["id"])
    if quote.state == ReplyState.PENDING:
        await bridge.app[MODERATION].approve(quote.id, "camille")
    edited = {**note, "content": "<p>Corrigé</p>", "updated": "2026-05-02T10:00:00Z"}
    update = {"id": f"{note['id']}#updates/1", "type": "Update", "actor": alice.uri,
              "object": edited, "to": [PUBLIC]}
    assert (await bridge.post(update, alice)).status == 202
    await quote.refresh_from_db()
    assert quote.content_html == "<p>Corrigé</p>" and quote.state == state


async def test_quote_request_refusals_store_nothing(make_bridge, make_peer, peer, alice,
                                                    peer_keys):
    """A note that quotes something else, or is someone else's, is refused (403); a request
    for an object that is not ours is ignored; a note embedded from another origin is
    re-fetched there (and refused: not the actor's). Nothing is stored, nothing is sent."""
    bridge = await make_bridge("automatic")
    await _article(bridge)
    other = await make_peer()
    bob = peer.actor("bob", peer_keys[1])
    elsewhere = quote_note(alice, id=f"{other.base}/notes/1")
    other.serve("/notes/1", elsewhere)
    cases = [
        (quote_request(alice, quote_note(alice, quoted=f"{BRIDGE}/objects/article/1")), 403),
        (quote_request(alice, quote_note(alice, attributedTo=bob.uri)), 403),
        (quote_request(alice, quote_note(alice, quoted="https://else.example/notes/1"),
                       quoted="https://else.example/notes/1"), 202),
        (quote_request(alice, elsewhere), 403),
    ]
    for number, (request, status) in enumerate(cases):
        request["id"] = f"{request['id']}-{number}"
        assert (await bridge.post(request, alice)).status == status, request
    assert other.gets == ["/notes/1"]
    counts = {model: await model.all().count()
              for model in (Reply, ReplyAuthorization, OutboxActivity)}
    assert set(counts.values()) == {0}
    assert await ContentObject.filter(kind=ObjectKind.ARTICLE).count() == 1


async def test_quote_that_mentions_us_is_one_quote(make_bridge, peer, alice):
    """A quote post that also mentions our actor arrives first as a Create (a pending quote
    without a request), then as the QuoteRequest: one row, the quote of that request."""
    bridge = await make_bridge("moderated")
    await _article(bridge)
    note = quote_note(alice, tag=[{"type": "Mention", "href": HALTE, "name": "@halte"}])
    create = {"id": f"{note['id']}/activity", "type": "Create", "actor": alice.uri,
              "object": note, "to": [PUBLIC]}
    assert (await bridge.post(create, alice)).status == 202
    first = await Reply.get()
    assert first.kind == ReplyKind.QUOTE and first.request_activity_uri is None
    request = quote_request(alice, note)
    assert (await bridge.post(request, alice)).status == 202
    [row] = await Reply.all()
    assert row.kind == ReplyKind.QUOTE and row.state == ReplyState.PENDING
    assert row.request_activity_uri == request["id"]


async def test_nothing_stored_for_unknown_object(make_bridge, peer, alice):
    """A QuoteRequest naming an object of ours that does not exist: acknowledged, no trace."""
    bridge = await make_bridge("automatic")
    request = quote_request(alice, quote_note(alice))
    assert (await bridge.post(request, alice)).status == 202
    assert await nothing_stored()
