"""Actor documents as Mastodon, GoToSocial and Fedify read them (activitypub-shapes.md)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from federation.signing.keys import load_ed25519_multibase, load_public_key_pem

AS_JSON = {"Accept": "application/activity+json"}
BASE = "https://bridge.example"
COLLECTIVE = f"{BASE}/actors/halte-au-controle-numerique"
SITE = f"{BASE}/actors/site"


async def fetch_actor(client: Any, identifier: str) -> dict[str, Any]:
    response = await client.get(f"/actors/{identifier}", headers=AS_JSON)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "application/activity+json; charset=utf-8"
    return await response.json(content_type=None)


async def test_collective_document_has_every_expected_field(client):
    """The collective carries every field of the reference shape, with the right values."""
    doc = await fetch_actor(client, "halte-au-controle-numerique")
    context = doc["@context"]
    assert context[:3] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
                           "https://w3id.org/security/multikey/v1"]
    assert doc["id"] == COLLECTIVE
    assert doc["type"] == "Group"
    assert doc["preferredUsername"] == "halteaucontrolenumerique"
    assert doc["name"] == "Halte au contrôle numérique"
    assert doc["summary"] == "<p>Collectif stéphanois contre la numérisation-surveillance.</p>"
    assert doc["url"] == "https://site.example/halte-au-controle-numerique"
    for name in ("inbox", "outbox", "followers", "following", "featured"):
        assert doc[name] == f"{COLLECTIVE}/{name}"
    assert doc["endpoints"] == {"sharedInbox": f"{BASE}/inbox"}
    assert doc["manuallyApprovesFollowers"] is False
    assert doc["discoverable"] is True and doc["indexable"] is True
    assert doc["attributionDomains"] == ["site.example"]  # the host of the site's pages, not the bridge
    assert doc["published"] == "2019-05-01T00:00:00Z"
    assert doc["icon"] == {"type": "Image", "mediaType": "image/png",
                           "url": "https://site.example/IMG/logo.png"}
    assert doc["image"] == {"type": "Image", "mediaType": "image/jpeg",
                            "url": "https://site.example/IMG/banner.jpg"}
    [field] = doc["attachment"]
    assert field["type"] == "PropertyValue" and field["name"] == "Site"
    assert field["value"].startswith('<a href="https://site.example/halte" rel="me')
    assert field["value"].endswith(">site.example/halte</a>")

    key = doc["publicKey"]
    assert key["id"] == f"{COLLECTIVE}#main-key" and key["owner"] == COLLECTIVE
    assert key["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----\n")
    rsa_key = load_public_key_pem(key["publicKeyPem"])
    assert isinstance(rsa_key, rsa.RSAPublicKey) and rsa_key.key_size == 2048

    [multikey] = doc["assertionMethod"]
    assert multikey["type"] == "Multikey"
    assert multikey["id"] == f"{COLLECTIVE}#ed25519-key"
    assert multikey["controller"] == COLLECTIVE
    assert multikey["publicKeyMultibase"].startswith("z6Mk")  # ed25519-pub multicodec
    assert isinstance(load_ed25519_multibase(multikey["publicKeyMultibase"]),
                      ed25519.Ed25519PublicKey)


async def test_collective_options_reach_the_document(client):
    """manually_approves_followers and a missing page/icon are reflected, nothing invented."""
    doc = await fetch_actor(client, "changer-de-cap")
    assert doc["manuallyApprovesFollowers"] is True
    assert "url" not in doc and "icon" not in doc and "image" not in doc
    assert "attachment" not in doc
    assert doc["published"].endswith("Z")


async def test_site_actor_document(client):
    """The site actor is a full actor too, with its own keys and the site's page."""
    doc = await fetch_actor(client, "site")
    assert doc["id"] == SITE and doc["type"] == "Group"
    assert doc["preferredUsername"] == "lenumerozero"
    assert doc["url"] == "https://site.example/"
    assert doc["publicKey"]["id"] == f"{SITE}#main-key"
    assert doc["assertionMethod"][0]["controller"] == SITE
    for name in ("inbox", "outbox", "followers", "following", "featured"):
        assert doc[name] == f"{SITE}/{name}"
    collective = await fetch_actor(client, "halte-au-controle-numerique")
    assert doc["publicKey"]["publicKeyPem"] != collective["publicKey"]["publicKeyPem"]
    assert (doc["assertionMethod"][0]["publicKeyMultibase"]
            != collective["assertionMethod"][0]["publicKeyMultibase"])


async def test_actor_keys_are_stable_across_restarts(settings, aiohttp_client):
    """Keys are generated once: a second start of the app serves the same keys."""
    from federation.app import create_app

    first = await aiohttp_client(create_app(settings))
    before = await fetch_actor(first, "site")
    await first.close()
    second = await aiohttp_client(create_app(settings))
    after = await fetch_actor(second, "site")
    assert before["publicKey"] == after["publicKey"]
    assert before["assertionMethod"] == after["assertionMethod"]
