"""ActivityStreams fetches: media type, id = final URL, own origin refused, JSON budgets."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from federation.errors import RemoteBadResponse, RemoteTooLarge, UnsafeURL
from federation.protocol.uris import origin_of, same_origin
from federation.remote.fetch import AP_ACCEPT, fetch_ap_document, is_activitystreams_media_type

AS_JSON = "application/activity+json"


def document_routes(documents: dict[str, tuple[object, str]]) -> web.RouteTableDef:
    """Serve ``path -> (document or bytes or callable(base), content type)``."""
    routes = web.RouteTableDef()
    for path, (doc, content_type) in documents.items():

        async def handler(request, doc=doc, content_type=content_type):
            base = f"http://{request.host}"
            body = doc(base) if callable(doc) else doc
            if isinstance(body, dict):
                body = json.dumps(body).encode()
            return web.Response(body=body, headers={"Content-Type": content_type})

        routes.get(path)(handler)
    return routes


def actor(path="/actor"):
    return lambda base: {"id": base + path, "type": "Person", "inbox": base + path + "/inbox"}


async def test_activity_json_document_is_fetched(serve, make_client, recorder):
    """A document whose id is the URL fetched, served as activity+json, is returned."""
    base = await serve(document_routes({"/actor": (actor(), AS_JSON)}))
    fetched = await fetch_ap_document(make_client(), base + "/actor#main-key")
    assert fetched.id == fetched.document["id"] == base + "/actor"
    assert recorder.requests[0].headers["Accept"] == AP_ACCEPT
    assert recorder.requests[0].path_qs == "/actor"


async def test_ld_json_with_activitystreams_profile_is_accepted(serve, make_client):
    """application/ld+json with the ActivityStreams profile is accepted."""
    content_type = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"; charset=utf-8'
    base = await serve(document_routes({"/actor": (actor(), content_type)}))
    assert await fetch_ap_document(make_client(), base + "/actor")


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/html", "image/png", "application/ld+json", "text/plain; x=application/activity+json"],
)
async def test_non_activitystreams_media_types_are_refused(serve, make_client, content_type):
    """Checklist 19: application/json, text/html, image/png and bare ld+json are refused."""
    base = await serve(document_routes({"/actor": (actor(), content_type)}))
    with pytest.raises(RemoteBadResponse):
        await fetch_ap_document(make_client(), base + "/actor")


async def test_document_with_another_id_is_refused(serve, make_client):
    """Checklist 18: fetching URL A that returns a document with id B is refused."""
    base = await serve(document_routes({
        "/a": (lambda base: {"id": base + "/b", "type": "Note"}, AS_JSON),
        "/c": (lambda base: {"id": "https://victim.example/c", "type": "Note"}, AS_JSON),
        "/d": ({"type": "Note"}, AS_JSON),
    }))
    client = make_client()
    for path in ("/a", "/c", "/d"):
        with pytest.raises(RemoteBadResponse):
            await fetch_ap_document(client, base + path)


async def test_id_must_equal_the_final_url_after_redirects(serve, make_client):
    """After a redirect the id must equal where the document was finally found."""

    async def moved(request):
        raise web.HTTPMovedPermanently("/new")

    async def old(request):
        raise web.HTTPMovedPermanently("/new-claims-old")

    routes = document_routes({
        "/new": (actor("/new"), AS_JSON),
        "/new-claims-old": (actor("/old"), AS_JSON),
    })
    routes.get("/moved")(moved)
    routes.get("/old")(old)
    base = await serve(routes)
    client = make_client()
    assert (await fetch_ap_document(client, base + "/moved")).id == base + "/new"
    with pytest.raises(RemoteBadResponse):
        await fetch_ap_document(client, base + "/old")


async def test_identity_is_the_final_id_and_exact_refuses_a_redirect(serve, make_client):
    """(36) After a redirect to another server the result's id is where the document was found,
    not the URL asked for; ``exact=True`` refuses a URL that leads to another document."""
    elsewhere = await serve(document_routes({"/note": (lambda base: {"id": base + "/note",
                                                                     "type": "Note"}, AS_JSON)}))
    routes = web.RouteTableDef()

    @routes.get("/note")
    async def moved(request):
        raise web.HTTPFound(elsewhere + "/note")

    here = await serve(routes)
    client = make_client()
    fetched = await fetch_ap_document(client, here + "/note")
    assert fetched.id == elsewhere + "/note" and not same_origin(fetched.id, here)
    with pytest.raises(RemoteBadResponse):
        await fetch_ap_document(client, here + "/note", exact=True)
    assert (await fetch_ap_document(client, elsewhere + "/note#x", exact=True)).id == elsewhere + "/note"


async def test_fetch_on_our_own_origin_is_refused(serve, make_client, recorder):
    """Checklist 21: no fetch goes to our own origin; its documents come from the database."""
    base = await serve(document_routes({"/actor": (actor(), AS_JSON)}))
    with pytest.raises(UnsafeURL):
        await fetch_ap_document(make_client(), base + "/actor", local_origin=base)
    assert recorder.requests == []


async def test_document_claiming_our_origin_is_refused(serve, make_client):
    """Checklist 21: a fetched document claiming an id on our domain is refused."""
    base = await serve(document_routes({"/x": (lambda base: {"id": "https://site.example/x"}, AS_JSON)}))
    with pytest.raises(RemoteBadResponse):
        await fetch_ap_document(make_client(), base + "/x", local_origin="https://site.example")


async def test_error_status_is_a_bad_response_with_status(serve, make_client):
    """A 410 or 404 answer is a RemoteBadResponse carrying the status."""
    base = await serve(web.RouteTableDef())
    with pytest.raises(RemoteBadResponse) as info:
        await fetch_ap_document(make_client(), base + "/missing")
    assert info.value.status == 404


async def test_deeply_nested_json_is_refused_without_recursion_error(serve, make_client):
    """Checklist 29: JSON nested 100 000 deep is refused as a bad response."""
    deep = b"[" * 100_000 + b"]" * 100_000
    base = await serve(document_routes({"/deep": (deep, AS_JSON)}))
    with pytest.raises(RemoteBadResponse):
        await fetch_ap_document(make_client(), base + "/deep")


async def test_million_element_array_is_refused(serve, make_client):
    """Checklist 29: a 1 000 000-element array is refused (size cap, or item cap if allowed in)."""
    body = b'{"id":"x","items":[' + b"0," * 999_999 + b"0]}"
    base = await serve(document_routes({"/big": (body, AS_JSON)}))
    client = make_client()
    with pytest.raises(RemoteTooLarge):
        await fetch_ap_document(client, base + "/big")
    with pytest.raises(RemoteBadResponse):
        await fetch_ap_document(client, base + "/big", max_bytes=3_000_000)


async def test_json_that_is_not_an_object_is_refused(serve, make_client):
    """Arrays, NaN and broken JSON are refused."""
    base = await serve(document_routes({
        "/list": (b"[1]", AS_JSON), "/nan": (b'{"id": NaN}', AS_JSON), "/broken": (b'{"id":', AS_JSON),
    }))
    for path in ("/list", "/nan", "/broken"):
        with pytest.raises(RemoteBadResponse):
            await fetch_ap_document(make_client(), base + path)


def test_media_type_check():
    """Only activity+json, or ld+json naming the ActivityStreams profile, count."""
    assert is_activitystreams_media_type("application/activity+json; charset=utf-8")
    assert is_activitystreams_media_type('application/ld+json;profile="https://www.w3.org/ns/activitystreams"')
    assert not is_activitystreams_media_type('application/ld+json; profile="https://evil.example"')
    assert not is_activitystreams_media_type(None)


def test_origins_are_compared_parsed_and_normalised():
    """Principle 4: scheme, IDNA host, port compared as parsed values, never as prefixes."""
    assert same_origin("https://Example.COM/a", "https://example.com:443/b")
    assert same_origin("https://bücher.example/", "https://xn--bcher-kva.example/")
    assert not same_origin("https://example.com", "https://example.com.evil.test")
    assert not same_origin("https://example.com", "http://example.com")
    assert not same_origin("https://example.com", "https://example.com:8443")
    assert not same_origin("https://example.com@evil.test/", "https://example.com/")
    assert not same_origin("file:///etc/passwd", "file:///etc/passwd")
    assert origin_of("http://127.0.0.1:8080/x").port == 8080
