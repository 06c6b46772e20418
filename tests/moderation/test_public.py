"""Public documents: the ReplyAuthorization at its id, and the site's exports of approved public
replies (pending, rejected, spam and non-public replies appear nowhere)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from federation.app import create_app
from federation.db.moderation import ReplyState
from federation.moderation.web.keys import MODERATION
from federation.settings import Settings
from federation.web.state import DIRECTORY

from .conftest import Factory

AS_JSON = {"Accept": "application/activity+json"}
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
async def web_client(database_url: str, make_settings: Callable[..., Settings],
                     aiohttp_client: Any) -> Any:
    settings = make_settings(database_url, server={"run_worker": False})
    return await aiohttp_client(create_app(settings))


def _factory(web_client: Any) -> Factory:
    return Factory(web_client.app[DIRECTORY])


async def _thread(web_client: Any) -> dict[str, Any]:
    """An article with one reply in each state, and an approved non-public one."""
    factory = _factory(web_client)
    article = await factory.article()
    service = web_client.app[MODERATION]
    replies = {
        "approved": await factory.reply(article, content="<p>approuvée</p>"),
        "pending": await factory.reply(article, content="<p>en attente</p>"),
        "rejected": await factory.reply(article, content="<p>refusée</p>"),
        "spam": await factory.reply(article, content="<p>indésirable</p>"),
        "private": await factory.reply(article, content="<p>privée</p>", is_public=False),
        "undone": await factory.reply(article, content="<p>annulée</p>"),
    }
    await service.approve(replies["approved"].id, "camille")
    await service.reject(replies["rejected"].id, "camille")
    await service.mark_spam(replies["spam"].id, "camille")
    await service.approve(replies["private"].id, "camille")
    await service.approve(replies["undone"].id, "camille")
    await service.undo(replies["undone"].id, "camille")
    for reply in replies.values():
        await reply.refresh_from_db()
    return {"article": article, **replies}


async def test_authorization_is_dereferenceable(web_client):
    """GET on the Accept's result answers the ReplyAuthorization, typed with the GTS context."""
    thread = await _thread(web_client)
    reply = thread["approved"]
    path = reply.authorization_uri.removeprefix("https://bridge.example")
    response = await web_client.get(path, headers=AS_JSON)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/activity+json")
    document = await response.json(content_type=None)
    assert document["type"] == "ReplyAuthorization"
    assert document["id"] == reply.authorization_uri
    assert document["attributedTo"] == "https://bridge.example/actors/halte-au-controle-numerique"
    assert document["interactingObject"] == reply.uri
    assert document["interactionTarget"] == thread["article"].uri
    assert "https://gotosocial.org/ns" in document["@context"]


async def test_undone_authorization_is_gone(web_client):
    """After undo, the old authorization answers 410 with a Tombstone; unknown ids 404."""
    from federation.db.moderation import ReplyAuthorization

    thread = await _thread(web_client)
    revoked = await ReplyAuthorization.get(reply_id=thread["undone"].id)
    response = await web_client.get(f"/authorizations/{revoked.token}", headers=AS_JSON)
    assert response.status == 410
    document = await response.json(content_type=None)
    assert document["type"] == "Tombstone" and document["id"] == revoked.uri
    assert (await web_client.get("/authorizations/nope", headers=AS_JSON)).status == 404


async def test_json_export_lists_approved_public_replies_only(web_client):
    """/api/v1/replies?object= answers only the approved public reply, by id or site URL."""
    thread = await _thread(web_client)
    article = thread["article"]
    for reference in (article.uri, article.url):
        response = await web_client.get("/api/v1/replies", params={"object": reference})
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        text = await response.text()
        document = await response.json()
        assert document["object"] == article.uri and document["totalItems"] == 1
        [item] = document["replies"]
        assert item["id"] == thread["approved"].uri
        assert item["content_html"] == "<p>approuvée</p>"
        assert item["author"]["handle"] == "@alice@social.example"
        for hidden in ("pending", "rejected", "spam", "private", "undone"):
            assert thread[hidden].uri not in text


async def test_atom_export_lists_approved_public_replies_only(web_client):
    """The Atom feed of an article carries the approved public reply only."""
    thread = await _thread(web_client)
    response = await web_client.get("/feeds/replies/article/art-1.atom")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    text = await response.text()
    feed = ET.fromstring(text)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [thread["approved"].uri]
    assert feed.findtext(f"{ATOM}title") == "Débat sur la numérisation"
    for hidden in ("pending", "rejected", "spam", "private", "undone"):
        assert thread[hidden].uri not in text


async def test_unknown_object_is_404_everywhere(web_client):
    """An unknown object: 404 on both exports (the same as any other missing thing)."""
    await _thread(web_client)
    assert (await web_client.get("/api/v1/replies",
                                 params={"object": "https://bridge.example/x"})).status == 404
    assert (await web_client.get("/api/v1/replies")).status == 404
    assert (await web_client.get("/feeds/replies/article/nope.atom")).status == 404


async def test_objects_replies_collection_hides_unapproved(web_client):
    """Cross-check with publishing: the object's replies collection shows approved public only."""
    thread = await _thread(web_client)
    path = thread["article"].uri.removeprefix("https://bridge.example") + "/replies"
    response = await web_client.get(path, headers=AS_JSON)
    if response.status == 404:
        pytest.skip("the replies collection is not served yet")
    text = await response.text()
    page = await web_client.get(path, params={"page": "1"}, headers=AS_JSON)
    text += await page.text()
    for hidden in ("pending", "rejected", "spam", "private", "undone"):
        assert thread[hidden].uri not in text, hidden


async def test_pending_reply_content_is_in_no_public_route(web_client):
    """The words of a pending reply appear in no public answer."""
    thread = await _thread(web_client)
    marker = "en attente"
    assert thread["pending"].state == ReplyState.PENDING
    article = thread["article"]
    paths = ["/api/v1/replies?object=" + article.uri, "/feeds/replies/article/art-1.atom",
             article.uri.removeprefix("https://bridge.example"),
             article.uri.removeprefix("https://bridge.example") + "/replies?page=1"]
    for path in paths:
        response = await web_client.get(path, headers=AS_JSON)
        assert marker not in await response.text(), path
