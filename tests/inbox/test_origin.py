"""Checklist items 13–21: origin rules; what is refused leaves nothing stored."""

from __future__ import annotations

import pytest

from federation.db.moderation import Reply, ReplyKind

from .conftest import ARTICLE, BRIDGE, PUBLIC, create, named_peer, note, nothing_stored, stored


async def test_create_with_object_on_another_origin_is_403(bridge, make_peer, peer, alice, peer_keys):
    """(13) A Create whose object id is on another host than the actor's is refused, nothing fetched."""
    other = await make_peer()
    await bridge.article()
    foreign = note(alice, id=f"{other.base}/notes/1")
    response = await bridge.post(create(alice, foreign), alice)
    assert response.status == 403
    assert other.gets == [] and await Reply.all().count() == 0
    assert await nothing_stored(), await stored()


async def test_create_attributed_to_another_actor_is_403(bridge, peer, alice, peer_keys):
    """(14) A Create whose object's attributedTo is not the activity's actor is refused."""
    bob = peer.actor("bob", peer_keys[1])
    await bridge.article()
    response = await bridge.post(create(alice, note(alice, attributedTo=bob.uri)), alice)
    assert response.status == 403
    assert await nothing_stored()


async def test_announced_note_from_another_origin_is_refetched(bridge, make_peer, peer, alice, peer_keys):
    """(15) An embedded object from another origin is re-fetched there; its embedded copy is ignored."""
    other = await make_peer()
    carol = other.actor("carol", peer_keys[1])
    real = note(carol, content="<p>le vrai texte</p>")
    other.serve("/users/carol/statuses/1", real)
    forged = dict(real, content="<p>texte forgé</p>")
    await bridge.article()
    announce = {"id": f"{alice.uri}/statuses/9/activity", "type": "Announce", "actor": alice.uri,
                "object": forged, "to": [PUBLIC]}
    assert (await bridge.post(announce, alice)).status == 202
    reply = await Reply.get(uri=real["id"]).prefetch_related("author")
    assert reply.content_html == "<p>le vrai texte</p>"
    assert reply.author.uri == carol.uri
    assert "/users/carol/statuses/1" in other.gets


async def test_reply_request_instrument_from_another_origin_is_refetched(bridge, make_peer, peer,
                                                                          alice, peer_keys):
    """(15) A ReplyRequest's instrument embedded from elsewhere is re-fetched (and must be the actor's)."""
    other = await make_peer()
    other.serve("/notes/1", note(alice, id=f"{other.base}/notes/1"))
    await bridge.article()
    request = {"id": f"{alice.uri}/requests/1", "type": "ReplyRequest", "actor": alice.uri,
               "object": ARTICLE, "instrument": note(alice, id=f"{other.base}/notes/1")}
    response = await bridge.post(request, alice)
    assert response.status == 403  # the re-fetched note is not on alice's origin
    assert other.gets == ["/notes/1"]
    assert await nothing_stored()


async def test_reply_request_enters_the_queue(bridge, peer, alice):
    """GoToSocial's ReplyRequest puts its instrument in the moderation queue, with the request id."""
    await bridge.article()
    request = {"id": f"{alice.uri}/requests/1", "type": "ReplyRequest", "actor": alice.uri,
               "object": ARTICLE, "instrument": note(alice)}
    assert (await bridge.post(request, alice)).status == 202
    reply = await Reply.get()
    assert reply.kind == ReplyKind.REPLY_REQUEST
    assert reply.request_activity_uri == request["id"]


@pytest.mark.parametrize("verb", ["Update", "Delete"])
async def test_update_or_delete_of_another_actors_reply_changes_nothing(bridge, peer, alice,
                                                                       peer_keys, verb):
    """(16) Update/Delete of an object owned by another actor (same origin or not) changes nothing."""
    bob = peer.actor("bob", peer_keys[1])
    await bridge.article()
    await bridge.post(create(bob, note(bob)), bob)
    await bridge.post(create(alice, note(alice, 5), 5), alice)  # alice is known: her key is cached
    before = await stored()
    hijack = note(bob, content="<p>hijacked</p>", attributedTo=alice.uri)
    activity = {"id": f"{alice.uri}/hijack/1", "type": verb, "actor": alice.uri, "object": hijack}
    assert (await bridge.post(activity, alice)).status == 403
    reply = await Reply.get(uri=f"{bob.uri}/statuses/1")
    assert reply.content_html == "<p>Bravo pour le débat</p>"
    after = await stored()
    assert after["Reply"] == before["Reply"] and after["DeletedObject"] == 0
    elsewhere = {"id": f"{alice.uri}/hijack/2", "type": verb, "actor": alice.uri,
                 "object": "https://elsewhere.example/notes/1"}
    assert (await bridge.post(elsewhere, alice)).status == 403


async def test_fetched_document_with_another_id_is_refused(bridge, peer, alice, peer_keys):
    """(18) Fetching URL A that answers a document with id B: the key is refused (401), nothing kept."""
    mallory = peer.actor("mallory", peer_keys[1])
    peer.documents["/users/alice"] = dict(peer.documents["/users/mallory"])
    response = await bridge.post(create(alice, note(alice)), mallory, key_id=alice.key_id)
    assert response.status == 401
    assert await nothing_stored()


async def test_object_fetched_with_another_id_is_ignored(bridge, peer, alice):
    """(18) A Create naming its object by URL, answered with another id, stores nothing."""
    await bridge.article()
    peer.serve("/users/alice/statuses/1", note(alice, 2))
    response = await bridge.post(create(alice, f"{alice.uri}/statuses/1"), alice)
    assert response.status == 202
    assert await Reply.all().count() == 0 and (await stored())["Job"] == 0


@pytest.mark.parametrize("content_type", ["application/json", "text/html", "image/png"])
async def test_key_fetch_with_wrong_media_type_is_refused(bridge, peer, alice, content_type):
    """(19) A key fetch answered with application/json, text/html or image/png is refused."""
    import json

    peer.documents["/users/alice"] = (200, content_type, json.dumps(peer.documents["/users/alice"]).encode())
    response = await bridge.post(create(alice, note(alice)), alice)
    assert response.status == 401
    assert await nothing_stored()


async def test_ld_signature_relayed_by_a_third_party_grants_nothing(bridge, peer, alice, peer_keys):
    """(20) A body carrying bob's LD signature, relayed and HTTP-signed by alice, is refused."""
    bob = peer.actor("bob", peer_keys[1])
    await bridge.article()
    relayed = create(bob, note(bob), signature={
        "type": "RsaSignature2017", "creator": bob.key_id, "created": "2026-05-01T12:00:00Z",
        "signatureValue": "bm90IGEgcmVhbCBzaWduYXR1cmU="})
    response = await bridge.post(relayed, alice)
    assert response.status == 401
    assert await nothing_stored()
    assert peer.count("/users/bob") == 0


async def test_object_claiming_our_domain_is_refused(bridge, peer, alice):
    """(21) An embedded object claiming an id on our domain is refused; a fetched one is ignored."""
    await bridge.article()
    ours = note(alice, id=f"{BRIDGE}/objects/note/1")
    assert (await bridge.post(create(alice, ours), alice)).status == 403
    peer.serve("/users/alice/statuses/7", note(alice, id=f"{BRIDGE}/objects/note/7"))
    response = await bridge.post(create(alice, f"{alice.uri}/statuses/7", 7), alice)
    assert response.status == 202
    assert await Reply.all().count() == 0 and (await stored())["Job"] == 0


async def test_actor_document_claiming_our_domain_is_refused(bridge, peer, peer_keys):
    """(21) A key fetch answered by an actor document claiming our id is refused (401)."""
    dave = peer.actor("dave", peer_keys[1])
    peer.documents["/users/dave"]["id"] = f"{BRIDGE}/actors/site"
    await bridge.article()
    response = await bridge.post(create(dave, note(dave)), dave)
    assert response.status == 401
    assert await nothing_stored()


async def test_object_on_the_idna_2003_twin_of_the_actors_host_is_403(named_bridge, make_peer,
                                                                      peer_keys):
    """(13, 37) An actor on fass.example cannot publish an object whose id is on faß.example
    (xn--fa-hia.example): another host, which Python's IDNA 2003 codec folded into the same."""
    peer = await named_peer(make_peer, "fass.example")
    alice = peer.actor("alice", peer_keys[0])
    await named_bridge.article()
    port = peer.base.rsplit(":", 1)[1]
    squatted = note(alice, id=f"http://faß.example:{port}/notes/1")
    response = await named_bridge.post(create(alice, squatted), alice)
    assert response.status == 403
    assert await Reply.all().count() == 0
    assert (await named_bridge.post(create(alice, note(alice), 2), alice)).status == 202
    assert await Reply.filter(uri=f"{alice.uri}/statuses/1").exists()  # its own host: kept


async def test_block_of_an_idn_host_holds_however_it_is_written(named_bridge, make_peer,
                                                                peer_keys):
    """(11, 37) A domain block written "FAß.Example." refuses the actor on xn--fa-hia.example
    (403, nothing fetched); a block of its IDNA 2003 twin fass.example does not cover it."""
    from federation.db.social import Block, BlockKind
    from federation.inbox.blocks import BlockList
    from federation.web.state import SETTINGS

    peer = await named_peer(make_peer, "xn--fa-hia.example")
    mallory = peer.actor("mallory", peer_keys[1])
    await Block.create(kind=BlockKind.DOMAIN, value="FAß.Example.", created_by="test")
    await named_bridge.article()
    response = await named_bridge.post(create(mallory, note(mallory)), mallory)
    assert response.status == 403
    assert peer.gets == [] and await Reply.all().count() == 0
    await Block.all().update(value="fass.example")
    snapshot = await BlockList(named_bridge.app[SETTINGS]).current()
    assert snapshot.domain_blocked("fass.example")
    assert not snapshot.domain_blocked("xn--fa-hia.example")
