"""The database-backed remote actor store and key cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from federation.db.lifecycle import open_database
from federation.db.social import RemoteActor
from federation.errors import RemoteBadResponse, RemoteError
from federation.remote.actors import DatabaseKeyCache, RemoteActorStore, actor_fields
from federation.remote.keys import RemoteKey
from federation.signing.keys import generate_rsa_key, public_key_to_pem

from .conftest import FakeClock
from .test_keys import Peer


@pytest.fixture
async def db(database_url):
    async with open_database(database_url):
        yield


@pytest.fixture(scope="module")
def key():
    return generate_rsa_key()


@pytest.fixture
async def peer(serve):
    peer = Peer()
    peer.base = await serve(peer.routes())
    return peer


def store_for(client, clock=None):
    return RemoteActorStore(client, local_origin="https://bridge.example", clock=clock or FakeClock())


async def test_fetch_upserts_the_actor(db, peer, make_client, key):
    """An actor is fetched from its origin and stored with inbox, shared inbox, handle and key."""
    uri = peer.actor("/users/alice", key, preferredUsername="alice", name="Alice",
                     endpoints={"sharedInbox": peer.base + "/inbox"})
    row = await store_for(make_client()).fetch(uri)
    server = peer.base.removeprefix("http://")  # 127.0.0.1:PORT: the port is in the handle
    assert (row.inbox, row.shared_inbox, row.handle) == (uri + "/inbox", peer.base + "/inbox",
                                                        f"@alice@{server}")
    assert row.key_id == uri + "#main-key" and row.public_key_pem == public_key_to_pem(key)
    peer.documents["/users/alice"]["name"] = "Alice B."
    again = await store_for(make_client()).fetch(uri)
    assert again.id == row.id and again.name == "Alice B."
    assert await RemoteActor.all().count() == 1


async def test_ensure_uses_fresh_rows_and_falls_back_to_stale(db, peer, make_client, key):
    """A fresh row is used without fetching; a stale row is refetched, and kept if that fails."""
    uri = peer.actor("/users/alice", key)
    store = store_for(make_client())
    await store.ensure(uri)
    await store.ensure(uri)
    assert peer.hits["/users/alice"] == 1
    await RemoteActor.filter(uri=uri).update(fetched_at=datetime.now(UTC) - timedelta(days=2))
    peer.documents["/users/alice"] = 500
    store = store_for(make_client())  # rows read within a minute come from memory
    row = await store.ensure(uri)
    assert row.uri == uri and peer.hits["/users/alice"] == 2


async def test_failures_are_negatively_cached(db, peer, make_client):
    """A failed fetch is not retried within the negative TTL, then it is."""
    clock = FakeClock()
    store = store_for(make_client(), clock)
    uri = peer.base + "/users/ghost"
    for _ in range(3):
        with pytest.raises(RemoteError):
            await store.fetch(uri)
    assert peer.hits["/users/ghost"] == 1
    clock.advance(301)
    with pytest.raises(RemoteError):
        await store.fetch(uri)
    assert peer.hits["/users/ghost"] == 2


def test_actor_fields_refuse_non_actors_and_strip_markup(key):
    """Documents without an inbox or of a non-actor type are refused; names become plain text."""
    base = {"id": "https://peer.example/users/a", "type": "Person", "inbox": "https://peer.example/inbox"}
    with pytest.raises(RemoteBadResponse):
        actor_fields({**base, "type": "Note"})
    with pytest.raises(RemoteBadResponse):
        actor_fields({**base, "inbox": "javascript:alert(1)"})
    fields = actor_fields({**base, "name": "<script>x</script><b>Ann</b>\u202e", "url": "file:///x"})
    assert fields["name"] == "Ann" and fields["url"] is None


def test_actor_fields_fit_their_columns(key):
    """Values a row could not hold are left out or refused: a key id over 2,048 characters is
    not kept (the usable key is), a host name over 255 characters is no actor of ours."""
    uri = "https://peer.example/users/a"
    pem = public_key_to_pem(key)
    fields = actor_fields({
        "id": uri, "type": "Person", "inbox": uri + "/inbox",
        "publicKey": [{"id": uri + "#" + "k" * 3000, "owner": uri, "publicKeyPem": pem},
                      {"id": uri + "#main-key", "owner": uri, "publicKeyPem": pem}]})
    assert fields["key_id"] == uri + "#main-key"
    long_host = ".".join(["a" * 60] * 5) + ".example"
    with pytest.raises(RemoteBadResponse):
        actor_fields({"id": f"https://{long_host}/u", "type": "Person",
                      "inbox": f"https://{long_host}/inbox"})


async def test_remembered_document_is_stored_only_when_adopted(db, make_client, key):
    """A document fetched for a key is kept in memory until the request is verified."""
    store = store_for(make_client())
    document = {"id": "https://peer.example/users/a", "type": "Person",
                "inbox": "https://peer.example/users/a/inbox"}
    await store.remember(document)
    assert await RemoteActor.all().count() == 0
    row = await store.adopt(document["id"])
    assert row is not None and row.inbox == document["inbox"]
    assert await store.adopt(document["id"]) is None


async def test_key_cache_reads_rows_and_expires(db, key):
    """Keys are written to the owner's row, read back after a restart, and expire with the row."""
    now = datetime.now(UTC)
    await RemoteActor.create(uri="https://peer.example/users/a", domain="peer.example",
                             inbox="https://peer.example/inbox", fetched_at=now)
    key_id = "https://peer.example/users/a#main-key"
    await DatabaseKeyCache().put(RemoteKey(key_id, "https://peer.example/users/a", key.public_key()))
    restarted = DatabaseKeyCache()
    cached = await restarted.get(key_id)
    assert cached is not None and cached.owner_uri == "https://peer.example/users/a"
    assert await restarted.known_owner(key_id)
    await RemoteActor.all().update(fetched_at=now - timedelta(days=2))
    assert await DatabaseKeyCache().get(key_id) is None
    assert await DatabaseKeyCache().get("https://peer.example/users/b#main-key") is None


def test_actor_row_keeps_no_key_of_another_origin(key):
    """An actor document listing first a key id on another origin stores its own key, never that one."""
    uri = "https://attacker.example/users/m"
    pem = public_key_to_pem(key)
    fields = actor_fields({
        "id": uri, "type": "Person", "inbox": uri + "/inbox",
        "publicKey": [{"id": "https://victim.example/users/v#main-key", "owner": uri, "publicKeyPem": pem},
                      {"id": uri + "#main-key", "owner": uri, "publicKeyPem": pem}]})
    assert fields["key_id"] == uri + "#main-key"


async def test_key_cache_never_files_a_key_under_another_origin(db, key):
    """put() of a key id on another origin than its owner writes nothing; a row poisoned that way
    before (an older release) is not read as the victim's key, nor counted as knowing it."""
    now = datetime.now(UTC)
    attacker, victim_key_id = "https://attacker.example/users/m", "https://victim.example/users/v#main-key"
    await RemoteActor.create(uri=attacker, domain="attacker.example",
                             inbox="https://attacker.example/inbox", fetched_at=now)
    cache = DatabaseKeyCache()
    await cache.put(RemoteKey(victim_key_id, attacker, key.public_key()))
    assert (await RemoteActor.get(uri=attacker)).key_id is None
    assert await cache.get(victim_key_id) is None
    await RemoteActor.filter(uri=attacker).update(key_id=victim_key_id,
                                                  public_key_pem=public_key_to_pem(key))
    restarted = DatabaseKeyCache()
    assert await restarted.get(victim_key_id) is None
    assert not await restarted.known_owner(victim_key_id)

async def test_an_actor_is_the_document_whose_id_it_is(db, peer, serve, make_client, key):
    """(36) ``ensure``/``fetch`` of an actor URL that redirects to another actor is refused and
    stores nothing; ``lookup`` (an address an administrator typed) follows it to the final actor."""
    from aiohttp import web

    eve = peer.actor("/users/eve", key)
    routes = web.RouteTableDef()

    @routes.get("/users/victim")
    async def moved(request):
        raise web.HTTPFound(eve)

    victim = await serve(routes) + "/users/victim"
    with pytest.raises(RemoteBadResponse):
        await store_for(make_client()).ensure(victim)
    with pytest.raises(RemoteBadResponse):
        await store_for(make_client()).fetch(victim)
    assert await RemoteActor.all().count() == 0
    row = await store_for(make_client()).lookup(victim)
    assert row.uri == eve and peer.hits["/users/eve"] == 3
