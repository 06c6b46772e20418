"""A stored row, whatever its content, never breaks a page that shows it (security checklist 40).

Rows are written straight to the database, as an older version (or a bug since fixed) could
have left them: malformed URLs, ``javascript:``, CR/LF, markup, bidi overrides, odd Unicode,
empty and very long values, JSON of the wrong shape — in every text and URL field of every
model a page renders. Then every admin page (as a moderator and anonymously), every moderation
and syndication API list, and every public page is fetched: no 5xx, markup escaped,
``javascript:`` and other non-http(s) URLs never rendered as links (nor as redirects).
"""

from __future__ import annotations

import html
import itertools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from tortoise.models import Model

from federation.app import create_app
from federation.db.content import ContentObject, ObjectKind, OutboxActivity
from federation.db.delivery import HostHealth
from federation.db.ingest import ApiToken, Feed, FeedKind
from federation.db.moderation import (
    Decision,
    Interaction,
    InteractionKind,
    Reply,
    ReplyAuthorization,
    ReplyKind,
    ReplyState,
    Report,
)
from federation.db.raw import placeholders
from federation.db.social import (
    Block,
    BlockKind,
    Follower,
    Following,
    FollowState,
    RemoteActor,
    SyndicationPolicy,
)
from federation.db.syndication import ItemState, SyndicatedItem
from federation.moderation import accounts
from federation.protocol.uris import is_http_url
from federation.settings import Settings
from federation.web.state import DIRECTORY

PASSWORD = "correct horse battery staple"
BASE = "http://127.0.0.1:8080"
LONG_URL = "https://long.example/" + "a" * 2000

#: Values for URL columns (each fits the 2048 characters of the column).
HOSTILE_URLS = [
    "http://[",
    "javascript:alert(1)",
    " JaVaScRiPt:alert(2)",
    "data:text/html,<script>alert(3)</script>",
    "https://crlf.example/a\r\nSet-Cookie: evil=1",
    'https://quote.example/"><script>alert(4)</script>',
    "//relative.example/x",
    "\u202ehttps://rtl.example/",
    "https://\u0000".replace("\u0000", "\ufffe") + "odd.example/",
    "",
    LONG_URL,
    "http://[::1",
    "https://bad port.example:99999/",
]
#: Values for text columns.
HOSTILE_TEXTS = [
    "<script>alert(5)</script>",
    '"><img src=x onerror=alert(6)>',
    "\u202eevil.exe\u202c txt",
    "\u0001\u007f\u2028\u2029\ufeff\ufffe\uffff\u200d\U0001f4a9e\u0301",
    "",
    "line\r\nbreak\rand\nmore",
    "<b>" * 25_000,  # 100 KB of markup
    "{{ 7 * 7 }} {% raw %}",
]
#: Wrong-shaped JSON for list columns (attachments, report objects…).
ODD_LISTS: list[Any] = [
    "http://[", 42, {"href": "javascript:alert(7)"}, None, [None, 3, ["x"], {"a": 1}],
    ["http://[", "javascript:alert(8)", "https://ok.example/x"], [],
]


def _short(value: str, length: int) -> str:
    return value[:length]


async def _set_json(model: type[Model], row_id: int, **columns: Any) -> None:
    """Write JSON values the ORM would refuse (a bare string, null) into ``model``'s row."""
    db = model._meta.db
    for column, value in columns.items():
        mark, id_mark = placeholders(db.capabilities.dialect, 2)
        await db.execute_query(f"UPDATE {model._meta.db_table} SET {column} = {mark} "
                               f"WHERE id = {id_mark}", [json.dumps(value), row_id])


#: A URL attribute in our HTML (always double-quoted: Jinja's autoescape and nh3 write them so).
URL_ATTRIBUTE = re.compile(r'\s(?:href|src|action|formaction)\s*=\s*"([^"]*)"', re.IGNORECASE)


def _is_own_link(url: str) -> bool:
    """A link we may render: a path of ours, a query, or an absolute http(s) URL."""
    if url.startswith(("?", "#")):
        return True
    if url.startswith("/") and not url.startswith("//"):
        return True
    return is_http_url(url) and not any(ch.isspace() or ord(ch) < 32 for ch in url)


#: The one script an admin page loads: ours, from /admin/static/ (keyboard shortcuts).
OUR_SCRIPT = '<script src="/admin/static/shortcuts.js" defer></script>'


def check_html(path: str, body: str) -> None:
    lowered = body.replace(OUR_SCRIPT, "", 1).lower()
    assert "<script" not in lowered and "<img" not in lowered and "<svg" not in lowered, path
    for url in URL_ATTRIBUTE.findall(body):
        assert _is_own_link(html.unescape(url)), (path, url[:100])


async def _seed(app: Any) -> dict[str, Any]:
    """Hostile rows in every model a page shows; what to fetch."""
    directory = app[DIRECTORY]
    site = directory.site_actor
    collective = directory.get("halte-au-controle-numerique")
    counter = itertools.count(1)
    now = datetime.now(UTC)
    objects: list[ContentObject] = []
    replies: list[Reply] = []
    tokens: list[str] = []
    activities: list[str] = []
    sources: list[Following] = []
    pairs = list(itertools.zip_longest(HOSTILE_URLS, HOSTILE_TEXTS, fillvalue="x"))
    for number, (url, text) in enumerate(pairs):
        n = next(counter)
        unique = f"{url}#{n}" if url else f"#{n}"
        remote = await RemoteActor.create(
            uri=_short(unique, 2048), domain=_short(text or url, 255), inbox=url,
            shared_inbox=url, username=_short(text, 255), name=_short(text, 255), url=url,
            type=_short(text, 32) or "Person", key_id=url, public_key_pem=text,
            fetched_at=now,
        )
        object_id = f"h{n}"
        obj = await ContentObject.create(
            actor_id=collective.db_id, kind=ObjectKind.ARTICLE, source="push",
            source_id=object_id, uri=directory.uris.object("article", object_id), url=url,
            document={"id": directory.uris.object("article", object_id), "type": "Article",
                      "name": text if number % 2 else 42, "summary": text, "url": url,
                      "replies": {"id": url, "type": "Collection"} if number % 3 else url},
            content_hash=text[:64], pinned=True, published_at=now - timedelta(days=1),
        )
        objects.append(obj)
        for state in ReplyState:
            reply = await Reply.create(
                uri=_short(f"{unique}/{state}", 2048), kind=list(ReplyKind)[number % 3],
                author=remote, local_actor_id=site.db_id if number % 2 else None,
                target=obj if number % 4 else None, in_reply_to_uri=url,
                thread_root_uri=obj.uri if number % 4 else url, request_activity_uri=url,
                object_type=_short(text, 32), url=url, name=text, summary=text,
                content_html=text + f'<a href="{url}">l</a><script>alert(9)</script>',
                language=_short(text, 16) or None, is_public=bool(number % 2),
                state=state, authorization_uri=url or None, published_at=now,
                edited_at=now if number % 2 else None,
            )
            await _set_json(Reply, reply.id, attachments=ODD_LISTS[number % len(ODD_LISTS)],
                            history=ODD_LISTS[(number + 1) % len(ODD_LISTS)])
            replies.append(reply)
        token = f"tok{n}"
        tokens.append(token)
        await ReplyAuthorization.create(
            token=token, uri=_short(f"{unique}/authorization", 2048), reply=replies[-4],
            actor_uri=url, interacting_uri=url, target_uri=url,
        )
        report = await Report.create(
            activity_uri=_short(f"{unique}/flag", 2048), reporter=remote if number % 2 else None,
            object_uris=[url, replies[0].uri], content=text,
        )
        if number % 3:
            await _set_json(Report, report.id, object_uris=ODD_LISTS[number % len(ODD_LISTS)])
        await Interaction.create(kind=InteractionKind.LIKE, activity_uri=_short(f"{unique}/like",
                                 2048), remote=remote, object_uri=obj.uri)
        await Block.create(kind=list(BlockKind)[number % 2], value=url or f"#{n}",
                           reason=text, created_by=_short(text, 255))
        for action in ("approve", _short(text, 32), "block_domain"):
            await Decision.create(moderator=_short(text, 64), action=action,
                                  subject_type=_short(text, 32), subject_uri=url,
                                  from_state=_short(text, 16) or None,
                                  to_state=_short(text, 16) or None, note=text)
        await Follower.create(actor_id=collective.db_id, remote=remote,
                              state=list(FollowState)[number % 3], follow_activity_uri=url)
        await ApiToken.create(name=_short(f"{n}{text}", 100), token_hash=f"{n:064d}",
                              prefix=_short(text, 16), actors=[text, url])
        await HostHealth.create(host=_short(f"{n}{text}", 255), unavailable=bool(number % 2),
                                set_aside_until=now, last_error=_short(text, 500) or None)
        source = await Following.create(
            actor_id=site.db_id, target_uri=url, remote=remote if number % 2 else None,
            state=FollowState.ACCEPTED, policy=list(SyndicationPolicy)[number % 3],
            is_relay=bool(number % 2), follow_activity_uri=_short(f"{unique}/follow", 2048),
        )
        sources.append(source)
        for state in ItemState:
            kind = ("Event", "Article", _short(text, 32))[number % 3]
            item = await SyndicatedItem.create(
                source=source, object_uri=_short(f"{unique}/{state}", 2048), type=kind,
                actor_uri=url, via_uri=url or None,
                document={"id": url, "content": text + f'<a href="{url}">l</a>',
                          "location": (text, {"name": text}, 7)[number % 3],
                          "tags": [text], "image": url, "timezone": text},
                name=_short(text, 500), summary=text, url=url, published_at=now,
                start_at=now if number % 2 else None,
                end_at=now - timedelta(hours=1) if number % 2 else None, state=state,
                announce_activity_uri=url or None, decided_by=_short(text, 64),
            )
            if state == ItemState.APPROVED:
                await _set_json(SyndicatedItem, item.id,
                                document=ODD_LISTS[number % len(ODD_LISTS)])
        activity_id = f"a{n}"
        activities.append(activity_id)
        await OutboxActivity.create(
            uri=directory.uris.activity(activity_id), actor_id=collective.db_id, type="Create",
            object_uri=obj.uri, document={"id": directory.uris.activity(activity_id),
                                          "type": "Create", "object": {"url": url, "name": text}},
        )
        await Feed.create(actor_id=collective.db_id, url=_short(f"{unique}/feed", 2048),
                          kind=FeedKind.RSS, etag=_short(text, 512) or None,
                          last_modified=_short(text, 64) or None, next_poll_at=now,
                          last_error=text)
    return {"objects": objects, "replies": replies, "tokens": tokens,
            "activities": activities, "sources": sources}


def _pages(seeded: dict[str, Any], directory: Any) -> tuple[list[str], list[str], list[str]]:
    """(admin pages, API lists, public pages) to fetch."""
    admin = ["/admin/", "/admin/approved", "/admin/rejected", "/admin/spam", "/admin/reports",
             "/admin/blocks", "/admin/log", "/admin/log?cursor=10", "/admin/federation",
             "/admin/followers", "/admin/followers?actor=halte-au-controle-numerique",
             "/admin/feeds", "/admin/following", "/admin/tokens", "/admin/deliveries"]
    admin += [f"/admin/syndication?state={state}" for state in ItemState]
    one_per_set = seeded["replies"][::len(ReplyState)]
    admin += [f"/admin/thread/{reply.id}" for reply in one_per_set]
    api = [f"/api/v1/moderation/replies?state={state}&limit=200" for state in ReplyState]
    api += [f"/api/v1/moderation/replies/{reply.id}" for reply in one_per_set]
    api += ["/api/v1/moderation/reports", "/api/v1/moderation/reports?resolved=true",
            "/api/v1/syndication/sources"]
    api += [f"/api/v1/syndication/items?state={state}&limit=200" for state in ItemState]
    public = ["/feeds/syndication.atom", "/feeds/syndication.json", "/feeds/syndication.ics"]
    public += [f"/feeds/syndication/{s.id}.{fmt}" for s in seeded["sources"]
               for fmt in ("atom", "json", "ics")]
    for obj in seeded["objects"]:
        object_id = obj.source_id
        public += [f"/objects/article/{object_id}", f"/objects/article/{object_id}/replies",
                   f"/objects/article/{object_id}/replies?page=1",
                   f"/objects/article/{object_id}/likes", f"/objects/article/{object_id}/shares",
                   f"/feeds/replies/article/{object_id}.atom"]
    public += [f"/authorizations/{token}" for token in seeded["tokens"]]
    public += [f"/activities/{activity}" for activity in seeded["activities"]]
    for identifier in ("site", "halte-au-controle-numerique"):
        public += [f"/actors/{identifier}", f"/actors/{identifier}/outbox?page=1",
                   f"/actors/{identifier}/followers?page=1", f"/actors/{identifier}/featured",
                   f"/actors/{identifier}/following?page=1"]
    public += ["/nodeinfo/2.1", "/.well-known/nodeinfo"]
    return admin, api, public


#: Keys of the JSON APIs and feeds whose values the site and scripts render as links.
LINK_KEYS = {"url", "object_url", "home_page_url", "feed_url", "image", "external_url"}


def _links_in(document: Any) -> list[Any]:
    if isinstance(document, list):
        return [link for item in document for link in _links_in(item)]
    if not isinstance(document, dict):
        return []
    return [value if key in LINK_KEYS else link for key, value in document.items()
            for link in ([value] if key in LINK_KEYS else _links_in(value))]


def check_answer(path: str, status: int, content_type: str, body: bytes,
                 location: str | None) -> None:
    assert status < 500, (path, status, body[:300])
    if location is not None:
        assert _is_own_link(location), (path, location[:100])
    if status >= 300:
        return
    if content_type == "text/html":
        check_html(path, body.decode())
    elif content_type in ("application/json", "application/feed+json"):
        for value in _links_in(json.loads(body)):  # what the site shows as links
            assert value is None or _is_own_link(value), (path, value[:100])
    elif "json" in content_type:
        json.loads(body)  # ActivityPub documents: we serve what we published
    elif content_type == "application/atom+xml":
        feed = ET.fromstring(body)
        for link in feed.iter("{http://www.w3.org/2005/Atom}link"):
            assert _is_own_link(link.get("href", "")), (path, link.get("href", "")[:100])
    elif content_type == "text/calendar":
        calendar = icalendar.Calendar.from_ical(body)
        for event in calendar.walk("VEVENT"):
            if "url" in event:
                assert _is_own_link(str(event["url"])), path


@pytest.fixture
async def site(database_url: str, make_settings: Callable[..., Settings],
               aiohttp_client: Any) -> Any:
    settings = make_settings(database_url, base_url=BASE, server={"run_worker": False})
    client = await aiohttp_client(create_app(settings))
    await accounts.create_account("camille", PASSWORD, is_admin=True)  # every page
    return client


async def _get(client: Any, problems: list[str], path: str, **headers: str) -> None:
    """Fetch ``path``; what is wrong with the answer goes to ``problems``."""
    response = await client.get(path, headers=headers, allow_redirects=False)
    body = await response.read()
    try:
        check_answer(path, response.status, response.content_type, body,
                     response.headers.get("Location"))
    except (AssertionError, ValueError) as error:
        problems.append(f"{path} {headers}: {str(error).splitlines()[0][:200]}")


async def _login(client: Any) -> None:
    page = await (await client.get("/admin/login")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = await client.post("/admin/login", allow_redirects=False, data={
        "csrf": csrf, "username": "camille", "password": PASSWORD})
    assert response.status == 303


async def test_hostile_rows_break_no_page(site):
    """Every admin, API and public page answers (no 5xx) with hostile rows in every field, and
    renders no markup from them and no link or redirect to anything but http(s)."""
    seeded = await _seed(site.app)
    admin, api, public = _pages(seeded, site.app[DIRECTORY])
    html = {"Accept": "text/html"}
    activity = {"Accept": "application/activity+json"}
    problems: list[str] = []
    for path in admin + public:  # anonymously
        await _get(site, problems, path, **html)
    for path in public:
        await _get(site, problems, path, **activity)
    for path in api:
        await _get(site, problems, path)  # 401
    token = await accounts.create_token("camille")
    for path in api:
        await _get(site, problems, path, Authorization=f"Bearer {token}")
    await _login(site)
    for path in admin:
        await _get(site, problems, path, **html)
    assert not problems, "\n".join(problems)
    reports = await (await site.get("/admin/reports")).text()
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in reports  # shown, escaped
