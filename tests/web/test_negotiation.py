"""Content negotiation on every ActivityPub URL: JSON for AP clients, a redirect for browsers."""

from __future__ import annotations

ACTOR = "/actors/halte-au-controle-numerique"
AP_PATHS = [ACTOR, f"{ACTOR}/outbox", f"{ACTOR}/followers", f"{ACTOR}/following",
            f"{ACTOR}/featured", "/actors/site", "/actors/site/outbox"]
AP_ACCEPTS = [
    "application/activity+json",
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    "application/ld+json",
    "application/activity+json, application/ld+json; q=0.9, */*; q=0.1",
    "application/json",
    "*/*",
    "",
]
BROWSER_ACCEPTS = [
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "text/html",
    "text/html, application/activity+json;q=0.5",
]


async def test_activitypub_clients_get_json_with_vary(client):
    """Both AS media types (and machines naming no HTML) get JSON, always with Vary: Accept."""
    for path in AP_PATHS:
        for accept in AP_ACCEPTS:
            response = await client.get(path, headers={"Accept": accept}, allow_redirects=False)
            assert response.status == 200, (path, accept, await response.text())
            assert response.headers["Content-Type"].startswith("application/activity+json")
            assert "Accept" in response.headers["Vary"]
            document = await response.json(content_type=None)
            assert document["id"] == f"https://bridge.example{path}"


async def test_browsers_are_sent_to_the_collective_page(client):
    """A browser is redirected (303) to the actor's page on the site, with Vary: Accept."""
    for path in AP_PATHS:
        expected = ("https://site.example/" if path.startswith("/actors/site")
                    else "https://site.example/halte-au-controle-numerique")
        for accept in BROWSER_ACCEPTS:
            response = await client.get(path, headers={"Accept": accept}, allow_redirects=False)
            assert response.status == 303, (path, accept)
            assert "Accept" in response.headers["Vary"]
            assert response.headers["Location"] == expected


async def test_actor_without_page_sends_browsers_to_the_home_page(client):
    response = await client.get("/actors/changer-de-cap", headers={"Accept": "text/html"},
                                allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "https://site.example/"


async def test_empty_collections_and_their_pages_are_valid(client):
    """An empty collection has totalItems 0 and a first page that is a valid empty page."""
    for name in ("outbox", "followers", "following", "featured"):
        await _check_empty_collection(client, name)


async def _check_empty_collection(client, name):
    uri = f"https://bridge.example{ACTOR}/{name}"
    headers = {"Accept": "application/activity+json"}
    collection = await (await client.get(f"{ACTOR}/{name}", headers=headers)).json(
        content_type=None)
    assert collection["type"] == "OrderedCollection"
    assert collection["id"] == uri
    assert collection["totalItems"] == 0
    if "first" not in collection:  # a short collection listing its items inline (featured)
        assert collection.get("orderedItems", []) == []
        return
    first = collection["first"]
    first_url = first["id"] if isinstance(first, dict) else first
    assert first_url.startswith(uri)
    response = await client.get(first_url.removeprefix("https://bridge.example"), headers=headers)
    assert response.status == 200
    assert "Accept" in response.headers["Vary"]
    page = await response.json(content_type=None)
    assert page["type"] == "OrderedCollectionPage"
    assert page["partOf"] == uri
    assert page.get("orderedItems", []) == []
    assert "next" not in page


async def test_unknown_actor_is_404_with_vary(client):
    """An unknown actor is a 404: JSON for AP clients, text for browsers; Vary either way."""
    for accept in ("application/activity+json", "text/html"):
        response = await client.get("/actors/nobody", headers={"Accept": accept})
        assert response.status == 404
        assert "Accept" in response.headers["Vary"]
        if accept == "text/html":
            assert response.headers["Content-Type"].startswith("text/plain")
        else:
            assert response.headers["Content-Type"].startswith("application/json")
            assert "error" in await response.json()
    for name in ("outbox", "followers", "following", "featured"):
        response = await client.get(f"/actors/nobody/{name}",
                                    headers={"Accept": "application/activity+json"})
        assert response.status == 404
        assert "Accept" in response.headers["Vary"]
