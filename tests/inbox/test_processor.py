"""Claims and tombstones: written by hand-made SQL, read by the ORM alike; they expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from federation.db.inbox import (
    DeletedObject,
    ReceivedActivity,
    claim_activity,
    deleted_among,
    release_claim,
)
from federation.db.lifecycle import open_database
from federation.db.moderation import Reply
from federation.inbox.processor import PROCESSING_LEASE, Processor, add_tombstone

from .conftest import create, note


async def test_claims_are_unique_released_and_purged(database_url, make_settings):
    """A second claim of an id fails; a released one can be claimed again; expired rows are purged."""
    settings = make_settings(database_url)
    async with open_database(database_url):
        now = datetime.now(UTC)
        assert await claim_activity("https://p.example/a/1", "https://p.example/a", "Create", now,
                                    now + timedelta(days=1))
        assert not await claim_activity("https://p.example/a/1", "https://p.example/a", "Create",
                                        now, now + timedelta(days=1))
        await release_claim("https://p.example/a/1")
        assert await claim_activity("https://p.example/a/1", "https://p.example/a", "Create", now,
                                    now - timedelta(seconds=1))
        row = await ReceivedActivity.get(activity_uri="https://p.example/a/1")
        assert row.expires_at < now and row.type == "Create"
        await add_tombstone("https://p.example/n/1", "https://p.example/a", timedelta(days=-1))
        await add_tombstone("https://p.example/n/2", "https://p.example/a", timedelta(days=1))
        assert await deleted_among(["https://p.example/n/1", "https://p.example/n/3"]) == {
            "https://p.example/n/1"}
        assert await Processor(settings, {}).purge_expired() == 2
        assert await ReceivedActivity.all().count() == 0
        assert await DeletedObject.all().values_list("object_uri", flat=True) == ["https://p.example/n/2"]


async def test_expired_claim_is_taken_over(database_url, make_settings):
    """A claim past its expiry (left by a process that died mid-listener) is taken over by the
    next delivery of that activity, with the new expiry; an unexpired one is not."""
    async with open_database(database_url):
        now = datetime.now(UTC)
        uri = "https://p.example/a/2"
        assert await claim_activity(uri, "https://p.example/a", "Create", now - timedelta(minutes=10),
                                    now - timedelta(minutes=5))
        assert await claim_activity(uri, "https://p.example/a", "Update", now, now + timedelta(minutes=5))
        assert not await claim_activity(uri, "https://p.example/a", "Create", now, now + timedelta(minutes=5))
        row = await ReceivedActivity.get(activity_uri=uri)
        assert row.type == "Update" and row.expires_at > now
        assert await ReceivedActivity.all().count() == 1


async def test_activity_whose_handler_died_is_processed_on_the_retry(bridge, peer, alice):
    """A reply claimed by a process that then died is refused as a duplicate while the claim's
    processing lease runs, then processed by the peer's later retry; once processed, its claim
    lasts the de-duplication retention."""
    await bridge.article()
    activity = create(alice, note(alice))
    dead_at = datetime.now(UTC) - PROCESSING_LEASE / 2
    assert await claim_activity(activity["id"], alice.uri, "Create", dead_at, dead_at + PROCESSING_LEASE)
    assert (await (await bridge.post(activity, alice)).json())["status"] == "duplicate"
    assert await Reply.all().count() == 0

    await ReceivedActivity.filter(activity_uri=activity["id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))  # the lease ran out
    assert (await (await bridge.post(activity, alice)).json())["status"] == "processed"
    assert await Reply.all().count() == 1
    claim = await ReceivedActivity.get(activity_uri=activity["id"])
    assert claim.expires_at > datetime.now(UTC) + timedelta(days=1)
    assert (await (await bridge.post(activity, alice)).json())["status"] == "duplicate"
