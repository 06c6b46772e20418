"""Floods are bounded: what one remote host makes us store per hour, answered 429 beyond."""

from __future__ import annotations

from typing import Any

import pytest

from federation.db.content import OutboxActivity
from federation.db.jobs import Job
from federation.db.moderation import Interaction, Reply, Report
from federation.db.social import Follower, RemoteActor
from federation.jobs.kinds import INBOX_ACTIVITY
from federation.web.state import INBOX

from .conftest import ARTICLE, HALTE, Bridge, create, note, stored
from .test_follows import deliver_all, follow, trust_bridge


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(database_url, make_settings, aiohttp_client):
    """A bridge built with ``[inbox.limits]`` overrides, its limits on a hand-moved clock."""

    async def build(**limits: int) -> tuple[Bridge, Clock]:
        from federation.app import create_app

        # one key id per actor, all on one host: the key-fetch budget must not be what refuses
        settings = make_settings(database_url, allow_loopback_fetch=True,
                                 server={"run_worker": False},
                                 inbox={"limits": limits, "key_fetches_per_host": 10_000,
                                        "key_fetches_total": 10_000})
        app = create_app(settings)
        client = await aiohttp_client(app)
        clock = Clock()
        app[INBOX].limits.clock = clock
        return Bridge(client, app), clock

    return build


def actors(peer, key, count: int) -> list[Any]:
    """``count`` actors of one remote host (one key pair, a key id each)."""
    return [peer.actor(f"user{number}", key) for number in range(count)]


async def test_follow_flood_from_one_host_is_bounded(limited, peer, peer_keys):
    """60 Follows from 60 actors of one host, 20 allowed an hour: 20 followers and 20 Accepts
    delivered; the other 40 are answered 429 with Retry-After and leave no row at all."""
    bridge, _ = await limited(follows_per_hour=20)
    trust_bridge(bridge, peer)
    answers = [await bridge.post(follow(actor), actor) for actor in actors(peer, peer_keys[0], 60)]
    assert [a.status for a in answers].count(202) == 20
    refused = [a for a in answers if a.status == 429]
    assert len(refused) == 40
    assert all(int(a.headers["Retry-After"]) == 180 for a in refused)  # one follow per 3 minutes
    counts = await stored()
    assert counts["Follower"] == counts["RemoteActor"] == counts["Job"] == 20
    assert counts["OutboxActivity"] == 20  # the Accepts queued
    await deliver_all(bridge)
    accepts = [a for a in peer.received if a["type"] == "Accept"]
    assert len(accepts) == 20 and peer.refused == []
    followers = set(await Follower.all().values_list("follow_activity_uri", flat=True))
    assert {a["object"]["id"] for a in accepts} == followers


async def test_refused_follow_is_processed_when_retried_after_the_delay(limited, peer, peer_keys):
    """A refused Follow is not recorded as received: the same activity retried once the
    Retry-After has passed (by the limits' clock) is processed and accepted."""
    bridge, clock = await limited(follows_per_hour=2)
    first, second, third = actors(peer, peer_keys[0], 3)
    assert (await bridge.post(follow(first), first)).status == 202
    assert (await bridge.post(follow(second), second)).status == 202
    refused = await bridge.post(follow(third), third)
    assert refused.status == 429
    assert not await Job.exists(kind=INBOX_ACTIVITY.name, ref=f"{third.uri}#follows/1")
    assert not await RemoteActor.exists(uri=third.uri)
    clock.now += int(refused.headers["Retry-After"]) - 1
    assert (await bridge.post(follow(third), third)).status == 429
    clock.now += 1
    assert (await bridge.post(follow(third), third)).status == 202
    assert await Follower.filter(remote__uri=third.uri).exists()
    assert await OutboxActivity.all().count() == 3


async def test_each_host_has_its_own_budget(limited, peer, make_peer, peer_keys):
    """A host over its limit does not spend another's: the other host's Follow is accepted."""
    bridge, _ = await limited(follows_per_hour=1)
    other = await make_peer()
    other.base = other.base.replace("127.0.0.1", "localhost")  # another host name
    first, second = actors(peer, peer_keys[0], 2)
    stranger = other.actor("carol", peer_keys[1])
    assert (await bridge.post(follow(first), first)).status == 202
    assert (await bridge.post(follow(second), second)).status == 429
    assert (await bridge.post(follow(stranger), stranger)).status == 202


async def test_reply_flood_is_bounded_and_unrelated_notes_spend_nothing(limited, peer, peer_keys):
    """Notes unrelated to us are not counted (nothing is stored for them); replies beyond the
    hourly limit are answered 429 and not queued."""
    bridge, _ = await limited(replies_per_hour=3)
    await bridge.article()
    writers = actors(peer, peer_keys[0], 8)
    for number, writer in enumerate(writers[:4]):
        unrelated = note(writer, number, inReplyTo=None)
        assert (await bridge.post(create(writer, unrelated, number), writer)).status == 202
    statuses = [(await bridge.post(create(writer, note(writer)), writer)).status
                for writer in writers]
    assert statuses == [202] * 3 + [429] * 5
    assert await Reply.all().count() == 3
    assert await RemoteActor.all().count() == 3
    assert await Job.filter(kind=INBOX_ACTIVITY.name).count() == 3


async def test_likes_and_reports_beyond_their_limits_are_429(limited, peer, peer_keys):
    """Likes of our article and Flags are bounded per host like follows and replies."""
    bridge, _ = await limited(interactions_per_hour=2, reports_per_hour=1)
    await bridge.article()
    fans = actors(peer, peer_keys[0], 4)
    likes = [(await bridge.post({"id": f"{fan.uri}#likes/1", "type": "Like", "actor": fan.uri,
                                 "object": ARTICLE}, fan)).status for fan in fans]
    assert likes == [202, 202, 429, 429]
    assert await Interaction.all().count() == 2
    flags = [(await bridge.post({"id": f"{fan.uri}#flags/1", "type": "Flag", "actor": fan.uri,
                                 "object": [HALTE], "content": "spam"}, fan)).status
             for fan in fans[:2]]
    assert flags == [202, 429]
    assert await Report.all().count() == 1


async def test_default_limits_let_a_busy_instance_through(bridge, peer, peer_keys):
    """With the defaults, 40 follows and 40 replies from one host in a minute are all accepted."""
    await bridge.article()
    crowd = actors(peer, peer_keys[0], 40)
    for person in crowd:
        assert (await bridge.post(follow(person), person)).status == 202
        assert (await bridge.post(create(person, note(person)), person)).status == 202
    assert await Follower.all().count() == 40 and await Reply.all().count() == 40
