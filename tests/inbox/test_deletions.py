"""Deletes from actors we never knew: unverified tombstones that a stranger cannot abuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from federation.db.inbox import DeletedObject, tombstones_among
from federation.db.lifecycle import open_database
from federation.db.moderation import Reply
from federation.inbox.deletions import UNVERIFIED_RETENTION, UnverifiedDeletions
from federation.inbox.processor import Processor

from .conftest import ARTICLE, BRIDGE, create, note, stored

STATUS = "/users/alice/statuses/1"


def delete_of(actor_uri: str, object_uri: str, number: int = 1) -> dict:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor_uri}#deletes/{number}",
            "type": "Delete", "actor": actor_uri, "object": {"id": object_uri, "type": "Tombstone"}}


async def test_create_after_a_delete_from_an_unknown_actor_stores_nothing(bridge, peer, alice):
    """A Delete from an actor we never knew is acknowledged without fetch but remembered: the
    Create of that object arriving later (its origin answers 404) is acknowledged, stored nowhere."""
    await bridge.article()
    assert (await bridge.post(delete_of(alice.uri, alice.uri + "/statuses/1"), alice)).status == 202
    assert peer.gets == []
    assert await tombstones_among([alice.uri + "/statuses/1"]) == {alice.uri + "/statuses/1": False}
    response = await bridge.post(create(alice, note(alice)), alice)
    assert response.status == 202
    assert await Reply.all().count() == 0
    assert STATUS in peer.gets  # the origin was asked, the embedded copy set aside
    assert await tombstones_among([alice.uri + "/statuses/1"]) == {alice.uri + "/statuses/1": True}
    fetched = peer.count(STATUS)
    again = create(alice, note(alice), id=f"{alice.uri}/statuses/1/activity-again")
    assert (await bridge.post(again, alice)).status == 202
    assert await Reply.all().count() == 0
    assert peer.count(STATUS) == fetched  # confirmed: no more asking


async def test_forged_delete_cannot_suppress_the_authors_later_create(bridge, peer, alice, peer_keys):
    """A stranger's Delete naming alice's future status is remembered unverified; alice's real
    Create makes us ask her origin, which serves the note: it is queued, the tombstone dropped."""
    eve = peer.actor("eve", peer_keys[1])
    await bridge.article()
    forged = delete_of(alice.uri, alice.uri + "/statuses/1")
    assert (await bridge.post(forged, eve, key_id=alice.key_id)).status == 202
    assert await DeletedObject.filter(verified=False).count() == 1
    peer.serve(STATUS, note(alice, content="<p>the note as its origin serves it</p>"))
    assert (await bridge.post(create(alice, note(alice, content="<p>embedded</p>")), alice)).status == 202
    reply = await Reply.get()
    assert reply.uri == alice.uri + "/statuses/1"
    assert "as its origin serves it" in reply.content_html
    assert await DeletedObject.all().count() == 0


async def test_unverified_delete_is_remembered_only_within_its_origin(bridge, peer, alice, make_peer):
    """The object must not be the actor itself, and the activity id, the object id and the key id
    must be on the actor's origin (not ours): else nothing at all is stored, nothing fetched."""
    other = await make_peer()
    cases = [
        delete_of(alice.uri, alice.uri),  # the actor itself: would silence the actor
        delete_of(alice.uri, f"{other.base}/users/bob/statuses/1"),  # another origin's object
        delete_of(alice.uri, f"{BRIDGE}/objects/article/4521"),  # ours
        dict(delete_of(alice.uri, alice.uri + "/statuses/1"), id=f"{other.base}/deletes/1"),
    ]
    for number, delete in enumerate(cases):
        delete = dict(delete, id=delete["id"] + str(number))
        assert (await bridge.post(delete, alice)).status == 202
    other_key = f"{other.base}/users/alice#main-key"
    assert (await bridge.post(delete_of(alice.uri, alice.uri + "/statuses/2"), alice,
                              key_id=other_key)).status == 202
    assert peer.gets == [] and other.gets == []
    assert all(count == 0 for count in (await stored()).values())


async def test_delete_from_a_known_actor_verifies_an_unverified_tombstone(bridge, peer, alice):
    """Once alice is known, her verified Delete turns the doubtful tombstone into a verified one."""
    await bridge.article()
    await bridge.post(delete_of(alice.uri, alice.uri + "/statuses/1"), alice)
    peer.serve("/users/alice/statuses/9", note(alice, 9))
    await bridge.post(create(alice, note(alice, 9), 9), alice)  # alice becomes known
    assert (await bridge.post(delete_of(alice.uri, alice.uri + "/statuses/1", 2), alice)).status == 202
    assert await tombstones_among([alice.uri + "/statuses/1"]) == {alice.uri + "/statuses/1": True}
    assert (await bridge.post(create(alice, note(alice)), alice)).status == 202
    assert not await Reply.exists(uri=alice.uri + "/statuses/1")
    assert peer.count(STATUS) == 0


async def test_reply_request_of_a_doubtfully_deleted_note_asks_its_origin(bridge, peer, alice):
    """A ReplyRequest whose instrument has an unverified tombstone: its origin says 404, nothing is queued."""
    await bridge.article()
    await bridge.post(delete_of(alice.uri, alice.uri + "/statuses/1"), alice)
    request = {"id": f"{alice.uri}/requests/1", "type": "ReplyRequest", "actor": alice.uri,
               "object": ARTICLE, "instrument": note(alice)}
    assert (await bridge.post(request, alice)).status == 202
    assert await Reply.all().count() == 0
    assert peer.count(STATUS) == 1


async def test_origin_failing_otherwise_leaves_the_create_for_its_retry(bridge, peer, alice):
    """An origin answering 500 settles nothing: acknowledged, the claim released for the retry."""
    await bridge.article()
    await bridge.post(delete_of(alice.uri, alice.uri + "/statuses/1"), alice)
    peer.serve(STATUS, (500, "text/plain", b"oops"))
    assert (await bridge.post(create(alice, note(alice)), alice)).status == 202
    counts = await stored()
    assert counts["Reply"] == 0 and counts["Job"] == 0
    assert await tombstones_among([alice.uri + "/statuses/1"]) == {alice.uri + "/statuses/1": False}
    peer.serve(STATUS, note(alice))
    assert (await bridge.post(create(alice, note(alice)), alice)).status == 202
    assert await Reply.all().count() == 1


@pytest.mark.parametrize("kept", [0, 7])
async def test_unverified_tombstones_are_capped_and_expire(database_url, make_settings, kept):
    """At most ``unverified_tombstones_kept`` are kept (the newest), checked as they come and by
    the purge; they expire after UNVERIFIED_RETENTION; verified ones are never trimmed."""
    settings = make_settings(database_url, inbox={"unverified_tombstones_kept": kept})
    async with open_database(database_url):
        deletions = UnverifiedDeletions(settings, trim_every=5)
        await DeletedObject.create(object_uri="https://v.example/n/1", actor_uri="https://v.example/a",
                                   deleted_at=datetime.now(UTC),
                                   expires_at=datetime.now(UTC) + timedelta(days=180))
        actor = "https://p.example/users/a"
        for number in range(23):
            await deletions.record(delete_of(actor, f"{actor}/statuses/{number}", number), actor,
                                   actor + "#main-key")
            assert await DeletedObject.filter(verified=False).count() <= kept + 5
        await Processor(settings, {}).purge_expired()
        kept_uris = await DeletedObject.filter(verified=False).order_by("id").values_list(
            "object_uri", flat=True)
        assert kept_uris == [f"{actor}/statuses/{n}" for n in range(23 - kept, 23)]
        assert await DeletedObject.filter(verified=True).count() == 1
        later = datetime.now(UTC) + UNVERIFIED_RETENTION + timedelta(minutes=1)
        await Processor(settings, {}).purge_expired(later)
        assert await DeletedObject.filter(verified=False).count() == 0
        assert await DeletedObject.filter(verified=True).count() == 1


async def test_strangers_write_unverified_tombstones_at_a_bounded_rate(database_url, make_settings):
    """All unknown senders together: a burst, then one per refill interval; a duplicate costs nothing."""
    settings = make_settings(database_url)
    async with open_database(database_url):
        clock = Clock()
        deletions = UnverifiedDeletions(settings, writes=(3, 30.0), clock=clock)
        hosts = [f"https://h{n}.example/users/a" for n in range(5)]

        async def record(actor: str, number: int = 1) -> bool:
            return await deletions.record(delete_of(actor, f"{actor}/statuses/{number}"), actor,
                                          actor + "#main-key")

        assert [await record(actor) for actor in hosts] == [True, True, True, False, False]
        clock.now += 10  # one write back
        assert await record(hosts[0]) is False  # a duplicate: refunded
        assert await record(hosts[3]) is True
        assert await record(hosts[4]) is False
        assert await DeletedObject.all().count() == 4


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now
