"""The push API: authentication, validation, idempotent publishing, deletion, pinning."""

from __future__ import annotations

from typing import Any

import pytest

from federation.db.content import OutboxActivity
from federation.ingest.tokens import create_token

AP = {"Accept": "application/activity+json"}
ACTOR = "halte-au-controle-numerique"
ARTICLE_URL = f"/api/v1/actors/{ACTOR}/articles/4521"
EVENT_URL = f"/api/v1/actors/{ACTOR}/events/4521-debat"


def article(**overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Débat « Ce que la numérisation fait au service public et à ses usagers »",
        "url": "https://site.example/spip.php?article4521",
        "published": "2022-05-29T10:00:00+02:00",
        "lead_html": "<p>Halte au contrôle numérique organise un débat le jeudi 9 juin.</p>",
        "content_html": "<h3>Ciblage des pauvres</h3><p>Texte <script>x()</script>intégral.</p>",
        "attachments": [{"url": "https://site.example/IMG/pdf/affiche.pdf",
                         "media_type": "application/pdf", "name": "L'affiche du débat"}],
        "tags": [{"name": "FLICAGE - SURVEILLANCE", "url": "https://site.example/mot/flicage"},
                 "SAINT-ÉTIENNE"],
    }
    body.update(overrides)
    return body


def event(**overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Débat à la Cale", "url": "https://site.example/spip.php?article4521",
        "published": "2022-05-29T10:00:00+02:00", "start": "2022-06-09T18:00:00",
        "end": "2022-06-09T20:00:00", "timezone": "Europe/Paris",
        "location": {"name": "la Cale", "street_address": "16 rue Royet",
                     "postal_code": "42000", "locality": "Saint-Étienne", "country": "FR"},
        "content_html": "<p>Débat public.</p>",
    }
    body.update(overrides)
    return body


@pytest.fixture
async def auth(client: Any) -> dict[str, str]:
    token = await create_token("spip")
    return {"Authorization": f"Bearer {token.secret}"}


async def test_api_refuses_missing_wrong_and_revoked_tokens(client: Any) -> None:
    """No token, a wrong token or a revoked one: 401, nothing published."""
    from federation.ingest.tokens import revoke_token

    token = await create_token("cms")
    await revoke_token("cms")
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"},
                    {"Authorization": f"Bearer {token.secret}"}):
        response = await client.put(ARTICLE_URL, json=article(), headers=headers)
        assert response.status == 401
    assert await OutboxActivity.all().count() == 0


async def test_api_token_limited_to_actors(client: Any) -> None:
    """A token made for one collective cannot publish for another."""
    token = await create_token("cap", ["changer-de-cap"])
    response = await client.put(ARTICLE_URL, json=article(),
                                headers={"Authorization": f"Bearer {token.secret}"})
    assert response.status == 403


async def test_api_lists_every_problem(client: Any, auth: dict[str, str]) -> None:
    """An invalid payload is 422 with one problem per wrong field."""
    body = article(title="", published="hier", unknown=1,
                   image={"url": "javascript:alert(1)", "media_type": "image/png"})
    response = await client.put(ARTICLE_URL, json=body, headers=auth)
    assert response.status == 422
    locations = {p["location"] for p in (await response.json())["problems"]}
    assert {"title", "published", "unknown", "image.url"} <= locations


async def test_api_urls_with_control_characters_are_problems(client: Any,
                                                             auth: dict[str, str]) -> None:
    """A URL with CR/LF, a TAB or a space (urlsplit drops the first three) is a 422 naming it."""
    body = article(url="https://site.example/a\r\nb",
                   image={"url": "https://site.example/i\t.png", "media_type": "image/png"},
                   attachments=[{"url": "https://site.example/a b.pdf",
                                 "media_type": "application/pdf"}])
    response = await client.put(ARTICLE_URL, json=body, headers=auth)
    assert response.status == 422
    locations = {p["location"] for p in (await response.json())["problems"]}
    assert {"url", "image.url", "attachments.0.url"} <= locations
    assert await OutboxActivity.all().count() == 0


async def test_api_unknown_actor_item_and_bad_bodies(client: Any, auth: dict[str, str]) -> None:
    """Unknown actor or item: 404; not JSON: 400/415; too large: 413."""
    response = await client.put("/api/v1/actors/nobody/articles/1", json=article(), headers=auth)
    assert response.status == 404
    response = await client.get(ARTICLE_URL, headers=auth)
    assert response.status == 404
    response = await client.delete(ARTICLE_URL, headers=auth)
    assert response.status == 404
    response = await client.put(ARTICLE_URL, data=b"{", headers={
        **auth, "Content-Type": "application/json"})
    assert response.status == 400
    response = await client.put(ARTICLE_URL, data=b"x", headers={
        **auth, "Content-Type": "text/plain"})
    assert response.status == 415
    big = article(content_html="<p>" + "x" * 600_000 + "</p>")
    response = await client.put(ARTICLE_URL, json=big, headers=auth)
    assert response.status == 413


async def test_api_publishes_once_and_updates_on_change(client: Any, auth: dict[str, str]) -> None:
    """The same article twice makes one Create; a changed one makes an Update."""
    first = await client.put(ARTICLE_URL, json=article(), headers=auth)
    assert first.status == 201
    created = await first.json()
    assert created["status"] == "created"
    again = await client.put(ARTICLE_URL, json=article(), headers=auth)
    assert again.status == 200 and (await again.json())["status"] == "unchanged"
    assert [a.type for a in await OutboxActivity.all().order_by("id")] == ["Create"]

    changed = await client.put(ARTICLE_URL, json=article(title="Débat (modifié)"), headers=auth)
    assert (await changed.json())["status"] == "updated"
    assert [a.type for a in await OutboxActivity.all().order_by("id")] == ["Create", "Update"]

    document = await (await client.get(created["id"].removeprefix("https://bridge.example"),
                                       headers=AP)).json()
    assert document["type"] == "Article" and document["name"] == "Débat (modifié)"
    assert "<script" not in document["content"]
    assert document["summary"].startswith("<p>Halte au contrôle numérique organise")
    assert {t["name"] for t in document["tag"]} == {"#FlicageSurveillance", "#SaintÉtienne"}

    state = await (await client.get(ARTICLE_URL, headers=auth)).json()
    assert state["state"] == "published" and state["id"] == created["id"]


async def test_api_delete_answers_410_with_tombstone(client: Any, auth: dict[str, str]) -> None:
    """A deleted article answers 410 with a Tombstone; its Create too (its own Tombstone), and
    leaves the outbox; pinning it is 410."""
    created = await (await client.put(ARTICLE_URL, json=article(), headers=auth)).json()
    path = created["id"].removeprefix("https://bridge.example")
    create_path = created["activity"].removeprefix("https://bridge.example")
    assert (await client.get(create_path, headers=AP)).status == 200

    deleted = await client.delete(ARTICLE_URL, headers=auth)
    assert deleted.status == 200 and (await deleted.json())["status"] == "deleted"
    again = await client.delete(ARTICLE_URL, headers=auth)
    assert (await again.json())["status"] == "unchanged"

    response = await client.get(path, headers=AP)
    assert response.status == 410
    tombstone = await response.json()
    assert tombstone["type"] == "Tombstone" and tombstone["formerType"] == "Article"
    assert (await client.get(create_path, headers=AP)).status == 410
    pin = await client.put(ARTICLE_URL + "/pin", headers=auth)
    assert (pin.status, pin.content_type) == (410, "application/json")
    body = await pin.json()
    assert "deleted" in body["error"] and body["tombstone"]["type"] == "Tombstone"

    gone = await (await client.get(create_path, headers=AP)).json()
    assert (gone["type"], gone["id"], gone["formerType"]) == ("Tombstone", created["activity"],
                                                             "Create")
    outbox = await (await client.get(f"/actors/{ACTOR}/outbox?page=1", headers=AP)).json()
    assert [a["type"] for a in outbox["orderedItems"]] == ["Delete"]  # the Create left it
    assert outbox["totalItems"] == 1


async def test_api_republishing_a_deleted_item_makes_a_new_object(client: Any,
                                                                  auth: dict[str, str]) -> None:
    """An article unpublished (DELETE) then published again (PUT, same CMS id) is a new object
    with a new id and a Create; the old id keeps answering 410 (servers keep its Tombstone)."""
    first = await (await client.put(ARTICLE_URL, json=article(), headers=auth)).json()
    await client.delete(ARTICLE_URL, headers=auth)
    again = await client.put(ARTICLE_URL, json=article(), headers=auth)
    assert again.status == 201
    second = await again.json()
    assert second["status"] == "created" and second["id"] != first["id"]
    old = first["id"].removeprefix("https://bridge.example")
    new = second["id"].removeprefix("https://bridge.example")
    assert (await client.get(old, headers=AP)).status == 410
    assert (await (await client.get(new, headers=AP)).json())["type"] == "Article"
    state = await (await client.get(ARTICLE_URL, headers=auth)).json()
    assert (state["id"], state["state"]) == (second["id"], "published")
    assert (await (await client.put(ARTICLE_URL, json=article(), headers=auth)).json())[
        "status"] == "unchanged"
    outbox = await (await client.get(f"/actors/{ACTOR}/outbox?page=1", headers=AP)).json()
    # the new Create, the Delete of the first object (whose Create left the outbox)
    assert [(a["type"], a["object"]["id"]) for a in outbox["orderedItems"]] == [
        ("Create", second["id"]), ("Delete", first["id"])]
    # deleted again, then republished again: a third object
    await client.delete(ARTICLE_URL, headers=auth)
    third = await (await client.put(ARTICLE_URL, json=article(), headers=auth)).json()
    assert third["id"] not in (first["id"], second["id"])


async def test_api_pin_and_unpin_fill_featured(client: Any, auth: dict[str, str]) -> None:
    """Pinning puts the object in featured (and sends Add); unpinning removes it (Remove)."""
    created = await (await client.put(ARTICLE_URL, json=article(), headers=auth)).json()
    assert (await (await client.put(ARTICLE_URL + "/pin", headers=auth)).json())["status"] == \
        "pinned"
    featured = await (await client.get(f"/actors/{ACTOR}/featured", headers=AP)).json()
    assert featured["totalItems"] == 1
    assert featured["orderedItems"] == [created["id"]]  # ids: Mastodon unpins anything else
    assert (await (await client.put(ARTICLE_URL + "/pin", headers=auth)).json())["status"] == \
        "unchanged"
    await client.delete(ARTICLE_URL + "/pin", headers=auth)
    featured = await (await client.get(f"/actors/{ACTOR}/featured", headers=AP)).json()
    assert featured["totalItems"] == 0
    types = [a.type for a in await OutboxActivity.all().order_by("id")]
    assert types == ["Create", "Add", "Remove"]


async def test_api_event_cancellation_is_an_edit(client: Any, auth: dict[str, str]) -> None:
    """Cancelling an event sends its Update, whose summary says so (Mastodon 4.5+ shows it as an
    edit, boosters are told): no Note duplicates it."""
    created = await (await client.put(EVENT_URL, json=event(), headers=auth)).json()
    document = await (await client.get(created["id"].removeprefix("https://bridge.example"),
                                       headers=AP)).json()
    assert document["summary"] == ("<p>jeudi 9 juin 2022, 18:00–20:00 (Europe/Paris) — la Cale, "
                                   "16 rue Royet, Saint-Étienne</p>")
    assert document["startTime"] == "2022-06-09T18:00:00+02:00"

    cancelled = await (await client.put(EVENT_URL, json=event(status="cancelled"),
                                        headers=auth)).json()
    assert cancelled["status"] == "updated" and cancelled["notice"] is None
    document = await (await client.get(created["id"].removeprefix("https://bridge.example"),
                                       headers=AP)).json()
    assert document["summary"].startswith("<p>ANNULÉ — jeudi 9 juin 2022")
    assert document["updated"] > document["published"]
    types = [a.type for a in await OutboxActivity.all().order_by("id")]
    assert types == ["Create", "Announce", "Update"]

    # the same cancellation again is no news
    again = await (await client.put(EVENT_URL, json=event(status="cancelled"), headers=auth)).json()
    assert again["status"] == "unchanged"


async def test_api_lists_actors(client: Any, auth: dict[str, str]) -> None:
    """The CMS can list the actors it may publish for."""
    listing = await (await client.get("/api/v1/actors", headers=auth)).json()
    assert ACTOR in {a["identifier"] for a in listing["actors"]}


@pytest.mark.parametrize("body,word", [
    (article(content_html="<p>a\u0000b</p>"), "NUL"),
    (article(content_html="<p>a\ud800b</p>"), "surrogate"),
    (article(title="\udfffTitre"), "surrogate"),
    (article(attachments=[{"url": "https://site.example/a.pdf", "media_type": "application/pdf",
                           "name": "affiche \ud83d"}]), "surrogate"),
    (article(tags=["ok", {"name": "x", "url": "https://site.example/\ud800"}]), "surrogate"),
])
async def test_api_refuses_nul_and_lone_surrogates_with_400(client: Any, auth: dict[str, str],
                                                            body: Any, word: str) -> None:
    """A NUL or a lone surrogate in any string of the JSON body is a 400 on both databases
    (nh3 and PostgreSQL fail on them), and nothing is published."""
    response = await client.put(ARTICLE_URL, json=body, headers=auth)
    assert response.status == 400
    assert word in (await response.json())["error"]
    assert await OutboxActivity.all().count() == 0


async def test_api_dates_are_plausible_and_old_ones_read_back(client: Any, auth: dict[str, str]) -> None:
    """A year outside 1900–2999 is a 422 naming the field; a naive 1905 date, read in
    Europe/Paris (then at local mean time, +00:09:21), is stored in UTC and reads back."""
    response = await client.put(ARTICLE_URL, json=article(published="0191-08-11T10:20:02"),
                                headers=auth)
    assert response.status == 422
    assert [p["location"] for p in (await response.json())["problems"]] == ["published"]
    response = await client.put(EVENT_URL, json=event(start="3001-01-01T18:00:00"), headers=auth)
    assert response.status == 422
    assert "start" in [p["location"] for p in (await response.json())["problems"]]

    old = await client.put(ARTICLE_URL, json=article(published="1905-03-01T12:00:00"), headers=auth)
    assert old.status == 201, await old.text()
    state = await client.get(ARTICLE_URL, headers=auth)
    assert state.status == 200
    assert (await state.json())["published"] == "1905-03-01T11:50:39Z"
    again = await client.put(ARTICLE_URL, json=article(published="1905-03-01T12:00:00"), headers=auth)
    assert (await again.json())["status"] == "unchanged"
    changed = await client.put(ARTICLE_URL, headers=auth, json=article(
        title="Autre titre", published="1905-03-01T12:00:00", updated="1906-01-01T00:00:00"))
    assert (await changed.json())["status"] == "updated"
    state = await (await client.get(ARTICLE_URL, headers=auth)).json()
    assert (state["published"], state["updated"]) == ("1905-03-01T11:50:39Z", "1905-12-31T23:50:39Z")
