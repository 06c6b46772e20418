"""Checklist 36: identity is the id of the document finally received, never the URL asked for.

Every path that fetches a document and then credits an author is run against two real servers
on loopback: V answers the URL we are given with a redirect, E serves the document.
"""

from __future__ import annotations

from federation.db.moderation import Reply
from federation.db.social import RemoteActor

from .conftest import ARTICLE, PUBLIC, create, note, stored


def announce(actor, obj, number: int = 9) -> dict:
    return {"id": f"{actor.uri}/statuses/{number}/activity", "type": "Announce",
            "actor": actor.uri, "object": obj, "to": [PUBLIC]}


async def test_announced_url_redirected_to_another_host_credits_nobody_on_the_first(
        bridge, make_peer, peer, alice, peer_keys):
    """An Announce of a URL on V that redirects to E, whose note names a V author, stores nothing."""
    v, e = await make_peer(), await make_peer()
    victim = v.actor("victim", peer_keys[1])
    forged = e.serve("/notes/1", note(victim, id=f"{e.base}/notes/1"))
    v.redirect("/notes/1", forged)
    await bridge.article()
    assert (await bridge.post(announce(alice, f"{v.base}/notes/1"), alice)).status == 202
    assert e.gets == ["/notes/1"]  # fetched, through the redirect
    assert await Reply.all().count() == 0
    assert v.count("/users/victim") == 0 and not await RemoteActor.filter(uri=victim.uri).exists()


async def test_announced_note_moved_on_its_own_origin_is_kept_under_its_final_id(
        bridge, make_peer, peer, alice, peer_keys):
    """A redirect within the author's origin is followed: the reply is stored under the final id."""
    v = await make_peer()
    victim = v.actor("victim", peer_keys[1])
    moved = v.serve("/notes/1b", note(victim, id=f"{v.base}/notes/1b"))
    v.redirect("/notes/1", moved, status=301)
    await bridge.article()
    assert (await bridge.post(announce(alice, f"{v.base}/notes/1"), alice)).status == 202
    reply = await Reply.get().prefetch_related("author")
    assert reply.uri == moved and reply.author.uri == victim.uri


async def test_announced_note_whose_author_redirects_to_another_actor_is_not_stored(
        bridge, make_peer, peer, alice, peer_keys):
    """The author named by attributedTo must be the actor document fetched: no other row stands in."""
    v, e = await make_peer(), await make_peer()
    victim = v.actor("victim", peer_keys[1])
    eve = e.actor("eve", peer_keys[2])
    v.serve("/users/victim/statuses/1", note(victim))
    v.redirect("/users/victim", eve.uri)
    await bridge.article()
    assert (await bridge.post(announce(alice, f"{victim.uri}/statuses/1"), alice)).status == 202
    assert e.count("/users/eve") == 1  # the redirect was followed, and its answer refused
    assert await Reply.all().count() == 0
    assert not await RemoteActor.filter(uri=eve.uri).exists()


async def test_create_by_reference_redirected_to_another_host_is_403(bridge, make_peer, peer, alice):
    """(13) A Create naming an object on the actor's host that redirects to E is refused, nothing kept."""
    e = await make_peer()
    elsewhere = e.serve("/notes/1", note(alice, id=f"{e.base}/notes/1"))
    peer.redirect("/users/alice/statuses/1", elsewhere)
    await bridge.article()
    response = await bridge.post(create(alice, f"{alice.uri}/statuses/1"), alice)
    assert response.status == 403
    assert e.gets == ["/notes/1"]
    counts = await stored()
    assert counts["Reply"] == 0 and counts["Job"] == 0


async def test_create_by_reference_redirected_to_a_deleted_object_stores_nothing(bridge, peer, alice):
    """Deletion wins for the final id too: a redirect to a deleted note does not bring it back."""
    await bridge.article()
    assert (await bridge.post(create(alice, note(alice, 3), 3), alice)).status == 202  # known
    deleted = peer.serve("/users/alice/statuses/2", note(alice, 2))
    delete = {"id": f"{alice.uri}/statuses/2#delete", "type": "Delete", "actor": alice.uri,
              "object": deleted}
    assert (await bridge.post(delete, alice)).status == 202
    peer.redirect("/users/alice/statuses/1", deleted)
    assert (await bridge.post(create(alice, f"{alice.uri}/statuses/1"), alice)).status == 202
    assert peer.count("/users/alice/statuses/2") == 1  # fetched through the redirect
    assert not await Reply.filter(uri=deleted).exists()


async def test_reply_request_instrument_redirected_to_another_host_is_403(bridge, make_peer, peer,
                                                                         alice):
    """(15) A ReplyRequest whose instrument URL redirects to a note on E is refused."""
    e = await make_peer()
    elsewhere = e.serve("/notes/1", note(alice, id=f"{e.base}/notes/1"))
    peer.redirect("/users/alice/statuses/1", elsewhere)
    await bridge.article()
    request = {"id": f"{alice.uri}/requests/1", "type": "ReplyRequest", "actor": alice.uri,
               "object": ARTICLE, "instrument": f"{alice.uri}/statuses/1"}
    assert (await bridge.post(request, alice)).status == 403
    assert e.gets == ["/notes/1"]
    assert await Reply.all().count() == 0


async def test_update_by_reference_redirected_to_another_object_changes_nothing(
        bridge, make_peer, peer, alice):
    """(16) An Update naming a reply by URL, answered (via redirect) by another note, changes nothing."""
    e = await make_peer()
    await bridge.article()
    assert (await bridge.post(create(alice, note(alice)), alice)).status == 202
    other = e.serve("/notes/1", note(alice, id=f"{e.base}/notes/1", content="<p>autre</p>"))
    peer.redirect("/users/alice/statuses/1", other)
    update = {"id": f"{alice.uri}/statuses/1#update", "type": "Update", "actor": alice.uri,
              "object": f"{alice.uri}/statuses/1"}
    assert (await bridge.post(update, alice)).status == 403
    reply = await Reply.get()
    assert reply.content_html == "<p>Bravo pour le débat</p>" and reply.history == []



async def test_announced_note_by_a_blocked_author_is_not_stored(bridge, make_peer, peer, alice,
                                                               peer_keys):
    """(11) The author an Announce credits passes the blocks a sender passes: a boost of a note
    by a blocked actor does not bring it into moderation (peers share 127.0.0.1, so the actor
    block is the one tested; domains go through the same check)."""
    from federation.db.social import Block, BlockKind

    v = await make_peer()
    victim = v.actor("victim", peer_keys[1])
    v.serve("/users/victim/statuses/1", note(victim))
    await Block.create(kind=BlockKind.ACTOR, value=victim.uri, created_by="test")
    await bridge.article()
    assert (await bridge.post(announce(alice, f"{victim.uri}/statuses/1"), alice)).status == 202
    assert await Reply.all().count() == 0
    assert v.gets == ["/users/victim/statuses/1"]  # the note, never the blocked actor
