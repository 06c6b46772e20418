"""Public reads served as prepared bytes (federation/web/readcache.py): validators and 304s,
Cache-Control, one representation per Accept, invalidation by this process's writes at once
and by other processes' within ``[server] read_cache_seconds``.

(A cached answer never reaching a reader it is not for, with signed readers of two servers:
tests/web/test_activity_lookups.py::test_cached_answers_never_reach_a_reader_they_are_not_for.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

import pytest
from aiohttp import web

from federation.app import create_app
from federation.db.content import ContentObject, ObjectKind
from federation.ingest.payloads import parse_item
from federation.ingest.tokens import create_token
from federation.web.readcache import ReadCache, cached, invalidation_middleware
from federation.web.state import PUBLISHER, READ_CACHE

AP = {"Accept": "application/activity+json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ACTOR = "halte-au-controle-numerique"
BASE = "https://bridge.example"
ARTICLE_API = f"/api/v1/actors/{ACTOR}/articles/7"

Client = Any
MakeClient = Callable[[float], Awaitable[Client]]


@pytest.fixture
def make_client(database_url: str, make_settings: Callable[..., Any],
                aiohttp_client: Any) -> MakeClient:
    async def make(seconds: float) -> Client:
        settings = make_settings(database_url, server={"run_worker": False,
                                                       "read_cache_seconds": seconds})
        return await aiohttp_client(create_app(settings))

    return make


async def _auth() -> dict[str, str]:
    token = await create_token("spip")
    return {"Authorization": f"Bearer {token.secret}"}


def _article(title: str) -> dict[str, Any]:
    return {"title": title, "published": "2024-10-01T10:00:00+02:00",
            "url": "https://site.example/spip.php?article7", "content_html": "<p>Texte.</p>"}


async def _get(client: Client, path: str, **headers: str) -> tuple[Any, bytes]:
    response = await client.get(path, headers={**AP, **headers}, allow_redirects=False)
    return response, await response.read()


async def test_public_reads_carry_validators_and_answer_304(make_client: MakeClient) -> None:
    """Every public GET has an ETag, a Last-Modified and a public Cache-Control; a matching
    If-None-Match (strong or weak) or If-Modified-Since is a 304 without a body that repeats
    the validators, Cache-Control and Vary; a stale validator gets the document."""
    client = await make_client(300)
    created = await (await client.put(ARTICLE_API, json=_article("Un"),
                                      headers=await _auth())).json()
    paths = [
        f"/actors/{ACTOR}", "/actor", f"/actors/{ACTOR}/outbox", f"/actors/{ACTOR}/outbox?page=1",
        f"/actors/{ACTOR}/followers", f"/actors/{ACTOR}/following", f"/actors/{ACTOR}/featured",
        created["id"].removeprefix(BASE), created["id"].removeprefix(BASE) + "/replies?page=1",
        created["id"].removeprefix(BASE) + "/likes", created["activity"].removeprefix(BASE),
        "/.well-known/webfinger?resource=acct:halteaucontrolenumerique@bridge.example",
        "/.well-known/nodeinfo", "/nodeinfo/2.1", "/.well-known/host-meta", "/.well-known/host-meta.json",
    ]
    for path in paths:
        first, body = await _get(client, path)
        assert first.status == 200, path
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert etag.startswith('"') and etag.endswith('"'), path
        assert first.headers["Cache-Control"].startswith("public, max-age="), path
        again, same = await _get(client, path)
        assert (again.headers["ETag"], same) == (etag, body), path
        for validator in ({"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag}'},
                          {"If-None-Match": "*"}, {"If-Modified-Since": modified}):
            revalidated, empty = await _get(client, path, **validator)
            assert (revalidated.status, empty) == (304, b""), (path, validator)
            assert revalidated.headers["ETag"] == etag, path
            for name in ("Cache-Control", "Vary", "Last-Modified"):
                assert revalidated.headers.get(name) == first.headers.get(name), (path, name)
        earlier = formatdate((parsedate_to_datetime(modified) - timedelta(days=1)).timestamp(),
                             usegmt=True)
        for validator in ({"If-None-Match": '"another"'}, {"If-Modified-Since": earlier},
                          {"If-None-Match": '"another"', "If-Modified-Since": modified},
                          {"If-Modified-Since": "not a date"}):
            fresh, full = await _get(client, path, **validator)
            assert (fresh.status, full) == (200, body), (path, validator)


async def test_each_representation_is_cached_apart(make_client: MakeClient) -> None:
    """A browser is still sent to the page after a client's JSON was cached, and the other way
    round; both carry Vary: Accept."""
    client = await make_client(300)
    created = await (await client.put(ARTICLE_API, json=_article("Un"),
                                      headers=await _auth())).json()
    for path in (created["id"].removeprefix(BASE), f"/actors/{ACTOR}"):
        for _ in range(2):
            page, _body = await _get(client, path, **BROWSER)
            assert page.status == 303 and page.headers["Vary"] == "Accept", path
            document, body = await _get(client, path)
            assert document.status == 200 and document.headers["Vary"] == "Accept", path
            assert document.content_type == "application/activity+json" and body.startswith(b"{")


async def test_writes_of_this_process_are_seen_at_once(make_client: MakeClient) -> None:
    """An Update or a Delete made through this process (the publishing API) clears the cache:
    the next read has the new document (a new ETag: the old validator gets a 200), the Delete
    a 410, and the outbox and the actor's counts follow."""
    client = await make_client(300)  # longer than the test: only the invalidation can refresh
    auth = await _auth()
    created = await (await client.put(ARTICLE_API, json=_article("Un"), headers=auth)).json()
    path = created["id"].removeprefix(BASE)
    before, body = await _get(client, path)
    outbox_before, _ = await _get(client, f"/actors/{ACTOR}/outbox?page=1")
    assert b'"Un"' in body
    assert (await client.put(ARTICLE_API, json=_article("Deux"), headers=auth)).status == 200
    after, changed = await _get(client, path, **{"If-None-Match": before.headers["ETag"]})
    assert after.status == 200 and b'"Deux"' in changed
    assert after.headers["ETag"] != before.headers["ETag"]
    assert parsedate_to_datetime(after.headers["Last-Modified"]) > parsedate_to_datetime(
        before.headers["Last-Modified"])
    outbox, listed = await _get(client, f"/actors/{ACTOR}/outbox?page=1")
    assert outbox.headers["ETag"] != outbox_before.headers["ETag"] and b'"Update"' in listed
    assert (await client.delete(ARTICLE_API, headers=auth)).status == 200
    gone, _ = await _get(client, path)
    assert gone.status == 410 and "ETag" not in gone.headers
    _, listed = await _get(client, f"/actors/{ACTOR}/outbox?page=1")
    assert b'"Delete"' in listed and b'"Update"' not in listed


async def test_other_writers_are_seen_within_read_cache_seconds(make_client: MakeClient) -> None:
    """A write this process's requests did not make (another process: the CLI, a worker; here
    the publisher called directly) is served stale until the entry expires, then fresh: an
    Update within ``read_cache_seconds``, a Delete too (410)."""
    seconds = 0.5
    client = await make_client(seconds)
    publisher = client.server.app[PUBLISHER]

    def item(title: str) -> Any:
        return parse_item({"type": "article", "actor": ACTOR, "id": "cli-1", "title": title,
                           "published": "2026-05-01T10:00:00+02:00",
                           "content_html": "<p>Texte.</p>"})

    published = await publisher.upsert(item("Avant"))
    path = published.object_uri.removeprefix(BASE)
    _, body = await _get(client, path)
    assert b'"Avant"' in body
    await publisher.upsert(item("Après"))
    await asyncio.sleep(seconds + 0.1)
    _, body = await _get(client, path)
    assert b'"Apr\xc3\xa8s"' in body
    await publisher.delete(ACTOR, ObjectKind.ARTICLE, "push", "cli-1")
    await asyncio.sleep(seconds + 0.1)
    assert (await _get(client, path))[0].status == 410


async def test_the_cache_serves_what_was_rendered_and_any_write_request_clears_it(
        make_client: MakeClient) -> None:
    """Proof that answers come from the cache (a row changed behind its back is not seen), and
    that any request that may write clears it — even one refused (a POST to the inbox)."""
    client = await make_client(300)
    created = await (await client.put(ARTICLE_API, json=_article("Un"),
                                      headers=await _auth())).json()
    path = created["id"].removeprefix(BASE)
    _, body = await _get(client, path)
    row = await ContentObject.get(uri=created["id"])
    row.document = {**row.document, "name": "Changé en base"}
    await row.save()
    assert (await _get(client, path))[1] == body
    assert client.server.app[READ_CACHE].get((path, "json")) is not None
    refused = await client.post("/inbox", data=b"{}",
                                headers={"Content-Type": "application/activity+json"})
    assert refused.status >= 400
    assert b"Chang\xc3\xa9 en base" in (await _get(client, path))[1]


async def test_read_cache_seconds_zero_turns_the_cache_off(make_client: MakeClient) -> None:
    client = await make_client(0)
    created = await (await client.put(ARTICLE_API, json=_article("Un"),
                                      headers=await _auth())).json()
    path = created["id"].removeprefix(BASE)
    response, _ = await _get(client, path)
    assert response.status == 200 and "ETag" not in response.headers
    row = await ContentObject.get(uri=created["id"])
    row.document = {**row.document, "name": "Changé en base"}
    await row.save()
    assert b"Chang\xc3\xa9 en base" in (await _get(client, path))[1]


async def test_a_burst_renders_once_and_shares_only_public_answers(aiohttp_client: Any) -> None:
    """Concurrent requests for a key not yet prepared wait for the one render under way; an
    answer that is not public is never handed to the waiters (each is answered for itself)."""
    renders = {"public": 0, "private": 0}

    async def public(request: web.Request) -> web.Response:
        renders["public"] += 1
        await asyncio.sleep(0.05)
        return web.Response(body=b"{}", headers={"Cache-Control": "public, max-age=60"})

    async def private(request: web.Request) -> web.Response:
        renders["private"] += 1
        await asyncio.sleep(0.05)
        return web.Response(body=request.headers["Reader"].encode(),
                            headers={"Cache-Control": "private, no-store"})

    app = web.Application(middlewares=[invalidation_middleware])
    app[READ_CACHE] = ReadCache(60)
    app.router.add_get("/public", cached(lambda _: "")(public))
    app.router.add_get("/private", cached(lambda _: "")(private))
    client = await aiohttp_client(app)
    answers = await asyncio.gather(*(client.get("/public") for _ in range(20)))
    assert [a.status for a in answers] == [200] * 20 and renders["public"] == 1
    assert len({a.headers["ETag"] for a in answers}) == 1
    answers = await asyncio.gather(*(client.get("/private", headers={"Reader": str(n)})
                                     for n in range(10)))
    assert [await a.text() for a in answers] == [str(n) for n in range(10)]
    assert renders["private"] == 10 and all("ETag" not in a.headers for a in answers)
