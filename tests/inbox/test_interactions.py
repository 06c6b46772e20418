"""Likes and Announces of our objects are counted per object; Undo removes them; Flags are reports."""

from __future__ import annotations

from federation.db.moderation import Interaction, InteractionKind, Report

from .conftest import ARTICLE, HALTE, stored


def like(actor, number=1, obj=ARTICLE, kind="Like"):
    return {"id": f"{actor.uri}#{kind.lower()}s/{number}", "type": kind, "actor": actor.uri, "object": obj}


async def test_like_and_announce_are_counted_once_per_actor(bridge, peer, alice, peer_keys):
    """Likes and Announces of our article make Interaction rows; a second Like by the same actor counts once."""
    bob = peer.actor("bob", peer_keys[1])
    await bridge.article()
    for activity, signer in ((like(alice), alice), (like(alice, 2), alice), (like(bob), bob),
                             (like(alice, 3, kind="Announce"), alice)):
        assert (await bridge.post(activity, signer)).status == 202
    likes = await Interaction.filter(object_uri=ARTICLE, kind=InteractionKind.LIKE).count()
    announces = await Interaction.filter(object_uri=ARTICLE, kind=InteractionKind.ANNOUNCE).count()
    assert (likes, announces) == (2, 1)


async def test_like_of_something_else_stores_nothing(bridge, peer, alice):
    """A Like of an object that is not ours (or unknown) leaves nothing."""
    await bridge.post(like(alice, obj="https://elsewhere.example/notes/1"), alice)
    await bridge.post(like(alice, 2, obj="https://bridge.example/objects/article/404"), alice)
    assert all(count == 0 for count in (await stored()).values())


async def test_undo_like_removes_it_only_for_its_actor(bridge, peer, alice, peer_keys):
    """Undo(Like) removes the actor's own Like; the same Undo by another actor changes nothing."""
    bob = peer.actor("bob", peer_keys[1])
    await bridge.article()
    await bridge.post(like(alice), alice)
    sneaky = {"id": f"{bob.uri}#undo/1", "type": "Undo", "actor": bob.uri, "object": like(alice)["id"]}
    assert (await bridge.post(sneaky, bob)).status == 202
    assert await Interaction.all().count() == 1
    undo = {"id": f"{alice.uri}#undo/1", "type": "Undo", "actor": alice.uri, "object": like(alice)}
    assert (await bridge.post(undo, alice)).status == 202
    assert await Interaction.all().count() == 0


async def test_flag_of_our_actor_is_a_report(bridge, peer, alice):
    """A Flag naming one of our actors becomes a Report with plain-text content."""
    flag = {"id": f"{alice.uri}#flags/1", "type": "Flag", "actor": alice.uri,
            "object": [HALTE, ARTICLE], "content": "<b>spam</b> <script>x</script>"}
    assert (await bridge.post(flag, alice)).status == 202
    report = await Report.get()
    assert report.object_uris == [HALTE, ARTICLE]
    assert "<" not in report.content and "spam" in report.content


async def test_flag_of_others_is_not_stored(bridge, peer, alice):
    """A Flag that names nothing of ours is not stored."""
    flag = {"id": f"{alice.uri}#flags/1", "type": "Flag", "actor": alice.uri,
            "object": ["https://elsewhere.example/users/x"]}
    assert (await bridge.post(flag, alice)).status == 202
    assert await Report.all().count() == 0
