"""Checklist 36 for syndication: an item's author is decided from the id of the document finally
received (after redirects), never from the URL the activity named. V redirects, E serves."""

from __future__ import annotations

from federation.db.syndication import SyndicatedItem

from .conftest import activity, article, follow_row


async def test_announced_url_redirected_to_another_host_is_not_syndicated(bridge, make_peer, peer,
                                                                         alice, peer_keys):
    """A followed actor boosts a URL on V that redirects to E's article naming a V author: no item."""
    v, e = await make_peer(), await make_peer()
    victim = v.actor("victim", peer_keys[1])
    forged = e.serve("/articles/1", article(victim, id=f"{e.base}/articles/1"))
    v.redirect("/articles/1", forged)
    await follow_row(bridge, alice.uri, "store")
    response = await bridge.post(activity("Announce", alice, f"{v.base}/articles/1"), alice)
    assert response.status == 202
    assert e.gets == ["/articles/1"]
    assert await SyndicatedItem.all().count() == 0


async def test_announced_article_moved_on_its_origin_is_kept_under_its_final_id(
        bridge, make_peer, peer, alice, peer_keys):
    """A redirect within the author's origin is followed: the item is the final document."""
    v = await make_peer()
    dave = v.actor("dave", peer_keys[2])
    moved = v.serve("/articles/7b", article(dave, 7, id=f"{v.base}/articles/7b"))
    v.redirect("/articles/7", moved, status=308)
    await follow_row(bridge, alice.uri, "store")
    await bridge.post(activity("Announce", alice, f"{v.base}/articles/7"), alice)
    item = await SyndicatedItem.get()
    assert item.object_uri == moved and item.actor_uri == dave.uri


async def test_create_by_reference_redirected_to_another_host_is_403(bridge, make_peer, peer, alice):
    """A followed actor's Create naming a URL on its host that redirects to E stores nothing (403)."""
    e = await make_peer()
    elsewhere = e.serve("/articles/1", article(alice, id=f"{e.base}/articles/1"))
    peer.redirect("/users/alice/articles/1", elsewhere)
    await follow_row(bridge, alice.uri, "store")
    response = await bridge.post(activity("Create", alice, f"{alice.uri}/articles/1"), alice)
    assert response.status == 403
    assert e.gets == ["/articles/1"]
    assert await SyndicatedItem.all().count() == 0


async def test_update_by_reference_redirected_to_another_document_changes_nothing(
        bridge, make_peer, peer, alice):
    """An Update naming an item by URL, answered (via redirect) by another document: 403, unchanged."""
    e = await make_peer()
    await follow_row(bridge, alice.uri, "store")
    assert (await bridge.post(activity("Create", alice, article(alice)), alice)).status == 202
    other = e.serve("/articles/1", article(alice, id=f"{e.base}/articles/1", name="Autre titre"))
    peer.redirect("/users/alice/articles/1", other)
    response = await bridge.post(activity("Update", alice, f"{alice.uri}/articles/1", 2), alice)
    assert response.status == 403
    assert (await SyndicatedItem.get()).name == "Débat numéro 1"


async def test_relayed_article_by_a_blocked_author_is_not_syndicated(bridge, make_peer, peer,
                                                                    alice, peer_keys):
    """(11) A followed relay's Announce of an article by a blocked actor stores no item."""
    from federation.db.social import Block, BlockKind

    v = await make_peer()
    dave = v.actor("dave", peer_keys[2])
    v.serve("/users/dave/articles/1", article(dave))
    await Block.create(kind=BlockKind.ACTOR, value=dave.uri, created_by="test")
    await follow_row(bridge, alice.uri, "store")
    await bridge.post(activity("Announce", alice, f"{dave.uri}/articles/1"), alice)
    assert await SyndicatedItem.all().count() == 0
