"""Replies: what concerns us is queued pending and sanitised; edits, deletions, deletion wins."""

from __future__ import annotations

import time

import pytest

from federation.db.inbox import DeletedObject
from federation.db.moderation import Interaction, Reply, ReplyKind, ReplyState
from federation.db.social import Follower, RemoteActor

from .conftest import ARTICLE, HALTE, PUBLIC, create, note, stored


@pytest.mark.parametrize("public", [PUBLIC, "as:Public", "Public"])
async def test_public_in_any_spelling(bridge, peer, alice, public):
    """Public arrives in three spellings: all make a public reply."""
    await bridge.article()
    await bridge.post(create(alice, note(alice, to=[public], cc=[])), alice)
    assert (await Reply.get()).is_public


async def test_followers_only_reply_is_not_public(bridge, peer, alice):
    """A reply addressed to followers only is kept, marked not public."""
    await bridge.article()
    await bridge.post(create(alice, note(alice, to=[f"{alice.uri}/followers"], cc=[HALTE])), alice)
    assert not (await Reply.get()).is_public


async def test_reply_in_a_thread_rooted_at_our_object(bridge, peer, alice, peer_keys):
    """A reply to a reply we hold joins the thread rooted at our object."""
    bob = peer.actor("bob", peer_keys[1])
    await bridge.article()
    await bridge.post(create(alice, note(alice)), alice)
    answer = note(bob, inReplyTo=f"{alice.uri}/statuses/1")
    assert (await bridge.post(create(bob, answer), bob)).status == 202
    reply = await Reply.get(uri=answer["id"])
    assert reply.thread_root_uri == ARTICLE and reply.in_reply_to_uri == f"{alice.uri}/statuses/1"
    assert reply.target_id is not None


async def test_mention_of_our_actor_is_queued(bridge, peer, alice):
    """A note mentioning one of our actors is queued as a mention, for that actor."""
    mention = note(alice, inReplyTo=None, tag=[{"type": "Mention", "href": HALTE}], cc=[HALTE])
    assert (await bridge.post(create(alice, mention), alice)).status == 202
    reply = await Reply.get()
    assert reply.kind == ReplyKind.MENTION
    assert reply.local_actor_id == bridge.directory.get("halte-au-controle-numerique").db_id


async def test_flood_of_unrelated_creates_stores_nothing(bridge, peer, alice):
    """(30) Creates that neither reply to nor mention us are acknowledged and not stored at all."""
    await bridge.article()
    for number in range(1, 31):
        unrelated = note(alice, number, inReplyTo="https://elsewhere.example/notes/1")
        assert (await bridge.post(create(alice, unrelated, number), alice)).status == 202
    assert all(count == 0 for count in (await stored()).values()), await stored()


async def test_hostile_html_is_stored_sanitised(bridge, peer, peer_keys):
    """(33) Scripts, handlers, javascript:/data: links, iframes, SVG, styles are gone; names are text."""
    eve = peer.actor("eve", peer_keys[1], name="<script>alert(1)</script>Eve<img src=x onerror=alert(2)>")
    await bridge.article()
    hostile = note(
        eve,
        content=('<p onclick="x()">hi<script>alert(1)</script><img src=x onerror=alert(1)>'
                 '<a href="javascript:alert(1)">js</a><a href="data:text/html,<b>">data</a>'
                 '<iframe src="https://evil.example"></iframe><svg><script>1</script></svg>'
                 '<style>body{background:url(https://evil.example/x)}</style>'
                 '<span style="background:url(https://evil.example/y)">css</span></p>'),
        name="<b>Titre</b><script>alert(1)</script>",
        summary='<p>CW <img src=x onerror=alert(1)><a href="javascript:x">x</a></p>',
    )
    assert (await bridge.post(create(eve, hostile), eve)).status == 202
    reply = await Reply.get().prefetch_related("author")
    stored_text = " ".join([reply.content_html, reply.name, reply.summary, reply.author.name or ""])
    for needle in ("<script", "onerror", "onclick", "javascript:", "data:", "<iframe", "<svg",
                   "<style", "url(", "<img", "style="):
        assert needle not in stored_text.lower(), needle
    assert reply.name == "Titre"
    assert "Eve" in reply.author.name


async def test_pathological_html_is_sanitised_fast_and_capped(bridge, peer, alice):
    """(31) Deeply nested, huge HTML in content is sanitised in linear time with a size cap."""
    await bridge.article()
    content = "<div><b><i>" * 25_000 + "x" + "</i></b></div>" * 25_000
    started = time.monotonic()
    response = await bridge.post(create(alice, note(alice, content=content)), alice)
    assert response.status == 202
    assert time.monotonic() - started < 5
    assert len((await Reply.get()).content_html) <= 200_000


async def test_attachments_are_metadata_checked_and_capped(bridge, peer, alice):
    """(34) Attachments keep type, media type, URL and description only: known types, http(s), capped."""
    await bridge.article()
    attachments = [
        {"type": "Document", "mediaType": "image/png", "url": "https://peer.example/a.png", "name": "../../etc/passwd"},
        {"type": "Image", "mediaType": "text/html; <script>", "url": "https://peer.example/b"},
        {"type": "Image", "url": "javascript:alert(1)"},
        {"type": "Image", "url": "file:///etc/passwd"},
        {"type": "Application", "url": "https://peer.example/c"},
    ] + [{"type": "Image", "mediaType": "image/jpeg", "url": f"https://peer.example/{i}.jpg"}
         for i in range(20)]
    await bridge.post(create(alice, note(alice, attachment=attachments)), alice)
    kept = (await Reply.get()).attachments
    assert len(kept) == 8
    assert all(a["url"].startswith("https://") for a in kept)
    assert kept[0]["name"] == "../../etc/passwd" and set(kept[0]) == {"type", "media_type", "url", "name"}
    assert kept[1]["media_type"] == ""


async def test_update_returns_reply_to_pending_with_history(bridge, peer, alice):
    """An Update of a reply puts it back to pending and keeps the previous version in history."""
    await bridge.article()
    await bridge.post(create(alice, note(alice)), alice)
    await Reply.all().update(state=ReplyState.APPROVED)
    edited = note(alice, content="<p>Corrigé</p>")
    update = {"id": f"{alice.uri}/statuses/1#updates/1", "type": "Update", "actor": alice.uri, "object": edited}
    assert (await bridge.post(update, alice)).status == 202
    reply = await Reply.get()
    assert reply.state == ReplyState.PENDING and reply.content_html == "<p>Corrigé</p>"
    assert reply.history[-1]["content_html"] == "<p>Bravo pour le débat</p>"
    assert reply.edited_at is not None


async def test_delete_removes_the_reply_and_wins_over_a_replayed_create(bridge, peer, alice):
    """A Delete removes the reply everywhere; the same Create replayed later is a no-op."""
    await bridge.article()
    activity = create(alice, note(alice))
    await bridge.post(activity, alice)
    delete = {"id": f"{alice.uri}/statuses/1#delete", "type": "Delete", "actor": alice.uri,
              "object": {"id": f"{alice.uri}/statuses/1", "type": "Tombstone"}}
    assert (await bridge.post(delete, alice)).status == 202
    assert await Reply.all().count() == 0
    assert await DeletedObject.exists(object_uri=f"{alice.uri}/statuses/1")
    replayed = dict(activity, id=f"{alice.uri}/statuses/1/activity-again")
    assert (await bridge.post(replayed, alice)).status == 202
    assert await Reply.all().count() == 0


async def test_delete_before_create_still_wins(bridge, peer, alice):
    """A Delete arriving before its Create (reordering) leaves a tombstone: the Create is a no-op."""
    await bridge.article()
    await bridge.post(create(alice, note(alice, 9), 9), alice)  # alice becomes known
    delete = {"id": f"{alice.uri}/statuses/1#delete", "type": "Delete", "actor": alice.uri,
              "object": f"{alice.uri}/statuses/1"}
    await bridge.post(delete, alice)
    await bridge.post(create(alice, note(alice)), alice)
    assert not await Reply.exists(uri=f"{alice.uri}/statuses/1")


async def test_delete_from_unknown_actor_is_acknowledged_without_fetch(bridge, peer, alice):
    """A Delete from an actor we never knew is answered 202 without any fetch or row."""
    delete = {"id": f"{alice.uri}#delete", "type": "Delete", "actor": alice.uri, "object": alice.uri}
    response = await bridge.post(delete, alice)
    assert response.status == 202
    assert peer.gets == []
    assert all(count == 0 for count in (await stored()).values())


async def test_delete_of_actor_removes_all_its_rows(bridge, peer, alice):
    """Delete of the actor itself removes its replies, interactions and follows."""
    await bridge.article()
    await bridge.post(create(alice, note(alice)), alice)
    await bridge.post({"id": f"{alice.uri}#likes/1", "type": "Like", "actor": alice.uri, "object": ARTICLE}, alice)
    await bridge.post({"id": f"{alice.uri}#follows/1", "type": "Follow", "actor": alice.uri, "object": HALTE}, alice)
    assert await Reply.all().count() == 1 and await Interaction.all().count() == 1
    delete = {"id": f"{alice.uri}#delete", "type": "Delete", "actor": alice.uri, "object": alice.uri}
    assert (await bridge.post(delete, alice)).status == 202
    for model in (Reply, Interaction, Follower, RemoteActor):
        assert await model.all().count() == 0, model.__name__
    again = {"id": f"{alice.uri}#follows/2", "type": "Follow", "actor": alice.uri, "object": HALTE}
    assert (await bridge.post(again, alice)).status == 202
    assert await Follower.all().count() == 0


async def test_update_of_the_actor_refetches_its_document(bridge, peer, alice):
    """An Update of the actor itself refetches its document from its origin (the embedded copy is ignored)."""
    await bridge.article()
    await bridge.post(create(alice, note(alice)), alice)
    peer.documents["/users/alice"]["name"] = "Alice Renamed"
    update = {"id": f"{alice.uri}#updates/1", "type": "Update", "actor": alice.uri,
              "object": {"id": alice.uri, "type": "Person", "name": "Forged", "inbox": "https://evil.example/"}}
    assert (await bridge.post(update, alice)).status == 202
    row = await RemoteActor.get(uri=alice.uri)
    assert row.name == "Alice Renamed" and row.inbox == f"{alice.uri}/inbox"
    assert peer.count("/users/alice") == 2
