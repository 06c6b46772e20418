"""The error middleware: JSON for ActivityPub clients and /api/, text for browsers, no details."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.http_exceptions import InvalidHeader
from tortoise.exceptions import ValidationError as TortoiseValidationError

from federation.errors import BadRequest, Gone, NotFound, Problem, SignatureError, Unprocessable
from federation.web.middleware import error_middleware

TOMBSTONE = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Tombstone",
             "id": "https://bridge.example/objects/note/1", "formerType": "Note"}


async def _raise(request: web.Request) -> web.Response:
    kind = request.match_info["kind"]
    if kind == "notfound":
        raise NotFound("no such thing")
    if kind == "bad":
        raise BadRequest("bad thing")
    if kind == "gone":
        raise Gone("deleted", tombstone=TOMBSTONE)
    if kind == "invalid":
        raise Unprocessable([Problem("object.content", "too long")])
    if kind == "signature":
        raise SignatureError("expired")
    if kind == "http":
        raise web.HTTPConflict()
    if kind == "redirect":
        raise web.HTTPFound("/elsewhere")
    if kind == "toolong":
        raise TortoiseValidationError("username: Length of 'aaaa…' 3000 > 255")
    if kind == "badform":
        raise InvalidHeader(b"broken")
    raise RuntimeError("secret detail -----BEGIN PRIVATE KEY-----")


@pytest.fixture
async def app_client(aiohttp_client):
    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/x/{kind}", _raise)
    app.router.add_get("/api/{kind}", _raise)
    return await aiohttp_client(app)


AP = {"Accept": "application/activity+json"}
BROWSER = {"Accept": "text/html"}


@pytest.mark.parametrize(("kind", "status"), [("notfound", 404), ("bad", 400), ("signature", 401),
                                              ("http", 409), ("invalid", 422)])
async def test_errors_are_json_for_activitypub_clients(app_client, kind, status):
    response = await app_client.get(f"/x/{kind}", headers=AP)
    assert response.status == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Vary"] == "Accept"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = await response.json()
    assert body["error"]


async def test_unprocessable_lists_its_problems(app_client):
    body = await (await app_client.get("/x/invalid", headers=AP)).json()
    assert body["problems"] == [{"location": "object.content", "message": "too long"}]


async def test_errors_are_text_for_browsers_but_json_under_api(app_client):
    page = await app_client.get("/x/notfound", headers=BROWSER)
    assert page.status == 404
    assert page.headers["Content-Type"].startswith("text/plain")
    assert await page.text() == "404: no such thing\n"
    api = await app_client.get("/api/notfound", headers=BROWSER)
    assert api.headers["Content-Type"].startswith("application/json")


async def test_gone_answers_the_tombstone(app_client):
    response = await app_client.get("/x/gone", headers=AP)
    assert response.status == 410
    assert response.headers["Content-Type"].startswith("application/activity+json")
    assert await response.json(content_type=None) == TOMBSTONE


async def test_a_bug_is_a_500_without_details_and_logged(app_client, caplog):
    with caplog.at_level(logging.ERROR):
        response = await app_client.get("/x/bug", headers=AP)
    assert response.status == 500
    text = await response.text()
    assert "secret" not in text and "PRIVATE" not in text
    assert (await response.json()) == {"error": "internal error"}
    assert "unhandled error for GET /x/bug" in caplog.text


async def test_redirects_pass_through(app_client):
    response = await app_client.get("/x/redirect", allow_redirects=False)
    assert response.status == 302


async def test_nul_in_path_or_query_is_400(app_client):
    """A NUL byte never reaches a handler (PostgreSQL would refuse it with a 500)."""
    from yarl import URL

    for url in ("/x/notfound%00", "/x/notfound?page=%00", "/x/bug?a=b%00c"):
        response = await app_client.get(URL(url, encoded=True), headers=AP)
        assert response.status == 400, url


async def test_values_no_column_holds_and_unparsable_bodies_are_400(app_client):
    """tortoise refusing a value (too long for its column) and aiohttp failing to parse a body
    are the client's bad input: 400 JSON, not 500."""
    for kind, expected in (("toolong", "too long"), ("badform", "malformed request")):
        response = await app_client.get(f"/api/{kind}")
        assert response.status == 400, kind
        assert expected in (await response.json())["error"]
