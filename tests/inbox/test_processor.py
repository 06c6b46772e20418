"""Claims and tombstones: written by hand-made SQL, read by the ORM alike; they expire."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import OperationalError

from federation.db.inbox import (
    DeletedObject,
    ReceivedActivity,
    claim_activity,
    deleted_among,
    release_claim,
)
from federation.db.jobs import Job, JobState
from federation.db.lifecycle import open_database
from federation.db.moderation import Reply
from federation.inbox import replies
from federation.inbox.ignored import IGNORED_TYPES
from federation.inbox.processor import DONE_PAYLOAD, PROCESSING_LEASE, Processor, add_tombstone
from federation.jobs import store
from federation.jobs.kinds import INBOX_ACTIVITY
from federation.jobs.periodic import purge_jobs
from federation.services import LISTENERS

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


async def test_activity_stored_by_a_process_that_died_is_processed_by_the_engine(bridge, peer, alice):
    """A reply stored by a process that died before its listener finished is a duplicate for
    the peer's retry (202, nothing new) — and is not lost: once the job's lease expires the
    engine processes it, once. (Before, the claim was all that was stored: the retry was told
    "duplicate" and the reply was lost.)"""
    await bridge.article()
    activity = create(alice, note(alice))
    dead_at = datetime.now(UTC) - PROCESSING_LEASE / 2
    stored = await store.insert_claimed(INBOX_ACTIVITY.name, activity["id"], "dead/1", dead_at,
                                        PROCESSING_LEASE, key="127.0.0.1",
                                        payload={"document": activity, "actor": alice.uri})
    assert stored is not None
    answer = await bridge.post(activity, alice)
    assert answer.status == 202 and (await answer.json())["status"] == "duplicate"
    assert await bridge.run_jobs() == 0  # its lease runs: the dead process's, not ours
    assert await Reply.all().count() == 0

    later = datetime.now(UTC) + PROCESSING_LEASE
    assert await bridge.run_jobs(clock=lambda: later) == 1
    assert await Reply.all().count() == 1
    job = await Job.get(id=stored.id)
    assert job.state == JobState.DONE and job.payload == DONE_PAYLOAD  # the document is not kept
    assert (await (await bridge.post(activity, alice)).json())["status"] == "duplicate"
    assert await bridge.run_jobs(clock=lambda: later) == 0
    assert await Reply.all().count() == 1


async def test_database_fault_after_storing_is_503_and_the_activity_is_processed_later(
        bridge, peer, alice, monkeypatch):
    """The database fails between storing the activity and its listener's writes: the answer is
    503 with Retry-After (not 2xx, not 500); the sender's retry is a 202 duplicate; the engine
    processes the stored activity once the lease runs out. Nothing acknowledged is lost."""
    await bridge.article()
    activity = create(alice, note(alice))
    failing = True
    real = replies.on_create

    async def flaky(act):
        if failing:
            raise OperationalError("database is locked") from sqlite3.OperationalError(
                "database is locked")
        return await real(act)

    monkeypatch.setitem(LISTENERS, "Create", flaky)
    answer = await bridge.post(activity, alice)
    assert answer.status == 503 and answer.headers["Retry-After"]
    failing = False
    retry = await bridge.post(activity, alice)
    assert retry.status == 202 and (await retry.json())["status"] == "duplicate"
    assert await Reply.all().count() == 0
    later = datetime.now(UTC) + PROCESSING_LEASE * 2
    assert await bridge.run_jobs(clock=lambda: later) == 1
    assert await Reply.all().count() == 1
    assert await Job.filter(kind=INBOX_ACTIVITY.name, state=JobState.DONE).count() == 1


async def test_refused_and_unrelated_activities_leave_no_job(bridge, peer, alice):
    """A listener's refusal (403) and an activity unrelated to us delete the job they stored:
    nothing of them is kept, and the sender's retry is judged again (403 again)."""
    await bridge.article()
    unrelated = create(alice, note(alice, inReplyTo="https://elsewhere.example/n/1"))
    assert (await (await bridge.post(unrelated, alice)).json())["status"] == "ignored"
    stolen = create(alice, {**note(alice), "id": "https://other.example/n/1"})
    assert (await bridge.post(stolen, alice)).status == 403
    assert (await bridge.post(stolen, alice)).status == 403
    assert await Job.all().count() == 0 and await ReceivedActivity.all().count() == 0


async def test_processed_activities_are_remembered_for_the_dedup_retention(database_url,
                                                                           make_settings):
    """A processed activity's job is its de-duplication: the job table's purge (after
    ``delivery.retention_days``) leaves it, the inbox purge deletes it after
    ``[inbox] dedup_retention_days``."""
    settings = make_settings(database_url)
    async with open_database(database_url):
        now = datetime.now(UTC)
        for ref, days in (("https://p.example/a/old", 15), ("https://p.example/a/recent", 8)):
            job = await store.insert_claimed(INBOX_ACTIVITY.name, ref, "t/1", now, PROCESSING_LEASE)
            assert job is not None
            await Job.filter(id=job.id).update(state=JobState.DONE,
                                               finished_at=now - timedelta(days=days))
        assert await purge_jobs(now, timedelta(days=7),
                                except_kinds=(INBOX_ACTIVITY.name,)) == 0
        assert await Processor(settings, {}).purge_expired(now) == 1
        assert await Job.all().values_list("ref", flat=True) == ["https://p.example/a/recent"]


async def test_ignored_types_are_acknowledged_and_logged_with_their_reason(bridge, peer, alice,
                                                                           caplog):
    """A type we deliberately do nothing with (``Move``) and one nobody listed (``Arrive``) are
    202 "ignored", store nothing, and say so at debug level with their type (and, for a
    listed type, why)."""
    caplog.set_level(logging.DEBUG, logger="federation.inbox.processor")
    for number, kind in enumerate(("Move", "Arrive")):
        activity = {"id": f"{alice.uri}#{kind}-{number}", "type": kind, "actor": alice.uri,
                    "object": alice.uri, "target": f"{alice.uri}-new"}
        answer = await bridge.post(activity, alice)
        assert answer.status == 202 and (await answer.json())["status"] == "ignored"
    logged = [record.getMessage() for record in caplog.records
              if record.name == "federation.inbox.processor"]
    assert any(line.startswith("Move ") and IGNORED_TYPES["Move"] in line for line in logged)
    assert any(line.startswith("Arrive ") and "no listener" in line for line in logged)
    assert await Job.filter(kind=INBOX_ACTIVITY.name).count() == 0
