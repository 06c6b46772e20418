"""Remote keys: owned by the actor that lists them, cached, refetched within a budget."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from federation.errors import SignatureError
from federation.remote.keys import KeyResolver
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
