"""Group commit: requests arriving together store their activities with one INSERT and record
their results with one UPDATE (federation/db/batch.py), over real HTTP on loopback and a real
database. Each request is still answered 202 only once its activity is committed; a duplicate
in the same group is stored once; a group the database fails answers each of its requests with
an error and stores nothing of it; one refused item does not fail the others."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import OperationalError

from federation.db.batch import GroupCommit
from federation.db.jobs import Job, JobState
from federation.db.lifecycle import open_database
from federation.db.moderation import Interaction
from federation.jobs import store
from federation.jobs.graph import ONE_SHOT
from federation.jobs.kinds import INBOX_ACTIVITY
from federation.jobs.store import NewClaimed
from federation.web.state import INBOX

from .conftest import BRIDGE, Bridge, PeerActor


def like(actor: PeerActor, number: int, *, uri: str | None = None) -> dict[str, Any]:
    """A Like of our article ``number`` (an actor's like of an article counts once)."""
    return {"id": uri or f"{actor.uri}#likes/{number}", "type": "Like", "actor": actor.uri,
            "object": f"{BRIDGE}/objects/article/{number}"}


async def articles(bridge: Bridge, count: int = 101) -> None:
    for number in range(count):
        await bridge.article(f"{BRIDGE}/objects/article/{number}")


async def held_first_group(bridge: Bridge, monkeypatch: Any) -> tuple[asyncio.Event, list[int]]:
    """Make the first group's INSERT wait for the returned event (the real statement runs
    then), so the requests sent meanwhile queue up for the next group; the list collects each
    group's size."""
    release, sizes = asyncio.Event(), []
    real = store.insert_claimed_many

    async def gated(jobs: Any, now: datetime, lease: timedelta) -> Any:
        sizes.append(len(jobs))
        if len(sizes) == 1:
            await release.wait()
        return await real(jobs, now, lease)

    monkeypatch.setattr(store, "insert_claimed_many", gated)
    return release, sizes


async def until_queued(group: GroupCommit[Any, Any], count: int) -> None:
    for _ in range(500):
        if group.queued >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{group.queued} requests queued, {count} expected")


async def test_requests_arriving_together_share_one_insert_and_duplicates_are_stored_once(
        bridge, peer, alice, peer_keys, monkeypatch):
    """Ten likes (and a repeat of one of them) sent while a write runs go in one INSERT; each is
    answered 202 after it; the repeat is a duplicate, stored once; results are recorded by one
    UPDATE per group; every like is counted once."""
    await articles(bridge)
    bob = peer.actor("bob", peer_keys[1])
    processor = bridge.app[INBOX].processor
    assert (await bridge.post(like(bob, 100), bob)).status == 202  # bob's key is known
    release, sizes = await held_first_group(bridge, monkeypatch)
    first = asyncio.create_task(bridge.post(like(alice, 0), alice))
    for _ in range(500):  # the first request is in its INSERT (held)
        if sizes:
            break
        await asyncio.sleep(0.01)
    burst = [like(alice if n % 2 else bob, n) for n in range(1, 11)]
    sent = [asyncio.create_task(bridge.post(activity, alice if n % 2 else bob))
            for n, activity in enumerate(burst, 1)]
    sent.append(asyncio.create_task(bridge.post(burst[0], alice)))  # the same Like again
    await until_queued(processor.arrivals, 11)
    assert not any(task.done() for task in [first, *sent])  # nothing answered before its commit
    release.set()
    answers = [await task for task in [first, *sent]]
    assert [answer.status for answer in answers] == [202] * 12
    statuses = sorted([(await answer.json())["status"] for answer in answers])
    assert statuses == ["duplicate"] + ["processed"] * 11
    assert sizes == [1, 11]  # the burst went in one INSERT
    assert processor.arrivals.groups == 3 and processor.arrivals.items == 13
    assert processor.results.items == 12 and processor.results.groups < 12
    assert await Interaction.all().count() == 12
    assert await Job.filter(kind=INBOX_ACTIVITY.name, state=JobState.DONE).count() == 12
    repeat = await bridge.post(burst[3], bob)  # later: still a duplicate
    assert (await repeat.json())["status"] == "duplicate"


async def test_a_failed_group_answers_each_request_with_503_and_stores_nothing(
        bridge, peer, alice, monkeypatch):
    """The database fails the group's INSERT: every request of the group is answered 503 with
    Retry-After, nothing of the group is stored, and the senders' retries are stored."""
    await articles(bridge)
    processor = bridge.app[INBOX].processor
    assert (await bridge.post(like(alice, 100), alice)).status == 202  # alice's key is known
    real = store.insert_claimed_many
    calls: list[int] = []

    async def failing_once(jobs: Any, now: datetime, lease: timedelta) -> Any:
        calls.append(len(jobs))
        if len(calls) == 1:
            await until_queued(processor.arrivals, 4)  # the others join the next group
        if len(calls) == 2:
            raise OperationalError("database is locked") from sqlite3.OperationalError(
                "database is locked")
        return await real(jobs, now, lease)

    monkeypatch.setattr(store, "insert_claimed_many", failing_once)
    likes = [like(alice, n) for n in range(5)]
    answers = await asyncio.gather(*(bridge.post(activity, alice) for activity in likes))
    assert calls[:2] == [1, 4]
    assert sorted(answer.status for answer in answers) == [202] + [503] * 4
    assert all(answer.headers["Retry-After"] for answer in answers if answer.status == 503)
    assert await Job.filter(kind=INBOX_ACTIVITY.name).count() == 2
    assert await Interaction.all().count() == 2
    retries = await asyncio.gather(*(bridge.post(activity, alice) for activity in likes))
    assert sorted([(await answer.json())["status"] for answer in retries]) == \
        ["duplicate"] + ["processed"] * 4
    assert await Interaction.all().count() == 6


async def test_an_item_that_cannot_be_stored_does_not_fail_its_group(bridge, peer, alice,
                                                                     monkeypatch):
    """A group whose INSERT is refused because of one item (not a database fault: here an
    activity id longer than the jobs table's ``ref`` column) is written again one by one: that
    request alone is answered 400 (as before group commit), the others are stored, 202."""
    await articles(bridge)
    processor = bridge.app[INBOX].processor
    release, sizes = await held_first_group(bridge, monkeypatch)
    first = asyncio.create_task(bridge.post(like(alice, 0), alice))
    for _ in range(500):
        if sizes:
            break
        await asyncio.sleep(0.01)
    long_id = f"{alice.uri}#likes/{'x' * 300}"
    others = [asyncio.create_task(bridge.post(like(alice, n), alice)) for n in range(1, 4)]
    long = asyncio.create_task(bridge.post(like(alice, 9, uri=long_id), alice))
    await until_queued(processor.arrivals, 4)
    release.set()
    answers = [await task for task in [first, *others]]
    assert [answer.status for answer in answers] == [202] * 4
    assert await Interaction.filter(activity_uri__not=long_id).count() == 4
    assert (await long).status == 400
    assert sizes[1:] == [4, 1, 1, 1, 1]  # the group, then each of its items alone
    assert await Job.filter(kind=INBOX_ACTIVITY.name).count() == 4  # none for the long id


async def test_insert_claimed_many_and_finish_many(database_url):
    """One INSERT for several claimed jobs (an existing ref and a repeated one are None); one
    UPDATE records several results, only where we still hold the lease."""
    async with open_database(database_url):
        now = datetime.now(UTC)
        lease = timedelta(minutes=5)
        assert await store.insert_claimed("k", "a", "t/0", now, lease) is not None
        jobs = await store.insert_claimed_many(
            [NewClaimed("k", "a", "t/1"), NewClaimed("k", "b", "t/2", key="h", payload={"x": 1}),
             NewClaimed("k", "b", "t/3"), NewClaimed("k", "c", "t/4")], now, lease)
        assert [job is None for job in jobs] == [True, False, True, False]
        b, c = jobs[1], jobs[3]
        assert b is not None and c is not None
        row = await Job.get(id=b.id)
        assert (row.state, row.attempts, row.lease_owner, row.key, row.payload) == (
            JobState.RUNNING, 1, "t/2", "h", {"x": 1})
        await Job.filter(id=c.id).update(lease_owner="another/1")  # its lease expired, retaken
        assert await store.finish_many([b, c], ONE_SHOT, now, payload={"processed": True}) == [
            True, False]
        row = await Job.get(id=b.id)
        assert (row.state, row.lease_owner, row.payload) == (
            JobState.DONE, None, {"processed": True})
        assert row.finished_at is not None
        assert (await Job.get(id=c.id)).state == JobState.RUNNING


async def test_group_commit_without_load_writes_each_item_at_once():
    """A lone caller's item is written at once, alone (no timer); a group is capped."""
    written: list[list[int]] = []

    async def write(items: list[int]) -> list[int]:
        written.append(items)
        await asyncio.sleep(0)
        return [item * 2 for item in items]

    group: GroupCommit[int, int] = GroupCommit(write, max_items=3)
    assert await group.submit(1) == 2
    assert await asyncio.gather(*(group.submit(n) for n in range(5))) == [0, 2, 4, 6, 8]
    assert written == [[1], [0, 1, 2], [3, 4]]
