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
from federation.inbox.processor import Processor, add_tombstone


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
