"""Our actor document read by code that is not ours: pyld (bundled contexts only) and bovine."""

from __future__ import annotations

import base64
import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from pyld import jsonld as pyld_jsonld

from federation.protocol import jsonld
from federation.protocol.actors import (
    ACTOR_CONTEXT,
    ActorView,
    InstanceActorView,
    ProfileFieldView,
    build_actor,
    build_instance_actor,
)
from federation.protocol.collections import PageRequest, build_collection, build_page
from federation.protocol.paths import LocalURIs
from federation.signing.keys import (
    ed25519_public_multibase,
    generate_ed25519_key,
    public_key_to_pem,
)
from tests.verifiers import run_verifier

AS = "https://www.w3.org/ns/activitystreams#"
SEC = "https://w3id.org/security#"
TOOT = "http://joinmastodon.org/ns#"
URIS = LocalURIs("https://bridge.example")
ACTOR_URI = "https://bridge.example/actors/halte-au-controle-numerique"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test: contexts are never fetched."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def keys(_rsa_key_pool: list[Any]) -> dict[str, Any]:
    return {"rsa": _rsa_key_pool[0], "ed25519": generate_ed25519_key()}


@pytest.fixture
def actor_document(keys: dict[str, Any]) -> dict[str, Any]:
    view = ActorView(
        identifier="halte-au-controle-numerique", username="halteaucontrolenumerique",
        type="Group", name="Halte au contrôle numérique", summary_html="<p>Collectif</p>",
        url="https://site.example/halte", icon_url="https://site.example/logo.png",
        header_url="https://site.example/banner.jpg",
        fields=(ProfileFieldView("Site", "https://site.example/halte"),),
        manually_approves_followers=False, discoverable=True, indexable=True,
        published_at=datetime(2019, 5, 1, tzinfo=UTC),
        rsa_public_pem=public_key_to_pem(keys["rsa"]),
        ed25519_multibase=ed25519_public_multibase(keys["ed25519"]),
        site_domains=("site.example",),
    )
    return build_actor(view, URIS)


class RecordingLoader:
    """Our bundled-contexts loader, recording every URL it is asked for."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        self.urls.append(url)
        return jsonld.document_loader(url, options)


def _values(node: dict[str, Any], term: str) -> list[Any]:
    return [v.get("@id", v.get("@value")) for v in node.get(term, [])]


def test_actor_expands_with_bundled_contexts_only(actor_document):
    """pyld expands every field to its IRI; every context came from the bundle."""
    loader = RecordingLoader()
    [node] = jsonld.expand(actor_document, loader)
    assert loader.urls, "the loader was not used"
    for url in loader.urls:
        jsonld.bundled_context(url)  # raises if it were not bundled

    assert node["@id"] == ACTOR_URI
    assert node["@type"] == [f"{AS}Group"]
    for term in ("inbox", "outbox", "followers", "following"):
        assert _values(node, f"http://www.w3.org/ns/ldp#{term}" if term == "inbox"
                       else f"{AS}{term}") == [f"{ACTOR_URI}/{term}"]
    assert _values(node, f"{TOOT}featured") == [f"{ACTOR_URI}/featured"]
    assert _values(node, f"{AS}preferredUsername") == ["halteaucontrolenumerique"]
    assert _values(node, f"{AS}manuallyApprovesFollowers") == [False]
    assert _values(node, f"{TOOT}discoverable") == [True]
    assert _values(node, f"{TOOT}indexable") == [True]
    assert _values(node, f"{TOOT}attributionDomains") == ["site.example"]
    [endpoints] = node[f"{AS}endpoints"]
    assert _values(endpoints, f"{AS}sharedInbox") == ["https://bridge.example/inbox"]

    [key] = node[f"{SEC}publicKey"]
    assert key["@id"] == f"{ACTOR_URI}#main-key"
    assert _values(key, f"{SEC}owner") == [ACTOR_URI]
    assert _values(key, f"{SEC}publicKeyPem")[0].startswith("-----BEGIN PUBLIC KEY-----")

    [method] = node[f"{SEC}assertionMethod"]
    assert method["@type"] == [f"{SEC}Multikey"]
    assert _values(method, f"{SEC}controller") == [ACTOR_URI]
    assert [v["@value"] for v in method[f"{SEC}publicKeyMultibase"]] == [
        actor_document["assertionMethod"][0]["publicKeyMultibase"]]

    [field] = node[f"{AS}attachment"]
    assert field["@type"] == ["http://schema.org#PropertyValue"]
    assert 'rel="me' in _values(field, "http://schema.org#value")[0]


def test_every_context_we_use_is_bundled():
    """Each context URL our documents name is bundled, and itself expands without fetching."""
    named = [c for c in ACTOR_CONTEXT if isinstance(c, str)]
    named += [jsonld.AS2_CONTEXT, jsonld.SECURITY_CONTEXT, jsonld.MULTIKEY_CONTEXT,
              jsonld.GOTOSOCIAL_CONTEXT]
    named += [build_collection("https://bridge.example/c", 0)["@context"]]
    for url in named:
        assert jsonld.bundled_context(url)["@context"]
    for url in jsonld.known_contexts():
        loader = RecordingLoader()
        jsonld.expand({"@context": url, "@id": "https://x.example/1"}, loader)


@pytest.mark.parametrize("url", ["https://evil.example/context.jsonld",
                                 "http://127.0.0.1/ctx", "file:///etc/passwd",
                                 "https://www.w3.org/ns/activitystreams-evil"])
def test_unknown_contexts_are_refused_without_fetching(url):
    with pytest.raises(pyld_jsonld.JsonLdError):
        jsonld.document_loader(url)
    with pytest.raises(jsonld.UnknownContext):
        jsonld.bundled_context(url)
    with pytest.raises(jsonld.BadRequest, match="cannot expand"):
        jsonld.expand({"@context": [jsonld.AS2_CONTEXT, url], "type": "Note"})


def test_context_aliases_resolve_to_the_bundle():
    """http:// and .jsonld spellings used by some servers map to the same bundled document."""
    for alias in ("http://www.w3.org/ns/activitystreams",
                  "https://www.w3.org/ns/activitystreams.jsonld",
                  "http://w3id.org/security/v1"):
        assert jsonld.bundled_context(alias)


def test_collections_expand(actor_document):
    """Empty collections and pages are valid AS2: they expand with their type and count."""
    uri = f"{ACTOR_URI}/outbox"
    collection = build_collection(uri, 0)
    page = build_page(uri, PageRequest(page=1), 0, [])
    [node] = jsonld.expand(collection)
    assert node["@type"] == [f"{AS}OrderedCollection"]
    assert node[f"{AS}totalItems"][0]["@value"] == 0
    [page_node] = jsonld.expand(page)
    assert page_node["@type"] == [f"{AS}OrderedCollectionPage"]
    assert _values(page_node, f"{AS}partOf") == [uri]


def test_bovine_reads_our_keys(actor_document, keys, tmp_path):
    """bovine's actor parser (in its own environment: it caps cryptography and pyld) finds our
    RSA publicKey and Ed25519 Multikey and verifies signatures made with our private keys,
    attributing them to the actor; a tampered message verifies as nobody."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    message = b"(request-target): get /actors/site"
    answer = run_verifier("bovine_actor.py", {
        "actor": {k: v for k, v in actor_document.items() if k != "@context"},  # bovine's own
        "key_ids": {"rsa": f"{ACTOR_URI}#main-key", "ed25519": f"{ACTOR_URI}#ed25519-key"},
        "message": base64.b64encode(message).decode(),
        "tampered": base64.b64encode(b"tampered").decode(),
        "signatures": {
            "rsa": base64.b64encode(keys["rsa"].sign(message, padding.PKCS1v15(),
                                                     hashes.SHA256())).decode(),
            "ed25519": base64.b64encode(keys["ed25519"].sign(message)).decode(),
        },
    }, cwd=tmp_path)
    assert answer["id"] == ACTOR_URI
    assert answer["acct"] == "acct:halteaucontrolenumerique@bridge.example"
    assert answer["rsa_pem"] == public_key_to_pem(keys["rsa"])
    assert "assertionMethod" in answer["ed25519_relationships"]
    assert answer["verified"] == {"rsa": ACTOR_URI, "ed25519": ACTOR_URI}
    assert answer["verified_tampered"] == {"rsa": None, "ed25519": None}


def test_instance_actor_expands_as_an_application_with_its_key(keys):
    """The instance actor (/actor) expands, bundled contexts only, to an Application whose
    key is its own and whose shared inbox is the site's (relays recognise the site by it)."""
    view = InstanceActorView(username="bridge.example", name="Le site",
                             url="https://site.example/", published_at=datetime(2019, 5, 1, tzinfo=UTC),
                             rsa_public_pem=public_key_to_pem(keys["rsa"]))
    [node] = pyld_jsonld.expand(build_instance_actor(view, URIS),
                                {"documentLoader": RecordingLoader()})
    assert node["@id"] == "https://bridge.example/actor"
    assert node["@type"] == [f"{AS}Application"]
    [key] = node[f"{SEC}publicKey"]
    assert key["@id"] == "https://bridge.example/actor#main-key"
    assert _values(key, f"{SEC}owner") == ["https://bridge.example/actor"]
    [endpoints] = node[f"{AS}endpoints"]
    assert _values(endpoints, f"{AS}sharedInbox") == ["https://bridge.example/inbox"]
    assert _values(node, "http://www.w3.org/ns/ldp#inbox") == ["https://bridge.example/actor/inbox"]
