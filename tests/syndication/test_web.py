"""Exports for the CMS (only approved and stored items), the editorial queue under /admin/
(login, CSRF, headers, escaping, approve → Announce) and the JSON API's token rules."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import icalendar
import pytest

from federation.app import create_app
from federation.db.content import OutboxActivity
from federation.db.moderation import Decision
from federation.db.social import Following, FollowState, SyndicationPolicy
from federation.db.syndication import ItemState, SyndicatedItem
from federation.moderation import accounts
from federation.settings import Settings
from federation.web.state import DIRECTORY

PASSWORD = "correct horse battery staple"
SISTER = "https://sister.example/actors/halte"
CSP = "default-src 'none'"


@pytest.fixture
async def site(database_url: str, make_settings: Callable[..., Settings], aiohttp_client: Any) -> Any:
    settings = make_settings(database_url, base_url="http://127.0.0.1:8080",
                             server={"run_worker": False})
    client = await aiohttp_client(create_app(settings))
    await accounts.create_account("camille", PASSWORD)
    return client


async def _source(client: Any, policy: str = "review") -> Following:
    directory = client.server.app[DIRECTORY]
    return await Following.create(actor_id=directory.site_actor.db_id, target_uri=SISTER,
                                  state=FollowState.ACCEPTED, policy=SyndicationPolicy(policy),
                                  follow_activity_uri="http://127.0.0.1:8080/activities/f1")


async def _item(source: Following, number: int, state: ItemState, kind: str = "Article",
                **extra: Any) -> SyndicatedItem:
    uri = f"https://sister.example/objects/{kind.lower()}/{number}"
    fields: dict[str, Any] = dict(
        source=source, object_uri=uri, type=kind, actor_uri=SISTER, state=state,
        name=f"Item {number} <b>", summary="<p>Résumé</p>",
        document={"id": uri, "content": f"<p>Contenu {number}</p>", "location": "La Cale"},
        url=f"https://sister.example/{number}", published_at=datetime(2026, 5, number, tzinfo=UTC))
    if kind == "Event":
        fields.update(start_at=datetime(2026, 6, 9, 16, tzinfo=UTC),
                      end_at=datetime(2026, 6, 9, 18, tzinfo=UTC))
    fields.update(extra)
    return await SyndicatedItem.create(**fields)


async def _visible_set(site: Any) -> Following:
    source = await _source(site)
    await _item(source, 1, ItemState.APPROVED)
    await _item(source, 2, ItemState.STORED, "Event")
    await _item(source, 3, ItemState.PENDING_REVIEW)
    await _item(source, 4, ItemState.REJECTED, "Event")
    await _item(source, 5, ItemState.WITHDRAWN)
    return source


async def test_json_feed_lists_only_approved_and_stored_items(site):
    """Pending, rejected and withdrawn items never appear in the JSON Feed (all and per source)."""
    source = await _visible_set(site)
    for path in ("/feeds/syndication.json", f"/feeds/syndication/{source.id}.json"):
        response = await site.get(path)
        assert response.status == 200
        feed = json.loads(await response.read())
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        ids = {item["id"].rsplit("/", 1)[-1] for item in feed["items"]}
        assert ids == {"1", "2"}
    event = next(i for i in feed["items"] if i["_activitypub"]["type"] == "Event")
    assert event["_event"]["start"] == "2026-06-09T16:00:00Z"


async def test_atom_feed_is_escaped_and_lists_only_visible_items(site):
    """The Atom feed escapes titles and lists approved and stored items only."""
    await _visible_set(site)
    response = await site.get("/feeds/syndication.atom")
    assert response.content_type == "application/atom+xml"
    text = await response.text()
    assert text.count("<entry>") == 2 and "Item 1 &lt;b&gt;" in text
    assert "objects/article/3" not in text and "objects/article/5" not in text


async def test_icalendar_feed_has_the_visible_events_only(site):
    """The iCalendar feed has the stored event, not the rejected one."""
    await _visible_set(site)
    response = await site.get("/feeds/syndication.ics")
    assert response.content_type == "text/calendar"
    calendar = icalendar.Calendar.from_ical(await response.read())
    events = [c for c in calendar.walk("VEVENT")]
    assert [str(e["uid"]) for e in events] == ["https://sister.example/objects/event/2"]
    assert str(events[0]["location"]) == "La Cale"


async def test_unknown_source_feed_is_404(site):
    """An unknown or malformed source id answers 404."""
    for path in ("/feeds/syndication/999.json", "/feeds/syndication/x.atom"):
        assert (await site.get(path)).status == 404


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def _login(client: Any) -> None:
    page = await client.get("/admin/login")
    response = await client.post("/admin/login", data={
        "csrf": _csrf(await page.text()), "username": "camille", "password": PASSWORD},
        allow_redirects=False)
    assert response.status == 303


async def test_queue_requires_a_login(site):
    """Without a session the queue redirects to the login page, with the admin headers."""
    response = await site.get("/admin/syndication", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/admin/login"
    assert response.headers["Content-Security-Policy"].startswith(CSP)


async def test_moderator_approves_from_the_queue_and_our_actor_boosts(site):
    """The queue shows pending items escaped; approving (with the CSRF token) sends an Announce."""
    source = await _source(site)
    item = await _item(source, 1, ItemState.PENDING_REVIEW,
                       document={"content": "<p>ok</p><script>alert(1)</script>"})
    await _login(site)
    page = await site.get("/admin/syndication")
    assert page.status == 200 and page.headers["Content-Security-Policy"].startswith(CSP)
    html = await page.text()
    assert "Item 1 &lt;b&gt;" in html and "<script>" not in html
    assert 'href="/admin/syndication"' in html  # the navigation of the moderation UI
    forged = await site.post("/admin/syndication", data={"one": f"approve:{item.id}",
                                                         "csrf": "wrong"})
    assert forged.status == 403
    assert (await SyndicatedItem.get()).state == ItemState.PENDING_REVIEW
    response = await site.post("/admin/syndication", data={
        "one": f"approve:{item.id}", "csrf": _csrf(html)}, allow_redirects=False)
    assert response.status == 303
    item = await SyndicatedItem.get()
    assert item.state == ItemState.APPROVED and item.decided_by == "camille"
    announce = await OutboxActivity.get(type="Announce")
    assert announce.document["object"] == item.object_uri
    assert announce.document["cc"] == ["http://127.0.0.1:8080/actors/site/followers", SISTER]
    decision = await Decision.get(subject_type="syndicated")
    assert (decision.moderator, decision.from_state, decision.to_state) == (
        "camille", "pending_review", "approved")


async def test_queue_speaks_english_for_an_english_moderator(site):
    """The page is in the moderator's language."""
    account = await accounts.create_account("sam", PASSWORD, language="en")
    assert account is not None
    page = await site.get("/admin/login")
    await site.post("/admin/login", data={"csrf": _csrf(await page.text()), "username": "sam",
                                          "password": PASSWORD})
    html = await (await site.get("/admin/syndication")).text()
    assert "Sister sites" in html and "To review" in html


async def test_rejecting_an_announced_item_undoes_the_boost(site):
    """Reject after approval: Undo(Announce) of our boost, and the item leaves the exports."""
    from federation.syndication.service import decide

    directory = site.server.app[DIRECTORY]
    source = await _source(site)
    item = await _item(source, 1, ItemState.PENDING_REVIEW)
    await decide(directory, item.id, "approve", "cli")
    await decide(directory, item.id, "reject", "cli")
    undo = await OutboxActivity.get(type="Undo")
    assert undo.document["object"]["type"] == "Announce"
    feed = json.loads(await (await site.get("/feeds/syndication.json")).read())
    assert feed["items"] == []


async def test_api_needs_a_moderator_token_with_the_right_scope(site):
    """No token: 401; a read-only token lists but cannot approve (403); a full token approves."""
    source = await _source(site)
    item = await _item(source, 1, ItemState.PENDING_REVIEW)
    assert (await site.get("/api/v1/syndication/items")).status == 401
    read = await accounts.create_token("camille", scopes=(accounts.SCOPE_READ,))
    write = await accounts.create_token("camille", scopes=(accounts.SCOPE_MODERATION,))
    listing = await site.get("/api/v1/syndication/items",
                             headers={"Authorization": f"Bearer {read}"})
    assert [i["id"] for i in (await listing.json())["items"]] == [item.id]
    path = f"/api/v1/syndication/items/{item.id}/approve"
    assert (await site.post(path, headers={"Authorization": f"Bearer {read}"})).status == 403
    response = await site.post(path, headers={"Authorization": f"Bearer {write}"})
    assert response.status == 200 and (await response.json())["state"] == "approved"
    again = await site.post(path, headers={"Authorization": f"Bearer {write}"})
    assert again.status == 409


async def test_ids_no_row_can_have_are_not_found_not_500(site):
    """A queue form or API call naming an id beyond 32 bits (PostgreSQL's error, not a miss)
    or below 1 reports "not found" for it; the other ids of the batch are still decided."""
    source = await _source(site)
    item = await _item(source, 1, ItemState.PENDING_REVIEW)
    await _login(site)
    html = await (await site.get("/admin/syndication")).text()
    response = await site.post("/admin/syndication", data=[
        ("csrf", _csrf(html)), ("action", "approve"), ("ids", "2147483648"), ("ids", "-3"),
        ("ids", str(item.id))], allow_redirects=False)
    assert response.status == 303 and "done.partial" in response.headers["Location"]
    assert (await SyndicatedItem.get()).state == ItemState.APPROVED


async def test_a_refused_decision_is_said_in_the_moderators_language(site):
    """Approving an item already shared said « #1: an item that is approved cannot be
    approved » in English on the French page; now French, the state named as its tab."""
    source = await _source(site)
    item = await _item(source, 1, ItemState.APPROVED)
    await _login(site)
    html = await (await site.get("/admin/syndication")).text()
    response = await site.post("/admin/syndication", data={
        "csrf": _csrf(html), "one": f"approve:{item.id}"})
    page = await response.text()
    assert (f"#{item.id} : cet élément est dans « Partagés » : il ne peut pas être partagé."
            in page.replace("&#34;", '"').replace("&#39;", "'"))
    assert "cannot be approved" not in page
