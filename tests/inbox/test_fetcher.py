"""Checklist items 9, 22, 25, 26: what the inbox would fetch is refused on private ranges."""

from __future__ import annotations

import pytest

from federation.db.content import OutboxActivity
from federation.db.delivery import DeliveryJob, DeliveryState
from federation.db.moderation import Reply
from federation.db.social import Follower

from .conftest import Bridge, create, note, nothing_stored, stored


@pytest.fixture
async def strict_bridge(database_url, make_settings, aiohttp_client) -> Bridge:
    """The bridge with the default policy: loopback is not reachable."""
    from federation.app import create_app

    app = create_app(make_settings(database_url))
    return Bridge(await aiohttp_client(app), app)


async def test_key_on_loopback_is_not_fetched_by_default(strict_bridge, peer, alice):
    """(9) A keyId on 127.0.0.1 is never fetched unless loopback is explicitly allowed."""
    response = await strict_bridge.post(create(alice, note(alice)), alice)
    assert response.status == 401
    assert peer.gets == []
    assert await nothing_stored()


@pytest.mark.parametrize("key_id", [
    "http://169.254.169.254/latest/meta-data#main-key",
    "file:///etc/passwd#main-key",
    "data:application/activity+json,{}#main-key",
    "http://10.0.0.1/users/alice#main-key",
    "http://192.168.1.1/users/alice#main-key",
    "http://100.64.0.1/users/alice#main-key",
    "http://0.0.0.0/users/alice#main-key",
    "http://[::1]/users/alice#main-key",
    "http://[fc00::1]/users/alice#main-key",
    "http://[fe80::1]/users/alice#main-key",
    "http://[::ffff:10.0.0.1]/users/alice#main-key",
    "http://[64:ff9b::a00:1]/users/alice#main-key",
])
async def test_key_on_private_or_reserved_address_is_refused(bridge, peer, alice, key_id):
    """(9, 22) keyIds on metadata, file:, data:, private and reserved ranges are refused (401)."""
    actor = type(alice)(key_id.split("#")[0] if key_id.startswith("http") else alice.uri, alice.key)
    response = await bridge.post(create(actor, note(actor)) | {"id": actor.uri + "/a"}, actor,
                                 key_id=key_id)
    assert response.status == 401
    assert await nothing_stored()


async def test_object_fetch_on_private_address_is_refused(bridge, peer, alice):
    """(22) An Announce naming an object on a private address: not fetched, nothing stored."""
    await bridge.article()
    announce = {"id": f"{alice.uri}/statuses/9/activity", "type": "Announce", "actor": alice.uri,
                "object": "http://10.0.0.1/notes/1"}
    assert (await bridge.post(announce, alice)).status == 202
    assert await Reply.all().count() == 0 and (await stored())["Job"] == 0


async def test_follower_with_private_inbox_gets_no_delivery(bridge, peer, peer_keys):
    """(25) A follower whose inbox is on a private address is accepted but never delivered to."""
    from federation.delivery.worker import DeliveryWorker
    from federation.web.state import CLIENT, SETTINGS

    mallory = peer.actor("mallory", peer_keys[1], inbox="http://10.0.0.5/inbox", endpoints={})
    follow = {"id": f"{mallory.uri}#follows/1", "type": "Follow", "actor": mallory.uri,
              "object": "https://bridge.example/actors/halte-au-controle-numerique"}
    assert (await bridge.post(follow, mallory)).status == 202
    assert await Follower.all().count() == 1
    worker = DeliveryWorker(bridge.app[SETTINGS], bridge.directory, bridge.app[CLIENT], random=lambda: 0.0)
    for _ in range(3):
        await worker.run_once()
    assert await OutboxActivity.filter(type="Accept").count() == 1  # the Accept was queued…
    jobs = await DeliveryJob.all()
    assert jobs and all(job.state in (DeliveryState.FAILED, DeliveryState.ABANDONED) for job in jobs)
    assert peer.received == []  # …and never delivered


async def test_unknown_context_is_never_fetched(bridge, peer, alice):
    """(26) An unknown @context URL in an activity is never fetched."""
    await bridge.article()
    activity = create(alice, note(alice))
    activity["@context"] = ["https://www.w3.org/ns/activitystreams", f"{peer.base}/context.jsonld"]
    assert (await bridge.post(activity, alice)).status == 202
    assert await Reply.all().count() == 1
    assert peer.count("/context") == 0


async def test_fetches_per_activity_are_bounded(database_url, make_settings, aiohttp_client,
                                                make_peer, peer, alice, peer_keys):
    """(10) With a budget of one fetch, the key uses it: the announced note is never fetched."""
    from federation.app import create_app

    other = await make_peer()
    carol = other.actor("carol", peer_keys[1])
    other.serve("/users/carol/statuses/1", note(carol))
    settings = make_settings(database_url, allow_loopback_fetch=True,
                             inbox={"max_fetches_per_activity": 1})
    app = create_app(settings)
    bounded = Bridge(await aiohttp_client(app), app)
    await bounded.article()
    announce = {"id": f"{alice.uri}/statuses/9/activity", "type": "Announce", "actor": alice.uri,
                "object": f"{other.base}/users/carol/statuses/1"}
    assert (await bounded.post(announce, alice)).status == 202
    assert other.gets == []
    assert await Reply.all().count() == 0 and (await stored())["Job"] == 0


@pytest.fixture
async def budgeted_bridge(database_url, make_settings, aiohttp_client) -> Bridge:
    """The bridge with a small key fetch budget: 4 per host, 6 in total, per 5 minutes."""
    from federation.app import create_app

    settings = make_settings(database_url, allow_loopback_fetch=True,
                             inbox={"key_fetches_per_host": 4, "key_fetches_total": 6,
                                    "key_fetch_window_seconds": 300})
    app = create_app(settings)
    return Bridge(await aiohttp_client(app), app)


async def test_distinct_key_ids_on_one_host_cost_its_budget_then_429(budgeted_bridge, peer, alice):
    """(39) Twenty requests with twenty made-up key ids on one host: four GETs, then 429 with
    Retry-After; nothing stored. Made-up fragments on a real actor cost one GET in all."""
    statuses = []
    for number in range(20):
        response = await budgeted_bridge.post(create(alice, note(alice, number), number), alice,
                                              key_id=f"{peer.base}/users/ghost-{number}#main-key")
        statuses.append(response.status)
        if response.status == 429:
            assert 1 <= int(response.headers["Retry-After"]) <= 300
    assert statuses == [401] * 4 + [429] * 16
    assert len(peer.gets) == 4
    assert await nothing_stored()


async def test_made_up_fragments_on_an_actor_cost_one_fetch(budgeted_bridge, peer, alice):
    """(39) Twenty made-up key ids on one actor: its document is fetched once, all are 401, and
    its real key then verifies without another fetch."""
    await budgeted_bridge.article()
    for number in range(20):
        response = await budgeted_bridge.post(create(alice, note(alice, number), number), alice,
                                              key_id=f"{alice.uri}#key-{number}")
        assert response.status == 401
    assert peer.gets == ["/users/alice"] and await nothing_stored()
    assert (await budgeted_bridge.post(create(alice, note(alice, 99), 99), alice)).status == 202
    assert peer.gets == ["/users/alice"]


async def test_key_ids_aimed_at_a_third_host_cost_its_budget(budgeted_bridge, make_peer, peer,
                                                             alice):
    """(39) Key ids pointing at a third party's server: at most its budget of GETs reach it."""
    third = await make_peer()
    for number in range(20):
        response = await budgeted_bridge.post(create(alice, note(alice, number), number), alice,
                                              key_id=f"{third.base}/victims/{number}#main-key")
        assert response.status in (401, 429)
    assert len(third.gets) == 4
    assert await nothing_stored()
