"""Remote keys: owned by the actor that lists them, cached, refetched within a budget."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from federation.errors import SignatureError, TooManyRequests
from federation.remote.budget import FetchLimiter
from federation.remote.keys import KeyResolver, find_listed_key, listed_keys
from federation.signing.keys import (
    ed25519_public_multibase,
    generate_ed25519_key,
    generate_rsa_key,
    public_key_to_pem,
)

from .conftest import FakeClock

AS_JSON = "application/activity+json"


@pytest.fixture(scope="module")
def keys():
    return [generate_rsa_key(), generate_rsa_key()]


class Peer:
    """A loopback peer whose documents tests can change between fetches."""

    def __init__(self) -> None:
        self.base = ""
        self.documents: dict[str, object] = {}
        self.hits: dict[str, int] = {}

    def routes(self) -> web.RouteTableDef:
        routes = web.RouteTableDef()

        @routes.get("/{path:.*}")
        async def handler(request):
            path = "/" + request.match_info["path"]
            self.hits[path] = self.hits.get(path, 0) + 1
            document = self.documents.get(path)
            if document is None:
                return web.Response(status=404)
            if isinstance(document, int):
                return web.Response(status=document)
            return web.Response(text=json.dumps(document), headers={"Content-Type": AS_JSON})

        return routes

    def actor(self, path, key, **extra):
        actor_id = self.base + path
        self.documents[path] = {
            "id": actor_id, "type": "Person", "inbox": actor_id + "/inbox",
            "publicKey": {"id": actor_id + "#main-key", "owner": actor_id, "publicKeyPem": public_key_to_pem(key)},
            **extra,
        }
        return actor_id


@pytest.fixture
async def peer(serve):
    peer = Peer()
    peer.base = await serve(peer.routes())
    return peer


async def test_actor_key_resolves_with_owner(peer, make_client, keys):
    """A keyId with a fragment resolves from the actor's publicKey, owned by that actor."""
    actor_id = peer.actor("/alice", keys[0])
    key = await KeyResolver(make_client()).resolve(actor_id + "#main-key")
    assert key.owner_uri == actor_id
    assert key.public_key.public_numbers() == keys[0].public_key().public_numbers()


async def test_public_key_list_and_multikey_are_searched(peer, make_client, keys):
    """publicKey lists and FEP-521a assertionMethod Multikeys are both found."""
    ed = generate_ed25519_key()
    actor_id = peer.actor("/bob", keys[0])
    document = peer.documents["/bob"]
    document["publicKey"] = [{"id": actor_id + "#other", "owner": actor_id, "publicKeyPem": public_key_to_pem(keys[1])},
                             document["publicKey"]]
    document["assertionMethod"] = [{"id": actor_id + "#ed25519-key", "type": "Multikey", "controller": actor_id,
                                    "publicKeyMultibase": ed25519_public_multibase(ed)}]
    resolver = KeyResolver(make_client())
    assert (await resolver.resolve(actor_id + "#main-key")).public_key.public_numbers() == keys[0].public_key().public_numbers()
    assert (await resolver.resolve(actor_id + "#ed25519-key")).public_key == ed.public_key()


async def test_separate_key_document_listed_by_owner_resolves(peer, make_client, keys):
    """A key document whose owner actor lists the key id resolves to that owner."""
    actor_id = peer.actor("/carol", keys[0])
    key_id = peer.base + "/carol/main-key"
    peer.documents["/carol"]["publicKey"]["id"] = key_id
    peer.documents["/carol/main-key"] = {"id": key_id, "type": "CryptographicKey", "owner": actor_id,
                                         "publicKeyPem": public_key_to_pem(keys[0])}
    key = await KeyResolver(make_client()).resolve(key_id)
    assert key.owner_uri == actor_id


async def test_key_document_not_listed_by_claimed_owner_is_not_owned(peer, make_client, keys):
    """Principle 2: a key document's owner claim is not enough; the owner must list the key."""
    victim = peer.actor("/victim", keys[0])
    key_id = peer.base + "/attacker-key"
    peer.documents["/attacker-key"] = {"id": key_id, "type": "CryptographicKey", "owner": victim,
                                       "publicKeyPem": public_key_to_pem(keys[1])}
    with pytest.raises(SignatureError) as info:
        await KeyResolver(make_client()).resolve(key_id)
    assert info.value.reason == "key_not_owned"


async def test_actor_listing_a_key_owned_by_someone_else_is_not_owned(peer, make_client, keys):
    """A publicKey whose owner is another actor does not belong to the actor listing it."""
    actor_id = peer.actor("/dave", keys[0])
    peer.documents["/dave"]["publicKey"]["owner"] = peer.base + "/someone-else"
    with pytest.raises(SignatureError) as info:
        await KeyResolver(make_client()).resolve(actor_id + "#main-key")
    assert info.value.reason == "key_not_owned"


async def test_actor_without_the_key_is_not_owned(peer, make_client, keys):
    """A keyId whose fragment names no key of the actor is refused."""
    actor_id = peer.actor("/erin", keys[0])
    with pytest.raises(SignatureError) as info:
        await KeyResolver(make_client()).resolve(actor_id + "#unknown")
    assert info.value.reason == "key_not_owned"


async def test_cached_key_is_not_refetched_until_ttl(peer, make_client, keys):
    """A resolved key is served from the cache until its TTL expires."""
    actor_id = peer.actor("/frank", keys[0])
    clock = FakeClock()
    resolver = KeyResolver(make_client(), ttl=60, negative_ttl=10, clock=clock)
    await resolver.resolve(actor_id + "#main-key")
    await resolver.resolve(actor_id + "#main-key")
    assert peer.hits["/frank"] == 1
    clock.advance(61)
    await resolver.resolve(actor_id + "#main-key")
    assert peer.hits["/frank"] == 2


async def test_rotated_key_refetched_once_then_budget_holds(peer, make_client, keys):
    """Checklist 10: after rotation one refetch gets the new key; further refreshes fetch nothing."""
    actor_id = peer.actor("/gina", keys[0])
    clock = FakeClock()
    resolver = KeyResolver(make_client(), negative_ttl=300, clock=clock)
    old = await resolver.resolve(actor_id + "#main-key")
    peer.actor("/gina", keys[1])
    new = await resolver.resolve(actor_id + "#main-key", refresh=True)
    assert new.public_key.public_numbers() != old.public_key.public_numbers()
    again = await resolver.resolve(actor_id + "#main-key", refresh=True)
    assert again == new and peer.hits["/gina"] == 2
    clock.advance(301)
    await resolver.resolve(actor_id + "#main-key", refresh=True)
    assert peer.hits["/gina"] == 3


async def test_failed_fetch_is_negatively_cached(peer, make_client):
    """A failing key fetch is not retried within negative_ttl."""
    peer.documents["/down"] = 500
    clock = FakeClock()
    resolver = KeyResolver(make_client(), negative_ttl=30, clock=clock)
    for _ in range(3):
        with pytest.raises(SignatureError) as info:
            await resolver.resolve(peer.base + "/down#main-key")
        assert info.value.reason == "key_unavailable"
    assert peer.hits["/down"] == 1
    clock.advance(31)
    with pytest.raises(SignatureError):
        await resolver.resolve(peer.base + "/down#main-key")
    assert peer.hits["/down"] == 2


@pytest.mark.parametrize(
    "key_id",
    ["http://127.0.0.1:{port}/actor#main-key", "http://169.254.169.254/latest#k", "file:///etc/passwd#k",
     "data:application/activity+json,{{}}#k", "http://10.0.0.1/actor#main-key"],
)
async def test_key_ids_on_private_addresses_are_never_fetched(peer, make_client, keys, key_id):
    """Checklist 9: keyIds pointing at loopback, metadata, file: or data: are never fetched."""
    peer.actor("/actor", keys[0])
    port = peer.base.rsplit(":", 1)[1]
    resolver = KeyResolver(make_client(allow_loopback=False, total_timeout=1.0))
    with pytest.raises(SignatureError) as info:
        await resolver.resolve(key_id.format(port=port))
    assert info.value.reason == "key_unavailable"
    assert peer.hits == {}


async def test_sibling_keys_of_an_actor_are_cached_together(peer, make_client, keys):
    """Resolving one key of an actor caches its other keys: the Ed25519 key costs no fetch."""
    ed = generate_ed25519_key()
    actor_id = peer.actor("/hana", keys[0])
    peer.documents["/hana"]["assertionMethod"] = {"id": actor_id + "#ed", "type": "Multikey",
                                                  "controller": actor_id,
                                                  "publicKeyMultibase": ed25519_public_multibase(ed)}
    resolver = KeyResolver(make_client())
    await resolver.resolve(actor_id + "#main-key")
    assert (await resolver.resolve(actor_id + "#ed")).public_key == ed.public_key()
    assert peer.hits["/hana"] == 1


async def test_failed_key_id_does_not_block_another_key_of_the_actor(peer, make_client, keys):
    """A made-up key id on an actor (VICTIM#nope) fails alone: the actor's real key still resolves."""
    actor_id = peer.actor("/victim", keys[0])
    clock = FakeClock()
    resolver = KeyResolver(make_client(), negative_ttl=300, clock=clock)
    for _ in range(3):
        with pytest.raises(SignatureError) as info:
            await resolver.resolve(actor_id + "#nope")
        assert info.value.reason in {"key_not_owned", "key_unavailable"}
    key = await resolver.resolve(actor_id + "#main-key")
    assert key.owner_uri == actor_id
    assert peer.hits["/victim"] == 1  # #nope once (then negatively cached); #main-key came with it
    clock.advance(10)
    resolver = KeyResolver(make_client(), negative_ttl=300, clock=clock)  # nothing cached
    with pytest.raises(SignatureError):
        await resolver.resolve(actor_id + "#nope")
    await resolver._cache.forget(actor_id + "#main-key")
    assert (await resolver.resolve(actor_id + "#main-key")).owner_uri == actor_id


async def test_failed_key_id_is_negatively_cached_alone(peer, make_client, keys):
    """The negative cache is per key id: #nope is not fetched again, and the refetch budget of
    the real key is untouched (a rotation is still picked up)."""
    actor_id = peer.actor("/victim", keys[0])
    clock = FakeClock()
    resolver = KeyResolver(make_client(), negative_ttl=300, clock=clock)
    old = await resolver.resolve(actor_id + "#main-key")
    for _ in range(5):
        with pytest.raises(SignatureError):
            await resolver.resolve(actor_id + "#nope")
    peer.actor("/victim", keys[1])
    new = await resolver.resolve(actor_id + "#main-key", refresh=True)
    assert new.public_key.public_numbers() != old.public_key.public_numbers()
    assert peer.hits["/victim"] == 2  # #nope was refused from what the first fetch listed


async def test_key_listed_on_another_origin_is_never_cached(serve, make_client, keys):
    """An attacker's actor listing a key id on the victim's origin does not replace the victim's key."""
    victim_peer, attacker_peer = Peer(), Peer()
    victim_peer.base = await serve(victim_peer.routes())
    attacker_peer.base = await serve(attacker_peer.routes())
    victim = victim_peer.actor("/victim", keys[0])
    attacker = attacker_peer.actor("/mallory", keys[1])
    forged = {"id": victim + "#main-key", "owner": attacker, "publicKeyPem": public_key_to_pem(keys[1])}
    attacker_peer.documents["/mallory"]["publicKey"] = [attacker_peer.documents["/mallory"]["publicKey"], forged]
    resolver = KeyResolver(make_client())
    assert (await resolver.resolve(attacker + "#main-key")).owner_uri == attacker
    key = await resolver.resolve(victim + "#main-key")
    assert key.owner_uri == victim
    assert key.public_key.public_numbers() == keys[0].public_key().public_numbers()
    assert victim_peer.hits["/victim"] == 1


def test_a_key_listed_under_an_id_on_another_origin_is_not_the_actors(keys):
    """An actor lists keys of its own origin only: a listed id on another origin is nobody's key."""
    pem = public_key_to_pem(keys[0])
    actor = {"id": "https://a.example/users/u", "type": "Person", "inbox": "https://a.example/inbox",
             "publicKey": [{"id": "https://b.example/users/v#main-key", "owner": "https://a.example/users/u",
                            "publicKeyPem": pem},
                           {"id": "https://a.example/users/u#main-key", "publicKeyPem": pem}]}
    assert find_listed_key(actor, "https://b.example/users/v#main-key") is None
    assert list(listed_keys(actor)) == ["https://a.example/users/u#main-key"]


@pytest.fixture
def named_hosts(peer):
    """Three host names on the loopback peer: what a stranger can point key ids at."""
    from .conftest import StaticResolver

    port = peer.base.rsplit(":", 1)[1]
    resolver = StaticResolver({name: "127.0.0.1" for name in ("a.test", "b.test", "c.test")})
    return resolver, {name: f"http://{name}:{port}" for name in resolver.table}


async def test_key_fetches_are_budgeted_per_host_then_429(peer, make_client, named_hosts):
    """Distinct key ids on one host cost at most the host's budget of GETs; past it TooManyRequests
    (Retry-After), never a negative-cache entry; other hosts keep their own budget."""
    resolver_table, hosts = named_hosts
    clock = FakeClock()
    limiter = FetchLimiter(per_host=3, total=100, window=60, clock=clock)
    resolver = KeyResolver(make_client(resolver=resolver_table), limiter=limiter, clock=clock)
    refused = 0
    for number in range(10):
        try:
            await resolver.resolve(f"{hosts['a.test']}/keys/{number}")
        except TooManyRequests as error:
            refused += 1
            assert 0 < error.retry_after <= 60
        except SignatureError:
            pass
    assert sum(peer.hits.values()) == 3 and refused == 7
    with pytest.raises(SignatureError):  # b.test has its own budget
        await resolver.resolve(f"{hosts['b.test']}/other-keys/0")
    assert sum(peer.hits.values()) == 4
    clock.advance(20)  # one token back for a.test: the refused key id was not negatively cached
    with pytest.raises(SignatureError):
        await resolver.resolve(f"{hosts['a.test']}/keys/9")
    assert peer.hits["/keys/9"] == 1 and sum(peer.hits.values()) == 5


async def test_key_fetches_are_budgeted_in_total(peer, make_client, named_hosts):
    """All hosts together cost at most the total budget of GETs."""
    resolver_table, hosts = named_hosts
    limiter = FetchLimiter(per_host=3, total=5, window=60, clock=FakeClock())
    resolver = KeyResolver(make_client(resolver=resolver_table), limiter=limiter)
    refused = 0
    for name in hosts:
        for number in range(3):
            try:
                await resolver.resolve(f"{hosts[name]}/{name}/keys/{number}")
            except TooManyRequests:
                refused += 1
            except SignatureError:
                pass
    assert sum(peer.hits.values()) == 5 and refused == 4


def gotosocial(peer, name, key, *, listed_key_id=None):
    """A GoToSocial account: its actor at /users/NAME and, at its key id /users/NAME/main-key,
    the minimal stub GoToSocial serves there (AccountToASMinimal: id = the actor, no inbox)."""
    actor_id = f"{peer.base}/users/{name}"
    key_id = actor_id + "/main-key"
    pem = public_key_to_pem(key)
    peer.documents[f"/users/{name}"] = {
        "@context": ["https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"],
        "followers": actor_id + "/followers", "following": actor_id + "/following",
        "id": actor_id, "inbox": actor_id + "/inbox", "manuallyApprovesFollowers": False,
        "outbox": actor_id + "/outbox", "preferredUsername": name,
        "publicKey": {"id": listed_key_id or key_id, "owner": actor_id, "publicKeyPem": pem},
        "type": "Person", "url": f"{peer.base}/@{name}"}
    peer.documents[f"/users/{name}/main-key"] = {
        "@context": ["https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"],
        "id": actor_id, "preferredUsername": name,
        "publicKey": {"id": key_id, "owner": actor_id, "publicKeyPem": pem},
        "type": "Person"}
    return actor_id, key_id


async def test_gotosocial_key_stub_resolves_through_its_owner(peer, make_client, keys):
    """Issue 15: the stub at GoToSocial's key id names the owner; the owner's actor lists the key."""
    actor_id, key_id = gotosocial(peer, "x", keys[0])
    key = await KeyResolver(make_client()).resolve(key_id)
    assert key.key_id == key_id and key.owner_uri == actor_id
    assert key.public_key.public_numbers() == keys[0].public_key().public_numbers()
    assert peer.hits == {"/users/x/main-key": 1, "/users/x": 1}


async def test_key_stub_proves_nothing_by_itself(peer, make_client, keys):
    """The stub's own key is never used: the key is the one the owner's actor document lists."""
    actor_id, key_id = gotosocial(peer, "x", keys[0])
    peer.documents["/users/x/main-key"]["publicKey"]["publicKeyPem"] = public_key_to_pem(keys[1])
    key = await KeyResolver(make_client()).resolve(key_id)
    assert key.public_key.public_numbers() == keys[0].public_key().public_numbers()


async def test_key_stub_whose_owner_does_not_list_the_key_is_not_owned(peer, make_client, keys):
    """A stub naming an owner whose actor document lists another key id: not owned."""
    actor_id, key_id = gotosocial(peer, "x", keys[0], listed_key_id=None)
    peer.documents["/users/x"]["publicKey"]["id"] = actor_id + "#main-key"
    with pytest.raises(SignatureError) as info:
        await KeyResolver(make_client()).resolve(key_id)
    assert info.value.reason == "key_not_owned"


async def test_key_stub_naming_an_owner_on_another_origin_is_refused(peer, serve, make_client, keys):
    """A stub whose owner is on another origin (even one listing the key id) is refused, and that
    origin is never fetched."""
    other = Peer()
    other.base = await serve(other.routes())
    victim = other.actor("/victim", keys[0])
    key_id = peer.base + "/users/x/main-key"
    other.documents["/victim"]["publicKey"]["id"] = key_id
    peer.documents["/users/x/main-key"] = {"id": victim, "type": "Person",
                                           "publicKey": {"id": key_id, "owner": victim,
                                                         "publicKeyPem": public_key_to_pem(keys[0])}}
    with pytest.raises(SignatureError) as info:
        await KeyResolver(make_client()).resolve(key_id)
    assert info.value.reason == "key_not_owned"
    assert other.hits == {}


async def test_document_with_another_id_and_not_listing_the_key_is_refused(peer, make_client, keys):
    """A document at the key id whose id is something else and which lists no such key: refused
    without any further fetch."""
    actor_id, key_id = gotosocial(peer, "x", keys[0])
    peer.documents["/users/x/main-key"]["publicKey"]["id"] = actor_id + "/other-key"
    with pytest.raises(SignatureError) as info:
        await KeyResolver(make_client()).resolve(key_id)
    assert info.value.reason == "key_unavailable"
    assert peer.hits == {"/users/x/main-key": 1}


async def test_made_up_fragments_on_a_fetched_actor_cost_no_more_fetches(peer, make_client, keys):
    """Once an actor document was fetched, other key ids on it that it does not list are refused
    without fetching it again (for negative_ttl), and its listed keys still resolve."""
    actor_id = peer.actor("/victim", keys[0])
    clock = FakeClock()
    resolver = KeyResolver(make_client(), negative_ttl=300, clock=clock)
    for number in range(20):
        with pytest.raises(SignatureError) as info:
            await resolver.resolve(f"{actor_id}#made-up-{number}")
        assert info.value.reason == "key_not_owned"
    assert peer.hits["/victim"] == 1
    assert (await resolver.resolve(actor_id + "#main-key")).owner_uri == actor_id
    assert peer.hits["/victim"] == 1  # cached as a sibling of the first fetch
    clock.advance(301)
    with pytest.raises(SignatureError):
        await resolver.resolve(f"{actor_id}#made-up-99")
    assert peer.hits["/victim"] == 2

async def test_budgets_and_failures_are_remembered_for_a_bounded_number_of_documents(peer, make_client):
    """Many failing key documents within the negative TTL: the oldest are forgotten first, the
    memory stays bounded, and the most recent failures still spare their hosts a refetch."""
    clock = FakeClock()
    resolver = KeyResolver(make_client(), negative_ttl=300, clock=clock, max_documents=3)
    for number in range(6):
        peer.documents[f"/down{number}"] = 500
        with pytest.raises(SignatureError):
            await resolver.resolve(f"{peer.base}/down{number}#main-key")
        assert resolver.tracked_documents <= 3
    with pytest.raises(SignatureError):
        await resolver.resolve(f"{peer.base}/down5#main-key")
    assert peer.hits["/down5"] == 1  # still negatively cached
    with pytest.raises(SignatureError):
        await resolver.resolve(f"{peer.base}/down0#main-key")
    assert peer.hits["/down0"] == 2  # forgotten: fetched again
