"""The editorial queue of sister sites' items at ``/admin/syndication`` (server-rendered).

It is a page of the admin shell (:mod:`federation.web.admin`), like the moderation UI: the same
session cookie, CSRF token, login, Content-Security-Policy and headers (applied to every
``/admin/`` answer), the same base template and stylesheet. Remote content is rendered only
from its stored sanitised HTML, sanitised again (:func:`~federation.web.admin.clean_html`);
links only for http(s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from markupsafe import Markup

from federation.db.social import Following
from federation.db.syndication import ItemState, SyndicatedItem
from federation.errors import BadRequest
from federation.protocol.uris import link_url
from federation.syndication.items import title_of
from federation.syndication.service import ACTIONS, decide_many
from federation.web import admin as shell
from federation.web.admin import (
    PAGE_SIZE,
    NavItem,
    back_target,
    clean_html,
    failure_code,
    format_time,
    page_cursor,
    require_session,
    require_session_post,
    row_ids,
    see_other,
    see_other_done,
    selection,
    site_zone,
)
from federation.web.state import DIRECTORY

routes = web.RouteTableDef()

PATH = "/admin/syndication"
STATES = [str(s) for s in ItemState]

_env = shell.environment("federation.syndication.web")


@dataclass(frozen=True)
class ItemView:
    id: int
    state: str
    type: str
    title: str
    summary: Markup
    content: Markup
    author: str
    author_href: str | None
    original_href: str | None
    source: str
    via: str | None
    received_at: str
    published_at: str | None
    start_at: str | None
    end_at: str | None
    location: str


def _view(item: SyndicatedItem, sources: dict[int, Following], zone: Any) -> ItemView:
    document = item.document if isinstance(item.document, dict) else {}
    raw_content = document.get("content")
    content = raw_content if isinstance(raw_content, str) else ""
    source = sources.get(item.source_id)
    source_name = "?"
    if source is not None:
        remote = source.remote
        source_name = remote.handle if remote is not None else source.target_uri
    return ItemView(
        id=item.id, state=str(item.state), type=item.type,
        title=title_of(item.name, item.summary, content),
        summary=clean_html(item.summary), content=clean_html(content),
        author=item.actor_uri, author_href=link_url(item.actor_uri),
        original_href=link_url(item.url) or link_url(item.object_uri),
        source=source_name, via=item.via_uri,
        received_at=format_time(item.received_at, zone) or "",
        published_at=format_time(item.published_at, zone),
        start_at=format_time(item.start_at, zone), end_at=format_time(item.end_at, zone),
        location=document["location"] if isinstance(document.get("location"), str) else "",
    )


async def _render(request: web.Request, session: Any, **context: Any) -> web.Response:
    return await shell.render(request, _env, "syndication.html", session,
                              request_path=request.path_qs, view="syndication", **context)


@routes.get(PATH)
async def queue(request: web.Request) -> web.Response:
    """Items in one state (default: waiting for review, oldest first), and the sources."""
    session = await require_session(request)
    state = request.query.get("state", str(ItemState.PENDING_REVIEW))
    if state not in STATES:
        state = str(ItemState.PENDING_REVIEW)
    oldest_first = state == ItemState.PENDING_REVIEW
    query = SyndicatedItem.filter(state=state)
    cursor = page_cursor(request)
    if cursor is not None:
        query = query.filter(id__gt=cursor) if oldest_first else query.filter(id__lt=cursor)
    items = await query.order_by("id" if oldest_first else "-id").limit(PAGE_SIZE + 1)
    more = len(items) > PAGE_SIZE
    items = items[:PAGE_SIZE]
    sources = {row.id: row for row in
               await Following.all().order_by("id").prefetch_related("remote", "actor")}
    zone = site_zone(request)
    waiting = await SyndicatedItem.filter(state=ItemState.PENDING_REVIEW).count()
    return await _render(
        request, session, state=state, states=STATES, waiting=waiting,
        items=[_view(item, sources, zone) for item in items],
        next_cursor=items[-1].id if more and items else None,
        sources=[{"id": row.id, "actor": row.actor.identifier,
                  "name": row.remote.handle if row.remote else row.target_uri,
                  "href": link_url(row.target_uri), "state": str(row.state),
                  "policy": str(row.policy), "relay": row.is_relay} for row in sources.values()],
        failures=shell.failures(request),
    )


@routes.post(PATH)
async def act(request: web.Request) -> web.Response:
    """``one=<action>:<id>``, or ``action`` with checked ``ids``: approve or reject."""
    session, form = await require_session_post(request)
    back = back_target(form, PATH)
    action, ids = selection(form)
    if action not in ACTIONS:
        raise BadRequest("unknown action", key="error.action.unknown")
    numbers = row_ids(ids, "item")
    if not numbers:
        raise see_other(back, msg="nothing_selected")
    outcomes = await decide_many(request.app[DIRECTORY], numbers, action,
                                 session.account.username)
    failures = [failure_code(f"#{o.item_id}", key=o.error_key, params=o.error_params or {})
                for o in outcomes if not o.ok]
    if failures:
        raise see_other_done(back, [], failures)
    raise see_other(back, msg="done")


def setup(app: web.Application) -> None:
    shell.register(app,
                   nav=[NavItem("syndication", PATH, "nav.syndication")])
    app.router.add_routes(routes)
