"""What we hand to relays: public posts, their edits and deletions, public boosts and their
undoing — decided from the activity itself (``protocol.activities.is_relayable``)."""

from __future__ import annotations

import pytest

from federation.protocol import activities
from federation.protocol.actors import AS_PUBLIC

ACTOR = "https://bridge.example/actors/site"
FOLLOWERS = f"{ACTOR}/followers"
READER = "https://reader.example/users/carol"


def _post(to: list[str], cc: list[str] | None = None) -> dict:
    return {"id": "https://bridge.example/objects/note/1", "type": "Note",
            "attributedTo": ACTOR, "to": to, "cc": cc or []}


def _activity(kind: str, obj: object, to: list[str], cc: list[str] | None = None) -> dict:
    return {"id": f"https://bridge.example/activities/{kind.lower()}", "type": kind,
            "actor": ACTOR, "object": obj, "to": to, "cc": cc or []}


@pytest.mark.parametrize("public", [AS_PUBLIC, "as:Public", "Public"])
def test_public_posts_their_edits_and_deletions_are_relayed(public):
    """Create/Update of a public object (to or cc Public, in any spelling) and its Delete."""
    assert activities.is_relayable(_activity("Create", _post([public]), [public]))
    assert activities.is_relayable(_activity("Update", _post([FOLLOWERS], [public]),
                                             [FOLLOWERS], [public]))
    assert activities.is_relayable(_activity("Delete", "https://bridge.example/o/1", [public]))


def test_public_boosts_and_their_undo_are_relayed():
    boost = activities.boost("https://bridge.example/activities/a", ACTOR,
                             "https://sister.example/a/1", followers=FOLLOWERS,
                             author="https://sister.example/u/a")
    assert boost["cc"] == [FOLLOWERS, "https://sister.example/u/a"]
    assert activities.is_relayable(boost)
    assert activities.is_relayable(activities.undo("https://bridge.example/activities/u", ACTOR,
                                                   boost, to=boost["to"], cc=boost["cc"]))


def test_nothing_else_is_relayed():
    """Followers-only and direct posts (even in a Create sent to Public by mistake), answers,
    follows, pins, the undoing of a follow: never relayed."""
    followers_only = _post([FOLLOWERS])
    direct = _post([READER])
    assert not activities.is_relayable(_activity("Create", followers_only, [FOLLOWERS]))
    assert not activities.is_relayable(_activity("Create", direct, [READER]))
    assert not activities.is_relayable(_activity("Create", followers_only, [AS_PUBLIC]))
    assert not activities.is_relayable(_activity("Update", direct, [AS_PUBLIC]))
    assert not activities.is_relayable(_activity("Create", "https://bridge.example/o/1",
                                                 [AS_PUBLIC]))
    assert not activities.is_relayable(_activity("Delete", "https://bridge.example/o/1",
                                                 [FOLLOWERS]))
    follow = activities.follow("https://bridge.example/activities/f", ACTOR, READER)
    for kind in ("Accept", "Reject"):
        assert not activities.is_relayable(_activity(kind, follow, [AS_PUBLIC]))
    assert not activities.is_relayable({**follow, "to": [AS_PUBLIC]})
    assert not activities.is_relayable(_activity("Add", "https://bridge.example/o/1",
                                                 [AS_PUBLIC]))
    assert not activities.is_relayable(_activity("Undo", follow, [AS_PUBLIC]))
    assert not activities.is_relayable({"type": "Create", "to": "garbage", "object": 3})
