"""The hardened client: private addresses, redirects, size caps, deadline, signing hook."""

from __future__ import annotations

import asyncio
import gzip

import pytest
from aiohttp import web

from federation.errors import RemoteError, RemoteTimeout, RemoteTooLarge, UnsafeURL
from federation.remote.client import ClientPolicy, HardenedClient
from federation.signing.cavage import sign_request
from federation.signing.httpsig_compat import httpsig_verify_request
from federation.signing.keys import generate_rsa_key, public_key_to_pem

from .conftest import StaticResolver


def text_routes(**extra) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/hello")
    async def hello(request):
        return web.Response(text="hello", headers={"X-Accept": request.headers.get("Accept", ""),
                                                    "X-Encoding": request.headers.get("Accept-Encoding", "")})

    for path, handler in extra.items():
        routes.get("/" + path)(handler)
    return routes


async def test_get_returns_status_headers_and_body(serve, make_client):
    """A plain GET answers a frozen response with final URL, status, headers and body."""
    base = await serve(text_routes())
    response = await make_client().get(base + "/hello", accept="text/plain")
    assert (response.status, response.body, response.final_url) == (200, b"hello", base + "/hello")
    assert response.headers["X-Accept"] == "text/plain"
    assert "br" not in response.headers["X-Encoding"]


async def test_loopback_literal_refused_without_allow_loopback(serve, make_client, recorder):
    """Loopback is refused by default: 127.0.0.1 is never contacted."""
    base = await serve(text_routes())
    with pytest.raises(UnsafeURL):
        await make_client(allow_loopback=False).get(base + "/hello")
    assert recorder.requests == []


async def test_name_resolving_to_loopback_refused_at_connect_time(serve, make_client, recorder):
    """A host name whose DNS answer is 127.0.0.1 is refused when connecting."""
    base = await serve(text_routes())
    resolver = StaticResolver({"peer.test": "127.0.0.1"})
    client = make_client(allow_loopback=False, resolver=resolver)
    with pytest.raises(UnsafeURL):
        await client.get(base.replace("127.0.0.1", "peer.test") + "/hello")
    assert resolver.calls == ["peer.test"] and recorder.requests == []


async def test_name_resolving_to_loopback_allowed_when_configured(serve, make_client):
    """With allow_loopback a test host name reaches the loopback server."""
    base = await serve(text_routes())
    client = make_client(resolver=StaticResolver({"peer.test": "127.0.0.1"}))
    assert (await client.get(base.replace("127.0.0.1", "peer.test") + "/hello")).body == b"hello"


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/", "http://[fd00::1]/", "http://[64:ff9b::a00:1]/",
        "http://100.64.0.1/", "http://0.0.0.0/", "http://224.0.0.1/", "http://[2002:a00:1::]/",
        "file:///etc/passwd", "data:text/plain,hello", "gopher://example.com/", "ftp://example.com/",
        "http://user:secret@example.com/", "https:///nohost",
    ],
)
async def test_unsafe_urls_refused_before_any_connection(make_client, url):
    """Checklist 9/22: private, reserved, v4-mapped, NAT64, 6to4 and non-http URLs never connect."""
    resolver = StaticResolver({})
    client = make_client(allow_loopback=False, resolver=resolver, total_timeout=1.0)
    with pytest.raises(UnsafeURL):
        await client.get(url)
    assert resolver.calls == []


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "192.168.1.1", "fe80::1", "fd12::1"])
async def test_name_resolving_to_private_address_refused(make_client, address):
    """Checklist 22: DNS answers in private or reserved ranges are refused, even with loopback allowed."""
    resolver = StaticResolver({"inside.test": address})
    client = make_client(allow_loopback=True, resolver=resolver, total_timeout=1.0)
    with pytest.raises(UnsafeURL):
        await client.get("http://inside.test/actor")


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "file:///etc/passwd", "gopher://x/", "data:,x",
     "http://metadata.test/"],
)
async def test_redirect_to_unsafe_target_refused_at_the_hop(serve, make_client, target):
    """Checklist 23: a redirect to a private IP or a non-http scheme is refused at that hop."""

    async def jump(request):
        raise web.HTTPFound(target)

    base = await serve(text_routes(jump=jump))
    resolver = StaticResolver({"metadata.test": "169.254.169.254"})
    with pytest.raises(UnsafeURL):
        await make_client(resolver=resolver, total_timeout=2.0).get(base + "/jump")


async def test_redirect_chain_within_cap_is_followed(serve, make_client):
    """Three hops are followed, each re-validated, and the final URL is reported."""
    routes = text_routes()
    for i in range(3):
        routes.get(f"/r{i}")(lambda request, i=i: _redirect(f"/r{i + 1}" if i < 2 else "/hello"))
    base = await serve(routes)
    response = await make_client().get(base + "/r0")
    assert response.final_url == base + "/hello" and response.body == b"hello"


async def test_redirect_loop_stops_at_hop_cap(serve, make_client, recorder):
    """Checklist 24: a redirect loop stops after max_redirects hops."""

    async def loop(request):
        raise web.HTTPFound("/loop")

    base = await serve(text_routes(loop=loop))
    with pytest.raises(UnsafeURL):
        await make_client(max_redirects=3).get(base + "/loop")
    assert len(recorder.requests) == 4


async def _redirect(location):
    raise web.HTTPMovedPermanently(location)


async def test_post_does_not_follow_redirects(serve, make_client, recorder):
    """A POST answered by a redirect returns the 3xx instead of re-sending the body elsewhere."""
    routes = web.RouteTableDef()

    @routes.post("/inbox")
    async def inbox(request):
        raise web.HTTPTemporaryRedirect("http://169.254.169.254/")

    base = await serve(routes)
    response = await make_client().post(base + "/inbox", b"{}", {"Content-Type": "application/activity+json"})
    assert response.status == 307 and len(recorder.requests) == 1


async def test_one_gigabyte_answer_is_cut_by_the_cap(serve, make_client):
    """Checklist 28: a 1 GB streamed answer without Content-Length stops at the byte cap."""

    async def huge(request):
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            for _ in range(1024**3 // len(chunk)):
                await response.write(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response

    base = await serve(text_routes(huge=huge))
    with pytest.raises(RemoteTooLarge):
        await make_client().get(base + "/huge", max_bytes=1_000_000)


async def test_content_length_over_cap_is_refused_before_reading(serve, make_client):
    """A declared Content-Length over the cap is refused at once."""

    async def big(request):
        return web.Response(body=b"y" * 2_000_000)

    base = await serve(text_routes(big=big))
    with pytest.raises(RemoteTooLarge):
        await make_client().get(base + "/big", max_bytes=1_000_000)


async def test_gzip_bomb_is_cut_after_decompression(serve, make_client):
    """Checklist 28: 50 MB of zeros gzipped to ~50 kB is cut at the decompressed cap."""
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)

    async def gz(request):
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})

    base = await serve(text_routes(gz=gz))
    assert len(bomb) < 1_000_000
    with pytest.raises(RemoteTooLarge):
        await make_client().get(base + "/gz", max_bytes=1_000_000)


async def test_small_gzip_body_is_decompressed(serve, make_client):
    """Gzip answers within the cap are returned decompressed."""

    async def gz(request):
        return web.Response(body=gzip.compress(b"hello" * 100), headers={"Content-Encoding": "gzip"})

    base = await serve(text_routes(gz=gz))
    assert (await make_client().get(base + "/gz")).body == b"hello" * 100


async def test_slow_drip_is_cut_by_the_total_deadline(serve, make_client):
    """Checklist 28: one byte at a time, slowly, is cut by the total deadline."""

    async def drip(request):
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            for _ in range(100):
                await response.write(b"x")
                await asyncio.sleep(0.1)
        except (ConnectionError, RuntimeError):
            pass
        return response

    base = await serve(text_routes(drip=drip))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RemoteTimeout):
        await make_client(total_timeout=0.5).get(base + "/drip")
    assert loop.time() - started < 2.0


async def test_connection_refused_is_a_remote_error(make_client):
    """A closed port gives RemoteError, not UnsafeURL."""
    with pytest.raises(RemoteError) as info:
        await make_client().get("http://127.0.0.1:1/")
    assert not isinstance(info.value, UnsafeURL)


async def test_signer_signs_every_get_hop_and_posts(serve, make_client):
    """Every GET hop and every POST is signed; the server checks it with httpsig."""
    key = generate_rsa_key()
    pem = public_key_to_pem(key)
    seen: list[bool] = []

    def check(request):
        seen.append(httpsig_verify_request(request.method, request.path_qs, request.headers, pem))

    async def start(request):
        check(request)
        raise web.HTTPFound("/actor?x=1")

    async def actor(request):
        check(request)
        return web.Response(text="ok")

    async def inbox(request):
        check(request)
        return web.Response(status=202)

    routes = text_routes(start=start, actor=actor)
    routes.post("/inbox")(inbox)
    base = await serve(routes)

    def signer(method, url, headers, body):
        return sign_request(method, url, headers, body, "https://site.example/actor#main-key", key)

    client = make_client(signer=signer)
    assert (await client.get(base + "/start")).body == b"ok"
    assert (await client.post(base + "/inbox", b'{"a":1}', {"Content-Type": "application/activity+json"})).status == 202
    assert seen == [True, True, True]


async def test_sign_false_sends_no_signature(serve, make_client, recorder):
    """sign=False skips the signer (e.g. for media)."""
    base = await serve(text_routes())
    calls = []
    client = make_client(signer=lambda *args: calls.append(args) or {})
    await client.get(base + "/hello", sign=False)
    assert calls == [] and "Signature" not in recorder.requests[0].headers


async def test_policy_limits_connections_per_host():
    """The per-host connection limit comes from the policy; loopback is refused by default."""
    async with HardenedClient(ClientPolicy(limit_per_host=2)) as client:
        assert client._ensure_session().connector.limit_per_host == 2
        assert client.policy.allow_loopback is False


async def test_signed_target_matches_the_encoded_path_sent(serve, make_client):
    """A URL needing percent-encoding is signed exactly as aiohttp sends it."""
    key = generate_rsa_key()
    pem = public_key_to_pem(key)
    seen = []

    async def actor(request):
        seen.append(httpsig_verify_request("GET", request.raw_path, request.headers, pem))
        return web.Response(text="ok")

    routes = web.RouteTableDef()
    routes.get("/users/{name}")(actor)
    base = await serve(routes)
    client = make_client(signer=lambda m, u, h, b: sign_request(m, u, h, b, "https://s.example/a#k", key))
    await client.get(base + "/users/café")
    assert seen == [True]


# Checklist 37: the host the origin checks compare is the host the client connects to.
HOSTS = ["faß.example", "FAß.Example", "fass.example", "ς.example", "σ.example", "Σ.example",
         "a．b.example", "a｡b.example", "a。b.example", "BÜCHER.example.", "xn--fa-hia.example",
         "Ｅxample.com", "a\u200db.example", "a\u200cb.example", "\u0915\u094d\u200d\u0937.example",
         "e\ufe0fvil.example", "e\u00advil.example", "\u2603.example", "my_host.example",
         "127.0.0.1", "１２７.0.0.1", "[::1]", "[::FFFF:127.0.0.1]"]


@pytest.mark.parametrize("host", HOSTS)
def test_origin_host_is_the_host_yarl_connects_to(host):
    """normalise_host gives yarl's encoding of every host it accepts (the ones it refuses, yarl
    refuses or encodes with its IDNA 2003 fallback)."""
    import yarl

    from federation.protocol.uris import normalise_host

    try:
        ours = normalise_host(host)
    except ValueError:
        return
    assert ours == yarl.URL(f"http://{host}/").raw_host.rstrip(".").lower()


@pytest.mark.parametrize("url", [
    "http://１２７.0.0.1/", "http://１０.0.0.1/",  # fullwidth digits: an address once encoded
    "http://\u2603.example/",  # yarl would encode it with IDNA 2003: no origin of ours
    "http://e\ufe0fvil.example/", "http://a\u200db.example/",
])
async def test_hosts_without_our_origin_are_refused_before_any_connection(make_client, url):
    """The client connects only to a URL whose origin the origin checks computed."""
    resolver = StaticResolver({"xn--n3h.example": "93.184.216.34", "evil.example": "93.184.216.34"})
    client = make_client(allow_loopback=False, resolver=resolver, total_timeout=1.0)
    with pytest.raises(UnsafeURL):
        await client.get(url)
    assert resolver.calls == []


async def test_document_fetched_from_one_idn_host_is_not_credited_to_its_idna_2003_twin(
        serve, make_client):
    """A document fetched from faß.example (xn--fa-hia) claiming an id on fass.example is
    refused; the same host written in Unicode or punycode is one host."""
    from federation.errors import RemoteBadResponse
    from federation.remote.fetch import fetch_ap_document

    routes = web.RouteTableDef()

    @routes.get("/{name}")
    async def note(request):
        host = "fass.example" if request.match_info["name"] == "twin" else "faß.example"
        port = request.url.port
        return web.json_response({"id": f"http://{host}:{port}{request.path}", "type": "Note"},
                                 content_type="application/activity+json")

    base = await serve(routes)
    port = base.rsplit(":", 1)[1]
    resolver = StaticResolver({"xn--fa-hia.example": "127.0.0.1", "fass.example": "127.0.0.1"})
    client = make_client(resolver=resolver)
    with pytest.raises(RemoteBadResponse):
        await fetch_ap_document(client, f"http://faß.example:{port}/twin")
    fetched = await fetch_ap_document(client, f"http://xn--fa-hia.example:{port}/same")
    assert fetched.id == f"http://faß.example:{port}/same"
    assert set(resolver.calls) == {"xn--fa-hia.example"}  # never fass.example
