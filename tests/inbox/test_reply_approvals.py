"""Reply approvals as GoToSocial reads them: a reply exactly as GoToSocial 0.19/0.20 sends it
(``to`` Public, ``cc`` its followers and us, one Mention), approved by a moderator: the signed
Accept reaches the replier *and* our followers' servers (GoToSocial addresses it to Public and
its followers so that they learn the reply is approved), and its ReplyAuthorization passes
GoToSocial's own checks (``isValidAuthorization``); undo and re-approval keep one valid
authorization; a polite ReplyRequest gets its request inlined."""

from __future__ import annotations

from typing import Any

import pytest

from federation.db.moderation import Reply, ReplyState
from federation.moderation.web.keys import MODERATION

from .conftest import ARTICLE, BRIDGE, HALTE, PUBLIC, PeerActor
from .test_follows import deliver_all, follow, trust_bridge

AS_JSON = {"Accept": "application/activity+json"}
FOLLOWERS = f"{HALTE}/followers"
GTS_STATUS = "01JQ8ZP6A2Q5Y9Q0T7K3M4N5B6"

#: ``interactionPolicy`` as GoToSocial writes it: 0.19 with the old names only, 0.20 with both.
_OPEN = [PUBLIC]
POLICIES = {
    "0.19": {kind: {"always": _OPEN, "approvalRequired": []}
             for kind in ("canAnnounce", "canLike", "canReply")},
    "0.20": {kind: {"always": _OPEN, "approvalRequired": [], "automaticApproval": _OPEN,
                    "manualApproval": []}
             for kind in ("canAnnounce", "canLike", "canReply")},
}


def gts_reply(author: PeerActor, version: str, in_reply_to: str = ARTICLE,
              status: str = GTS_STATUS) -> dict[str, Any]:
    """``StatusToAS`` of a public reply to our article (GoToSocial's typeutils tests)."""
    base = author.uri.split("/users/")[0]
    uri = f"{author.uri}/statuses/{status}"
    content = (f'<p><span class="h-card"><a href="{HALTE}" class="u-url mention" '
               'rel="nofollow noreferrer noopener" target="_blank">@<span>halte</span></a>'
               "</span> merci pour le compte rendu du débat</p>")
    return {
        "@context": ["https://gotosocial.org/ns", "https://www.w3.org/ns/activitystreams",
                     {"sensitive": "as:sensitive"}],
        "attachment": [], "attributedTo": author.uri,
        "cc": [f"{author.uri}/followers", HALTE],
        "content": content, "contentMap": {"fr": content}, "id": uri,
        "inReplyTo": in_reply_to, "interactionPolicy": POLICIES[version],
        "published": "2026-05-03T08:12:44Z",
        "replies": {"first": {"id": f"{uri}/replies?page=true",
                              "next": f"{uri}/replies?page=true&only_other_accounts=false",
                              "partOf": f"{uri}/replies", "type": "CollectionPage"},
                    "id": f"{uri}/replies", "type": "Collection"},
        "sensitive": False, "summary": "",
        "tag": {"href": HALTE, "name": "@halteaucontrolenumerique@bridge.example",
                "type": "Mention"},
        "to": PUBLIC, "type": "Note", "url": f"{base}/@bob/statuses/{status}",
    }


def gts_create(author: PeerActor, note: dict[str, Any]) -> dict[str, Any]:
    """``WrapStatusableInCreate``: the note embedded, the id ``…/activity#Create``."""
    return {"@context": note["@context"], "actor": author.uri, "cc": note["cc"],
            "id": f"{note['id']}/activity#Create",
            "object": {k: v for k, v in note.items() if k != "@context"},
            "published": note["published"], "to": note["to"], "type": "Create"}


def gts_accepts_authorization(authorization: dict[str, Any], *, authorization_uri: str,
                              parent_author: str, reply: dict[str, Any]) -> bool:
    """GoToSocial's ``isValidAuthorization`` for a reply, step by step."""
    return (authorization.get("type") == "ReplyAuthorization"
            and authorization.get("id") == authorization_uri
            and authorization.get("attributedTo") == parent_author
            and parent_author.split("/")[2] == authorization_uri.split("/")[2]
            and authorization.get("interactingObject") == reply["id"]
            and authorization.get("interactionTarget") in (None, reply["inReplyTo"]))


async def _reader(bridge: Any, make_peer: Any, peer_keys: list[Any]) -> Any:
    """A GoToSocial server where someone follows our collective."""
    reader_peer = await make_peer()
    reader = reader_peer.actor("reader", peer_keys[2])
    trust_bridge(bridge, reader_peer)
    assert (await bridge.post(follow(reader), reader)).status == 202
    return reader_peer


def _accepts(peer: Any) -> list[dict[str, Any]]:
    """The Accepts ``peer`` received, but those of its follows."""
    return [a for a in peer.received if a["type"] == "Accept"
            and not (isinstance(a["object"], dict) and a["object"].get("type") == "Follow")]


@pytest.mark.parametrize("version", ["0.19", "0.20"])
async def test_approved_gotosocial_reply_accept_reaches_replier_and_followers(
        bridge, make_peer, peer, alice, peer_keys, version):
    """A GoToSocial reply approved: replier and our followers' server verify one Accept (to the
    replier, cc Public and our followers), whose ReplyAuthorization passes GoToSocial's checks."""
    trust_bridge(bridge, peer)
    reader_peer = await _reader(bridge, make_peer, peer_keys)
    await bridge.article()
    note = gts_reply(alice, version)
    assert (await bridge.post(gts_create(alice, note), alice)).status == 202
    reply = await Reply.get(uri=note["id"])
    assert reply.state == ReplyState.PENDING
    await bridge.app[MODERATION].approve(reply.id, "camille")
    await deliver_all(bridge)
    for receiver in (peer, reader_peer):
        assert receiver.refused == []
        [accept] = _accepts(receiver)
        assert accept["actor"] == HALTE and accept["to"] == [alice.uri]
        assert accept["cc"] == [PUBLIC, FOLLOWERS]
        assert accept["object"] == note["id"] and accept["target"] == ARTICLE
    response = await bridge.client.get(accept["result"].removeprefix(BRIDGE), headers=AS_JSON)
    assert response.status == 200
    assert gts_accepts_authorization(await response.json(content_type=None),
                                     authorization_uri=accept["result"], parent_author=HALTE,
                                     reply=note)


async def test_undo_then_approve_again_keeps_one_authorization(bridge, make_peer, peer, alice,
                                                               peer_keys):
    """Undo: the authorization answers 410 and nothing is sent; approving again reinstates the
    same one (200), so a GoToSocial server that stored it as the reply's replyAuthorization (it
    ignores a second Accept of an approved reply) still holds a valid proof."""
    trust_bridge(bridge, peer)
    await bridge.article()
    note = gts_reply(alice, "0.20")
    await bridge.post(gts_create(alice, note), alice)
    reply = await Reply.get(uri=note["id"])
    service = bridge.app[MODERATION]
    await service.approve(reply.id, "camille")
    await deliver_all(bridge)
    [first] = _accepts(peer)
    path = first["result"].removeprefix(BRIDGE)
    await service.undo(reply.id, "camille")
    await deliver_all(bridge)
    assert len(peer.received) == 1
    gone = await bridge.client.get(path, headers=AS_JSON)
    assert gone.status == 410
    assert (await gone.json(content_type=None))["formerType"] == "ReplyAuthorization"
    await service.approve(reply.id, "camille")
    await deliver_all(bridge)
    first_again, second = _accepts(peer)
    assert second["id"] != first["id"] and second["result"] == first["result"]
    assert (await bridge.client.get(path, headers=AS_JSON)).status == 200


async def test_reply_request_accept_inlines_the_request(bridge, make_peer, peer, alice,
                                                        peer_keys):
    """A polite ReplyRequest (GoToSocial's shape, ``acceptPoliteReplyRequest``): the Accept
    inlines it (id, actor, object, instrument) with ``result``, to the requester only."""
    trust_bridge(bridge, peer)
    reader_peer = await _reader(bridge, make_peer, peer_keys)
    await bridge.article()
    note = gts_reply(alice, "0.20")
    request = {"@context": ["https://www.w3.org/ns/activitystreams", "https://gotosocial.org/ns"],
               "type": "ReplyRequest", "id": f"{alice.uri}/interaction_requests/01JQ90",
               "actor": alice.uri, "object": ARTICLE, "to": HALTE,
               "instrument": {k: v for k, v in note.items() if k != "@context"}}
    assert (await bridge.post(request, alice)).status == 202
    reply = await Reply.get(uri=note["id"])
    await bridge.app[MODERATION].approve(reply.id, "camille")
    await deliver_all(bridge)
    [accept] = _accepts(peer)
    assert accept["object"] == {"type": "ReplyRequest", "id": request["id"], "actor": alice.uri,
                                "object": ARTICLE, "instrument": note["id"]}
    assert accept["to"] == [alice.uri] and "cc" not in accept
    assert accept["result"].startswith(f"{BRIDGE}/authorizations/")
    assert _accepts(reader_peer) == []
