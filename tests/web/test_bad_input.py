"""Bad input never produces a 500: junk on every GET route, wrong methods, malformed values."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from yarl import URL

GET_ONLY = ["/actors/site", "/actors/halte-au-controle-numerique/followers",
            "/.well-known/webfinger", "/.well-known/host-meta", "/.well-known/nodeinfo",
            "/nodeinfo/2.1"]

PATH_VALUES = [
    "halte-au-controle-numerique", "site", "nobody", "2.0", "..%2F..%2Fetc%2Fpasswd", "..",
    "%00", "%ff%fe", "%C3%A9" * 200, "9" * 400, "a%20b", "%2e%2e", "NaN", "-1", "%C2%B2",
]
QUERIES = [
    "", "page=1", "page=0", "page=-1", "page=true", "page=1e9", "page=99999999999999999999999",
    "page=%00", "page=%ff", "page=%C3%A9", "page=1&page=2", "page[]=1", "page=1.5",
    "page=%C2%B2", "page=%D9%A3",  # "²" and "٣": str.isdigit() says yes, int() disagrees
    "resource=acct:site@bridge.example", "resource=%00", "resource=acct:%ff@%ff",
    "resource=" + "a" * 3000, "min_id=-1&max_id=zz", "cursor=%F0%9F%92%A9",
    "page=" + "9" * 2000, "q=<script>alert(1)</script>", "=&&==&", "%",
    # URL-shaped values that make urlsplit raise (brackets, ports out of range)
    "resource=http://[", "resource=https://[::1", "resource=https://a.example:99999/x",
    "resource=acct:a@[", "resource=https://a.example:-1/", "resource=http://%5B::1]x/",
    "uri=http://[", "uri=https://a.example:70000/", "object=http://[", "object=https://x:0x1/",
    "page=%ED%A0%80", "lang=%ED%A0%80", "state=%00", "resource=https://a.example/%0D%0Ax",
]


def _get_paths(app: Any) -> list[str]:
    paths: set[str] = set()
    for route in app.router.routes():
        if route.method not in ("GET", "*"):
            continue
        info = route.resource.get_info() if route.resource else {}
        if "path" in info:
            paths.add(info["path"])
        elif "formatter" in info:
            for value in PATH_VALUES:
                paths.add(re.sub(r"\{[^}]+\}", value, info["formatter"]))
        elif "prefix" in info:  # static files
            paths.add(info["prefix"] + "/..%2F..%2Fetc%2Fpasswd")
    return sorted(paths)


async def test_every_get_route_survives_junk(client):
    """Odd paths, query strings and Accept headers on every registered GET route stay < 500."""
    paths = _get_paths(client.server.app)
    assert "/actors/site/outbox" in paths and "/.well-known/webfinger" in paths
    accepts = ["application/activity+json", "text/html", "*/*;q=abc", ",;;,=q", "a/b;q=2", ""]
    failures = []
    for index, path in enumerate(paths):
        for query_index, query in enumerate(QUERIES):
            accept = accepts[(index + query_index) % len(accepts)]
            url = URL(f"{path}?{query}" if query else path, encoded=True)
            response = await client.get(url, headers={"Accept": accept}, allow_redirects=False)
            if response.status >= 500:
                failures.append((response.status, str(url)[:120], await response.text()))
            response.release()
    assert not failures, failures[:10]


async def test_unsupported_methods_are_405_with_allow(client):
    """DELETE, PUT, PATCH and POST on GET-only routes: 405 with Allow, JSON, Vary."""
    for path in GET_ONLY:
        for method in ("DELETE", "PUT", "PATCH", "POST"):
            response = await client.request(
                method, path, data=b"{}",
                headers={"Accept": "application/activity+json",
                         "Content-Type": "application/activity+json"})
            assert response.status == 405, (method, path)
            assert "GET" in response.headers["Allow"]
            assert "Accept" in response.headers["Vary"]
            assert "error" in await response.json()


async def test_unknown_path_is_404_json_for_ap_clients(client):
    response = await client.get("/no/such/thing", headers={"Accept": "application/activity+json"})
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert "Accept" in response.headers["Vary"]


async def test_bad_page_numbers_are_400(client):
    for page in ("0", "-1", "abc", "1.5", "100001", "9" * 40):
        response = await client.get("/actors/site/outbox", params={"page": page},
                                    headers={"Accept": "application/activity+json"})
        assert response.status == 400, page
        assert "error" in await response.json()


async def test_oversized_body_is_refused_before_the_handler(client):
    """A body above the request cap is 413 (here on a GET-only route: 405 or 413, never 500)."""
    response = await client.post("/actors/site", data=b"x" * 2_000_000)
    assert response.status in (405, 413)


def _write_routes(app: Any) -> list[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in app.router.routes():
        if route.method in ("GET", "HEAD", "*", "OPTIONS"):
            continue
        info = route.resource.get_info() if route.resource else {}
        if "path" in info:
            found.add((route.method, info["path"]))
        elif "formatter" in info:
            for value in ("1", "0", "-1", "%C2%B2", "99999999999", "approve", "%00", "a" * 300):
                found.add((route.method, re.sub(r"\{[^}]+\}", value, info["formatter"])))
    return sorted(found)


BODIES: list[tuple[str, bytes]] = [
    ("application/json", b""), ("application/json", b"{"), ("application/json", b"[]"),
    ("application/json", b'{"ids": ["\\u00b2", 99999999999, null], "action": {}}'),
    ("application/activity+json", b'{"type": 5}'), ("application/x-www-form-urlencoded",
                                                   b"one=approve%3A%C2%B2&csrf=x"),
    ("multipart/form-data; boundary=zz", b"--zz\r\nbroken"), ("text/plain", b"\xff\xfe\x00"),
    # text no database holds: raw surrogate bytes, odd charsets, escaped lone surrogates
    ("application/x-www-form-urlencoded", b"csrf=x&username=\xed\xa0\x80&one=\xff"),
    ("application/x-www-form-urlencoded; charset=nope", b"csrf=x&one=approve%3A1"),
    ("application/x-www-form-urlencoded; charset=utf-16", "csrf=x&one=a".encode("utf-16")),
    ("application/json", b'{"ids": [1], "action": "approve\\ud800"}'),
    ("application/json", '{"ids": [1], "action": "approve"}'.encode("utf-16")),
]


async def test_every_write_route_survives_junk(client):
    """Every POST/PUT/DELETE/PATCH route, with odd path values, bodies, content types and
    tokens (none, unknown, malformed): a 4xx, never a 500."""
    routes = _write_routes(client.server.app)
    assert ("POST", "/inbox") in routes and any(path.startswith("/api/v1/moderation")
                                                for _, path in routes)
    tokens = [None, "Bearer nope", "Bearer " + "x" * 5000, "Basic Zm9vOmJhcg==", "Bearer \u00b2"]
    failures = []
    for index, (method, path) in enumerate(routes):
        for body_index, (content_type, body) in enumerate(BODIES):
            headers = {"Content-Type": content_type, "Accept": "application/json"}
            token = tokens[(index + body_index) % len(tokens)]
            if token is not None:
                headers["Authorization"] = token
            response = await client.request(method, URL(path, encoded=True), data=body,
                                            headers=headers, allow_redirects=False)
            if response.status >= 500:
                failures.append((response.status, method, path[:80], content_type,
                                 (await response.text())[:200]))
            response.release()
    assert not failures, failures[:10]


async def _raw_request(client: Any, head: bytes) -> bytes:
    """The status line of the answer to ``head`` (a request written byte by byte)."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(head)
        await writer.drain()
        return (await reader.readline()).strip()
    finally:
        writer.close()
        await writer.wait_closed()


RAW_HEADERS = [b"Authorization: Bearer \xff\xfe", b"Authorization: Bearer \xed\xa0\x80",
               b"Cookie: federation_session=\xff; federation_login=\xff; federation_lang=\xff",
               b'Cookie: federation_session="\\000x"', b"Accept: application/activity+json\xff",
               b"Signature: keyId=\"\xff\",headers=\"date\",signature=\"YQ==\"",
               b"Digest: SHA-256=\xff", b"Date: \xff", b"Content-Digest: sha-256=:\xff:",
               b"Signature-Input: sig1=(\"@method\");created=1;keyid=\"\xff\"",
               b"Content-Type: application/json; charset=\xff"]


async def test_headers_that_are_not_utf8_never_get_a_500(client):
    """Header values with bytes that are not UTF-8 (aiohttp hands them over as lone
    surrogates) on every route: a 4xx or a normal answer, never a 500."""
    routes = sorted({("GET", path) for path in _get_paths(client.server.app)[:40]}
                    | set(_write_routes(client.server.app)))
    failures = []
    for index, (method, path) in enumerate(routes):
        header = RAW_HEADERS[index % len(RAW_HEADERS)]
        for extra in (header, RAW_HEADERS[0]):
            status = await _raw_request(client, (
                f"{method} {path} HTTP/1.1\r\nHost: bridge.example\r\n"
                "Content-Type: application/json\r\nContent-Length: 2\r\n").encode()
                + extra + b"\r\nConnection: close\r\n\r\n{}")
            if not status or status.split()[1].startswith(b"5"):
                failures.append((method, path, extra, status))
    assert not failures, failures[:10]
