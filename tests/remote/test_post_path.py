"""The POST path of the hardened client (deliveries): every safety property of a GET holds.

POSTs do not go through ``ClientSession.request`` but through a short path on the same
connector (``HardenedClient._post_on``); these tests hold it to the same rules: refused
addresses, size caps, the deadline (a hung host included), header injection, keep-alive reuse
only of connections whose answer was read to its end, named TLS failures.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import yarl
from aiohttp import web
from multidict import CIMultiDict

from federation.errors import (
    RemoteBadResponse,
    RemoteError,
    RemoteTimeout,
    RemoteTLSError,
    RemoteTooLarge,
    UnsafeURL,
)
from tests.tlsca import LocalCA, serving

from .conftest import StaticResolver

JSON = {"Content-Type": "application/activity+json"}


def post_routes(handler: Callable) -> web.RouteTableDef:
    routes = web.RouteTableDef()
    routes.post("/inbox")(handler)
    return routes


async def accepted(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(status=202, headers={"X-Length": str(len(body)),
                                             "X-Peer": str(request.transport.get_extra_info("peername")[1])})


async def test_post_sends_what_the_session_sends_and_returns_the_answer(serve, make_client, recorder):
    """Method, target with its query, Host, User-Agent, Accept, Content-Length and body
    arrive as ``ClientSession`` would send them; status, headers and body come back."""

    async def echo(request: web.Request) -> web.Response:
        return web.Response(status=201, body=await request.read(), headers={"Retry-After": "30"})

    routes = web.RouteTableDef()
    routes.post("/users/{name}/inbox")(echo)
    base = await serve(routes)
    response = await make_client().post(base + "/users/a%20b/inbox?x=1", b'{"a":1}',
                                        {**JSON, "Date": "now"})
    assert (response.status, response.body, response.headers["Retry-After"]) == (201, b'{"a":1}', "30")
    assert response.final_url == base + "/users/a%20b/inbox?x=1"
    sent = recorder.requests[0]
    assert (sent.method, sent.raw_path, sent.host) == ("POST", "/users/a%20b/inbox?x=1", base[7:])
    assert sent.headers["Content-Length"] == "7" and sent.headers["Accept"] == "*/*"
    assert sent.headers["User-Agent"].startswith("federation/")
    assert sent.headers["Content-Type"] == "application/activity+json"


async def test_given_host_header_is_sent_once(serve, make_client, recorder):
    """The signed ``Host`` the worker gives is the one sent (not a second one)."""
    base = await serve(post_routes(accepted))
    await make_client().post(base + "/inbox", b"{}", {**JSON, "Host": "peer.example"})
    assert recorder.requests[0].headers.getall("Host") == ["peer.example"]


async def test_a_repeated_header_is_sent_with_each_value(serve, make_client, recorder):
    """Headers given as a multidict with a name twice: both lines are sent, in order, as
    ``ClientSession`` sends them; a second request with the same names (the head's layout is
    worked out once per set of names) carries its own values."""
    base = await serve(post_routes(accepted))
    client = make_client()
    for values in (("1", "2"), ("3", "4")):
        headers = CIMultiDict([*JSON.items(), ("X-Tag", values[0]), ("X-Tag", values[1])])
        await client.post(base + "/inbox", b"{}", headers)
    assert [r.headers.getall("X-Tag") for r in recorder.requests] == [["1", "2"], ["3", "4"]]


async def test_loopback_refused_for_posts(serve, make_client, recorder):
    """A loopback literal, and a name resolving to loopback, are refused for a POST too."""
    base = await serve(post_routes(accepted))
    with pytest.raises(UnsafeURL):
        await make_client(allow_loopback=False).post(base + "/inbox", b"{}", JSON)
    resolver = StaticResolver({"peer.test": "127.0.0.1"})
    with pytest.raises(UnsafeURL):
        await make_client(allow_loopback=False, resolver=resolver).post(
            base.replace("127.0.0.1", "peer.test") + "/inbox", b"{}", JSON)
    assert resolver.calls == ["peer.test"] and recorder.requests == []


@pytest.mark.parametrize("path", ["/users/u1/inbox", "/inbox", "/u/a.b-c_d~e/", "/users/%41/inbox",
                                  "/users/./u1/inbox", "/users//inbox", "/users/\u00e9/inbox",
                                  "/users/u1/inbox?x=1"])
async def test_plain_paths_checked_per_origin_are_sent_as_the_full_parse_sends_them(
        serve, make_client, recorder, path):
    """A plain path on an origin already checked takes the short way (no parse per URL);
    target, ``Host`` and final URL are what yarl's full parse gives, for plain paths and
    others, on an origin written in capitals with its default port or not."""
    port = int((await serve(post_routes(accepted)))[len("http://127.0.0.1:"):])
    client = make_client(resolver=StaticResolver({"peer.test": "127.0.0.1"}))
    for written in (f"http://PEER.test:{port}", f"http://peer.test:{port}"):
        for _ in range(2):  # the second time, the origin's checks are known
            url = written + path
            expected = yarl.URL(url)
            response = await client.post(url, b"{}", JSON)
            assert response.final_url == str(expected)
            sent = recorder.requests.pop()
            assert (sent.raw_path, sent.host) == (expected.raw_path_qs, f"peer.test:{port}")
    assert recorder.requests == []


async def test_a_refused_origin_stays_refused_on_the_short_way(serve, make_client, recorder):
    """An origin whose checks fail is refused for every URL on it, the second time too."""
    base = await serve(post_routes(accepted))
    client = make_client(allow_loopback=False, resolver=StaticResolver({"peer.test": "127.0.0.1"}))
    for url in (base + "/inbox", base + "/users/a/inbox", base + "/inbox",
                base.replace("127.0.0.1", "peer.test") + "/inbox",
                base.replace("127.0.0.1", "peer.test") + "/inbox",
                "http://user@peer.test/inbox", "ftp://peer.test/inbox", "http://10.0.0.1/inbox"):
        with pytest.raises(UnsafeURL):
            await client.post(url, b"{}", JSON)
    assert recorder.requests == []


@pytest.mark.parametrize("header", [("X-Evil", "a\r\nInjected: yes"), ("X-Evil", "a\nb"),
                                    ("Bad Name", "x"), ("X-Nul", "a\x00b")])
async def test_header_injection_refused(serve, make_client, recorder, header):
    """A header value with CR, LF or NUL, or a name that is not a token, is never sent."""
    base = await serve(post_routes(accepted))
    with pytest.raises(ValueError):
        await make_client().post(base + "/inbox", b"{}", {**JSON, header[0]: header[1]})
    assert recorder.requests == []


async def test_answer_over_the_cap_is_refused(serve, make_client):
    """A declared Content-Length over the cap, a streamed answer and a gzip bomb are cut."""
    bomb = gzip.compress(b"\0" * 20_000_000, compresslevel=9)

    async def big(request: web.Request) -> web.StreamResponse:
        await request.read()
        if request.query.get("kind") == "declared":
            return web.Response(body=b"y" * 200_000)
        if request.query.get("kind") == "gzip":
            return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            for _ in range(1000):
                await response.write(b"x" * 65536)
        except (ConnectionError, RuntimeError):
            pass
        return response

    base = await serve(post_routes(big))
    client = make_client()
    for kind in ("declared", "streamed", "gzip"):
        with pytest.raises(RemoteTooLarge):
            await client.post(f"{base}/inbox?kind={kind}", b"{}", JSON, max_bytes=65_536)
    assert (await client.post(base + "/inbox?kind=declared", b"{}", JSON)).status == 200


async def test_hung_host_is_cut_by_the_deadline_and_its_connection_closed(make_client):
    """A host that accepts the connection and never answers: RemoteTimeout at the deadline,
    and the connection is closed (it does not stay in the pool nor hold a slot)."""
    closed = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client closes
        closed.set()
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = make_client(limit=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RemoteTimeout):
        await client.post(f"http://127.0.0.1:{port}/inbox", b"{}", JSON, timeout=0.3)
    assert loop.time() - started < 2.0
    await asyncio.wait_for(closed.wait(), 2.0)
    connector = client._ensure_session().connector
    assert connector.open_connections == 0  # type: ignore[union-attr]
    server.close()
    await server.wait_closed()


async def test_truncated_answer_is_a_bad_response(make_client):
    """An answer that stops before its Content-Length: RemoteBadResponse, not a short body."""

    async def truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(truncated, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(RemoteBadResponse):
        await make_client().post(f"http://127.0.0.1:{port}/inbox", b"{}", JSON)
    server.close()
    await server.wait_closed()


async def test_connection_refused_is_a_remote_error(make_client):
    """A closed port: RemoteError naming the reason, not UnsafeURL."""
    with pytest.raises(RemoteError) as info:
        await make_client().post("http://127.0.0.1:1/inbox", b"{}", JSON)
    assert not isinstance(info.value, UnsafeURL)
    assert "connection refused" in info.value.message


async def test_connection_reused_only_after_a_complete_answer(serve, make_client):
    """Sequential POSTs to one host share one connection; an answer cut by the cap or one
    saying ``Connection: close`` closes it, and the next POST opens another."""

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        peer = str(request.transport.get_extra_info("peername")[1])
        if request.query.get("big"):
            return web.Response(body=b"z" * 200_000, headers={"X-Peer": peer})
        headers = {"X-Peer": peer}
        if request.query.get("close"):
            headers["Connection"] = "close"
        return web.Response(status=202, headers=headers)

    base = await serve(post_routes(inbox))
    client = make_client()
    peers = [(await client.post(base + "/inbox", b"{}", JSON)).headers["X-Peer"] for _ in range(3)]
    assert len(set(peers)) == 1
    with pytest.raises(RemoteTooLarge):
        await client.post(base + "/inbox?big=1", b"{}", JSON, max_bytes=1000)
    after_cap = (await client.post(base + "/inbox?close=1", b"{}", JSON)).headers["X-Peer"]
    after_close = (await client.post(base + "/inbox", b"{}", JSON)).headers["X-Peer"]
    assert len({peers[0], after_cap, after_close}) == 3


async def test_informational_answers_are_skipped(make_client):
    """A ``100 Continue`` before the answer is skipped, as ``ClientSession`` does."""

    async def continued(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(continued, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    response = await make_client().post(f"http://127.0.0.1:{port}/inbox", b"{}", JSON)
    assert (response.status, response.body) == (202, b"ok")
    server.close()
    await server.wait_closed()


@pytest.fixture
async def tls_inbox(tmp_path: Path) -> AsyncIterator[tuple[LocalCA, int]]:
    ca = LocalCA(tmp_path / "ca")
    app = web.Application()
    app.router.add_post("/inbox", accepted)
    async with serving(app, ca.issue("peer.test")) as port:
        yield ca, port


@pytest.mark.slow
async def test_tls_post_verified_with_ssl_cert_file(tls_inbox, make_client, monkeypatch):
    """Over HTTPS the certificate is verified: untrusted → named RemoteTLSError; trusted via
    SSL_CERT_FILE → delivered, to the resolved address."""
    ca, port = tls_inbox
    url = f"https://peer.test:{port}/inbox"
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(RemoteTLSError) as refused:
        await make_client(resolver=StaticResolver({"peer.test": "127.0.0.1"})).post(url, b"{}", JSON)
    assert refused.value.message.startswith("TLS certificate verification failed for peer.test: ")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.cert))
    resolver = StaticResolver({"peer.test": "127.0.0.1"})
    response = await make_client(resolver=resolver).post(url, b"{}", JSON)
    assert (response.status, response.headers["X-Length"]) == (202, "2")
    assert resolver.calls == ["peer.test"]

