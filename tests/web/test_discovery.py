"""WebFinger, host-meta and NodeInfo as fediverse servers query them."""

from __future__ import annotations

from urllib.parse import quote

import pytest

ACCT = "acct:halteaucontrolenumerique@bridge.example"


async def test_webfinger_acct_resolves_collective(client):
    """An acct: resource answers the actor link, aliases, profile page and CORS."""
    response = await client.get("/.well-known/webfinger", params={"resource": ACCT})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/jrd+json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document = await response.json(content_type=None)
    assert document["subject"] == ACCT
    actor_uri = "https://bridge.example/actors/halte-au-controle-numerique"
    assert actor_uri in document["aliases"]
    links = {link["rel"]: link for link in document["links"]}
    assert links["self"] == {"rel": "self", "type": "application/activity+json", "href": actor_uri}
    assert links["http://webfinger.net/rel/profile-page"]["href"] == (
        "https://site.example/halte-au-controle-numerique")
    template = links["http://ostatus.org/schema/1.0/subscribe"]["template"]
    assert "{uri}" in template
    # the template leads somewhere: our own ids to their page, anything else to an explanation
    ours = template.replace("{uri}", quote(actor_uri, safe="")).removeprefix("https://bridge.example")
    response = await client.get(ours, allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, actor_uri)
    for uri in ("https://evil.example/phish", "", "javascript:alert(1)", "http://[::1"):
        other = template.replace("{uri}", quote(uri, safe="")).removeprefix("https://bridge.example")
        response = await client.get(other, allow_redirects=False)
        assert response.status == 404 and "Location" not in response.headers
        assert "follow its collectives from your own instance" in await response.text()


@pytest.mark.parametrize("resource", [
    "acct:HalteAuControleNumerique@BRIDGE.example",
    "acct:halteaucontrolenumerique@bridge.example:443",  # https's port is no part of the host
    "acct:halteaucontrolenumerique@bridge.example".replace("@", "%40"),
    "https://bridge.example/actors/halte-au-controle-numerique",
    "halteaucontrolenumerique@bridge.example",
])
async def test_webfinger_accepts_case_and_forms(client, resource):
    """Host and username are case-insensitive; the actor URL works as resource."""
    response = await client.get("/.well-known/webfinger", params={"resource": resource})
    assert response.status == 200, await response.text()
    assert (await response.json(content_type=None))["subject"] == ACCT


@pytest.mark.parametrize("resource", ["", "acct:", "acct:nobody", "acct:@bridge.example",
                                      "mailto:x@y", "acct:a@b@c", "x" * 600, "http://[",
                                      "https://[::1/users/a", "https://bridge.example:99999/a",
                                      "https://bridge.example/actors/\r\nsite"])
async def test_webfinger_malformed_resource_is_400(client, resource):
    """A malformed resource (an unclosed IPv6 bracket made urlsplit raise: a 500) is a 400
    with a JSON message."""
    response = await client.get("/.well-known/webfinger", params={"resource": resource})
    assert response.status == 400
    assert "error" in await response.json()


async def test_webfinger_missing_resource_is_400(client):
    response = await client.get("/.well-known/webfinger")
    assert response.status == 400


@pytest.mark.parametrize("resource", ["acct:nobody@bridge.example",
                                      "acct:halteaucontrolenumerique@other.example",
                                      "https://bridge.example/actors/nobody"])
async def test_webfinger_unknown_is_404(client, resource):
    response = await client.get("/.well-known/webfinger", params={"resource": resource})
    assert response.status == 404


async def test_host_meta_xrd_and_json(client):
    """host-meta points at the WebFinger template, in XRD and in JSON."""
    xrd = await client.get("/.well-known/host-meta")
    assert xrd.status == 200
    assert xrd.headers["Content-Type"].startswith("application/xrd+xml")
    assert 'template="https://bridge.example/.well-known/webfinger?resource={uri}"' in (
        await xrd.text())
    as_json = await client.get("/.well-known/host-meta.json")
    assert (await as_json.json())["links"][0]["template"].endswith("resource={uri}")


async def test_nodeinfo_discovery_and_documents(client):
    """/.well-known/nodeinfo links 2.0 and 2.1 and the application actor; usage is real."""
    links = (await (await client.get("/.well-known/nodeinfo")).json())["links"]
    rels = {link["rel"]: link["href"] for link in links}
    assert rels["https://www.w3.org/ns/activitystreams#Application"] == (  # FEP-2677
        "https://bridge.example/actor")
    for version in ("2.0", "2.1"):
        href = rels[f"http://nodeinfo.diaspora.software/ns/schema/{version}"]
        response = await client.get(href.removeprefix("https://bridge.example"))
        assert response.status == 200
        document = await response.json(content_type=None)
        assert document["version"] == version
        assert document["protocols"] == ["activitypub"]
        assert document["usage"]["users"]["total"] == 3
        assert document["openRegistrations"] is False
    assert (await client.get("/nodeinfo/9.9")).status == 404


@pytest.mark.parametrize("resource", ["acct:nobody@bridge.example", "mailto:x@y"])
async def test_webfinger_errors_carry_cors_and_json(client, resource):
    """Browser-based clients can read WebFinger errors too (CORS on 400 and 404)."""
    response = await client.get("/.well-known/webfinger", params={"resource": resource})
    assert response.status in (400, 404)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Content-Type"].startswith("application/json")


async def test_webfinger_with_actor_page_url_resolves(client):
    """The collective's page URL (an alias) is accepted as resource."""
    response = await client.get("/.well-known/webfinger", params={
        "resource": "https://site.example/halte-au-controle-numerique"})
    assert response.status == 200
    assert (await response.json(content_type=None))["subject"] == ACCT


async def test_webfinger_for_the_site_actor(client):
    response = await client.get("/.well-known/webfinger",
                                params={"resource": "acct:lenumerozero@bridge.example"})
    document = await response.json(content_type=None)
    assert document["links"][0]["href"] == "https://bridge.example/actors/site"


@pytest.mark.parametrize("version", ["2.0", "2.1"])
async def test_nodeinfo_content_type_names_its_schema(client, version):
    """NodeInfo documents are application/json with the schema as profile, parseable as such."""
    response = await client.get(f"/nodeinfo/{version}")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert response.charset == "utf-8"
    content_type = response.headers["Content-Type"]
    assert (f'profile="http://nodeinfo.diaspora.software/ns/schema/{version}#"'
            in content_type), content_type
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document = await response.json()
    assert set(document) >= {"version", "software", "protocols", "services",
                             "openRegistrations", "usage", "metadata"}
    assert document["software"]["name"] == "federation"
    assert document["software"]["version"]


async def test_host_meta_negotiates_with_vary(client):
    """host-meta answers XRD or JSON by Accept, and says so in Vary."""
    as_json = await client.get("/.well-known/host-meta", headers={"Accept": "application/json"})
    assert as_json.headers["Content-Type"].startswith("application/json")
    assert "Accept" in as_json.headers["Vary"]
    xrd = await client.get("/.well-known/host-meta")
    assert xrd.headers["Content-Type"].startswith("application/xrd+xml")
    assert "Accept" in xrd.headers["Vary"]


@pytest.mark.parametrize(("base_url", "host"), [
    ("https://bridge.example:443", "bridge.example"),  # the default port is no part of it
    ("https://bridge.example:9210", "bridge.example:9210"),
    ("http://127.0.0.1:80", "127.0.0.1"),
    ("http://[::1]:8080", "[::1]:8080"),
])
def test_our_handles_host_keeps_only_a_non_default_port(make_settings, base_url, host):
    """Our own handles (``federation actors``, WebFinger ``subject``) and the Host a signed
    request must name: a non-default port is part of them, the default one is not."""
    settings = make_settings("sqlite://:memory:", base_url=base_url)
    assert settings.host == host
