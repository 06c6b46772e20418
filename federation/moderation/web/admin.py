"""The moderators' web UI at ``/admin/`` (server-rendered, no JavaScript).

Security (docs/moderation.md):

- a session cookie (random token, only its sha-256 stored; HttpOnly, SameSite=Strict, path
  ``/admin``, Secure when the base URL is https) with an expiry, deleted on logout;
- a CSRF synchronizer token, tied to the session, in every form; a POST without it, or with a
  wrong one, is a 403 (the login form uses a double-submit cookie);
- login attempts limited per client, per client and username, and per username, counted
  before the password is checked (:class:`~federation.moderation.logins.LoginGuard`; clients
  only as keyed hashes of their address, kept in memory);
- every ``/admin/`` answer carries a strict Content-Security-Policy, ``X-Frame-Options: DENY``
  and ``Cache-Control: no-store``; styles come from ``/admin/static/`` only;
- remote content is rendered only from the stored sanitised ``content_html`` (sanitised again
  here, defence in depth); everything else is autoescaped; remote avatars are never loaded
  (initials instead), links to remote pages only for http(s) URLs;
- a stored row, whatever its content, never breaks a page: URLs become links only through
  :func:`~federation.protocol.uris.link_url` (else plain text), JSON columns are read whatever
  their shape (:func:`strings`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from markupsafe import Markup

from federation.db import column, is_row_id
from federation.db.content import ContentObject
from federation.db.moderation import REPORT_ACTIONS, Action, Decision, Reply, ReplyState, Report
from federation.db.social import Block
from federation.errors import Conflict, FederationError, NotFound, TooManyRequests
from federation.moderation.accounts import (
    SessionInfo,
    authenticate,
    close_session,
    csrf_matches,
    open_session,
)
from federation.moderation.web.i18n import MESSAGES
from federation.moderation.web.keys import LOGIN_GUARD, MODERATION
from federation.protocol.numbers import is_ascii_digits
from federation.protocol.uris import link_url
from federation.ratelimit import retry_after_seconds
from federation.web import admin as shell
from federation.web.admin import (
    COOKIE_PATH,
    LANGUAGE_COOKIE,
    LOGIN_COOKIE,
    PAGE_SIZE,
    SESSION_COOKIE,
    NavItem,
    back_target,
    clean_html,
    find_request_session,
    format_time,
    page_cursor,
    read_form,
    require_session,
    require_session_post,
    row_ids,
    see_other,
    selection,
    set_cookie,
    site_zone,
)
from federation.web.admin.i18n import LANGUAGES, normalise_language
from federation.web.clients import client_address
from federation.web.state import SETTINGS

routes = web.RouteTableDef()

_env = shell.environment("federation.moderation.web")


def strings(value: Any, limit: int) -> list[str]:
    """The strings of a stored JSON list (a lone string counts as one), at most ``limit``:
    a row written by an older version may hold any JSON there."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [item for item in items if isinstance(item, str)][:limit]


def initials(name: str) -> str:
    words = [w for w in name.replace("@", " ").replace("_", " ").split() if w[:1].isalnum()]
    letters = "".join(w[0] for w in words[:2]).upper()
    return letters or "?"


# -- view models ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyView:
    id: int
    state: str
    kind: str
    author_name: str
    author_handle: str
    author_href: str | None
    instance: str
    initials: str
    received_at: str
    published_at: str | None
    content: Markup
    summary: str
    target_title: str | None
    target_href: str | None
    answers_reply: bool
    original_href: str | None
    is_public: bool
    edited: bool
    attachments: int
    thread_size: int


def _title(obj: ContentObject) -> str:
    document = obj.document if isinstance(obj.document, dict) else {}
    for key in ("name", "summary"):
        value = document.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return obj.url or obj.uri


async def _reply_views(replies: Iterable[Reply], zone: ZoneInfo) -> list[ReplyView]:
    replies = list(replies)
    roots = {r.thread_root_uri for r in replies if r.thread_root_uri}
    sizes: dict[str, int] = {}
    if roots:
        root: str
        for root in await column(Reply.filter(thread_root_uri__in=list(roots)),
                                 "thread_root_uri"):
            sizes[root] = sizes.get(root, 0) + 1
    views = []
    for reply in replies:
        author = reply.author
        target = reply.target
        views.append(ReplyView(
            id=reply.id,
            state=str(reply.state),
            kind=str(reply.kind),
            author_name=author.name or author.handle,
            author_handle=author.handle,
            author_href=link_url(author.url) or link_url(author.uri),
            instance=author.authority,
            initials=initials(author.name or author.username or author.domain),
            received_at=format_time(reply.received_at, zone) or "",
            published_at=format_time(reply.published_at, zone),
            content=clean_html(reply.content_html),
            summary=reply.summary,
            target_title=_title(target) if target is not None else None,
            target_href=link_url(target.url) or link_url(target.uri) if target else None,
            answers_reply=bool(target and reply.in_reply_to_uri
                               and reply.in_reply_to_uri != target.uri),
            original_href=link_url(reply.url) or link_url(reply.uri),
            is_public=reply.is_public,
            edited=reply.edited_at is not None,
            attachments=len(reply.attachments) if isinstance(reply.attachments, list) else 0,
            thread_size=sizes.get(reply.thread_root_uri or "", 1),
        ))
    return views


async def _render(request: web.Request, template: str, session: SessionInfo | None,
                  status: int = 200, **context: Any) -> web.Response:
    return await shell.render(request, _env, template, session, status=status, **context)


# -- login, logout, language -----------------------------------------------------------------


@routes.get("/admin/login")
async def login_page(request: web.Request) -> web.Response:
    if await find_request_session(request) is not None:
        raise web.HTTPSeeOther(location="/admin/")
    token = secrets.token_urlsafe(24)
    response = await _render(request, "login.html", None, login_csrf=token, error_key=None)
    set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
    if request.query.get("lang") in LANGUAGES:
        set_cookie(request, response, LANGUAGE_COOKIE, request.query["lang"], 365 * 86400)
    return response


@routes.post("/admin/login")
async def login(request: web.Request) -> web.Response:
    form = await read_form(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not csrf_matches(expected, form.get("csrf")):
        raise web.HTTPForbidden(text="403: forbidden\n")
    username = str(form.get("username", ""))[:64].strip()
    password = str(form.get("password", ""))
    guard = request.app[LOGIN_GUARD]
    settings = request.app[SETTINGS]
    token = secrets.token_urlsafe(24)
    try:  # counted before the check, with no await in between (concurrent guesses)
        attempt = guard.begin(client_address(request, settings.server.trusted_proxies), username)
    except TooManyRequests as error:
        response = await _render(request, "login.html", None, status=429, login_csrf=token,
                           error_key="login.limited")
        response.headers["Retry-After"] = str(retry_after_seconds(error.retry_after))
    else:
        account = await authenticate(username, password)
        if account is not None:
            guard.succeeded(attempt)
            hours = settings.moderation.session_hours
            session_token = await open_session(account, hours=hours)
            response = web.HTTPSeeOther(location="/admin/")
            set_cookie(request, response, SESSION_COOKIE, session_token, max_age=hours * 3600)
            response.del_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
            raise response
        response = await _render(request, "login.html", None, status=401, login_csrf=token,
                           error_key="login.failed")
    set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
    return response


@routes.post("/admin/logout")
async def logout(request: web.Request) -> web.Response:
    await require_session_post(request)
    await close_session(request.cookies.get(SESSION_COOKIE))
    response = web.HTTPSeeOther(location="/admin/login")
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    raise response


@routes.post("/admin/language")
async def switch_language(request: web.Request) -> web.Response:
    session, form = await require_session_post(request)
    language = normalise_language(str(form.get("lang", "")))
    session.account.language = language
    await session.account.save(update_fields=["language"])
    raise see_other(back_target(form))


# -- queues ------------------------------------------------------------------------------


async def _pending_count() -> int:
    return await Reply.filter(state=ReplyState.PENDING).count()


async def _open_reports() -> int:
    return await Report.filter(resolved=False).count()


async def _queue(request: web.Request, state: ReplyState) -> web.Response:
    """Pending replies oldest first (the queue), decided ones newest first; ``?cursor=<id>``."""
    session = await require_session(request)
    query = Reply.filter(state=state)
    cursor = page_cursor(request)
    oldest_first = state == ReplyState.PENDING
    if cursor is not None:
        query = query.filter(id__gt=cursor) if oldest_first else query.filter(id__lt=cursor)
    replies = await query.order_by("id" if oldest_first else "-id").limit(
        PAGE_SIZE + 1
    ).prefetch_related("author", "target")
    more = len(replies) > PAGE_SIZE
    replies = replies[:PAGE_SIZE]
    views = await _reply_views(replies, site_zone(request))
    next_cursor = replies[-1].id if more and replies else None
    return await _render(request, "queue.html", session, view=str(state), items=views,
                   next_cursor=next_cursor,
                   failures=shell.failures(request))


@routes.get("/admin/")
async def pending(request: web.Request) -> web.Response:
    return await _queue(request, ReplyState.PENDING)


@routes.get("/admin")
async def admin_root(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther(location="/admin/")


@routes.get("/admin/approved")
async def approved(request: web.Request) -> web.Response:
    return await _queue(request, ReplyState.APPROVED)


@routes.get("/admin/rejected")
async def rejected(request: web.Request) -> web.Response:
    return await _queue(request, ReplyState.REJECTED)


@routes.get("/admin/spam")
async def spam(request: web.Request) -> web.Response:
    return await _queue(request, ReplyState.SPAM)


@routes.get("/admin/thread/{reply_id}")
async def thread(request: web.Request) -> web.Response:
    session = await require_session(request)
    try:
        reply_id = int(request.match_info["reply_id"])
    except ValueError:
        raise NotFound("no such reply") from None
    reply = await Reply.get_or_none(id=reply_id) if is_row_id(reply_id) else None
    if reply is None:
        raise NotFound("no such reply")
    if reply.thread_root_uri:
        query = Reply.filter(thread_root_uri=reply.thread_root_uri)
    else:
        query = Reply.filter(id=reply.id)
    replies = await query.order_by("published_at", "id").limit(200).prefetch_related(
        "author", "target"
    )
    views = await _reply_views(replies, site_zone(request))
    return await _render(request, "queue.html", session, view="thread", items=views,
                   next_cursor=None, failures=[])


@routes.post("/admin/replies")
async def act(request: web.Request) -> web.Response:
    """One form for every reply action: ``one=<action>:<id>``, or ``action`` + checked ``ids``."""
    session, form = await require_session_post(request)
    service = request.app[MODERATION]
    moderator = session.account.username
    back = back_target(form)
    action, ids = selection(form)
    numbers = row_ids(ids, "reply")
    if not numbers:
        raise see_other(back, msg="nothing_selected")
    failures: list[str] = []
    if action in (Action.BLOCK_AUTHOR, Action.BLOCK_DOMAIN):
        for number in numbers:
            try:
                if action == Action.BLOCK_AUTHOR:
                    await service.block_author(number, moderator)
                else:
                    await service.block_domain(number, moderator)
            except FederationError as error:
                failures.append(f"#{number}: {error.message}")
    elif action in (Action.APPROVE, Action.REJECT, Action.SPAM, Action.UNDO):
        for outcome in await service.bulk(action, numbers, moderator):
            if not outcome.ok:
                failures.append(f"#{outcome.reply_id}: {outcome.error}")
    else:
        raise web.HTTPBadRequest(text="400: unknown action\n")
    if failures:
        raise see_other(back, msg="done.partial", failed="; ".join(failures)[:500])
    raise see_other(back, msg="done")


# -- reports, blocks, audit log -----------------------------------------------------------------


@routes.get("/admin/reports")
async def reports(request: web.Request) -> web.Response:
    session = await require_session(request)
    rows = await Report.all().order_by("resolved", "-id").limit(200).prefetch_related("reporter")
    zone = site_zone(request)
    objects = {row.id: strings(row.object_uris, 20) for row in rows}
    local = {r.uri: r.id for r in await Reply.filter(
        uri__in=[u for uris in objects.values() for u in uris]
    )}
    items = [{
        "id": row.id,
        "reporter": row.reporter.handle if row.reporter else "?",
        "reporter_instance": row.reporter.authority if row.reporter else "",
        "objects": [{"uri": u, "href": link_url(u), "reply_id": local.get(u)}
                    for u in objects[row.id]],
        "content": row.content,
        "resolved": row.resolved,
        "received_at": format_time(row.received_at, zone),
    } for row in rows]
    return await _render(request, "reports.html", session, view="reports", items=items, failures=[])


@routes.post("/admin/reports")
async def act_on_report(request: web.Request) -> web.Response:
    session, form = await require_session_post(request)
    action, _, raw_id = str(form.get("one", "")).partition(":")
    if action not in REPORT_ACTIONS or not is_ascii_digits(raw_id):
        raise web.HTTPBadRequest(text="400: unknown action\n")
    service, moderator = request.app[MODERATION], session.account.username
    try:
        if action == Action.DELETE:
            await service.delete_report(int(raw_id), moderator)
        else:
            await service.resolve_report(int(raw_id), moderator,
                                         resolved=action == Action.RESOLVE)
    except (NotFound, Conflict) as error:
        raise see_other("/admin/reports", msg="done.partial", failed=error.message) from None
    raise see_other("/admin/reports", msg="done")


@routes.get("/admin/blocks")
async def blocks(request: web.Request) -> web.Response:
    session = await require_session(request)
    zone = site_zone(request)
    rows = await Block.all().order_by("-id").limit(500)
    items = [{"id": b.id, "kind": str(b.kind), "value": b.value, "reason": b.reason,
              "by": b.created_by, "at": format_time(b.created_at, zone)} for b in rows]
    return await _render(request, "blocks.html", session, view="blocks", items=items, failures=[])


@routes.post("/admin/blocks")
async def unblock(request: web.Request) -> web.Response:
    session, form = await require_session_post(request)
    action, _, raw_id = str(form.get("one", "")).partition(":")
    if action != "unblock" or not is_ascii_digits(raw_id):
        raise web.HTTPBadRequest(text="400: unknown action\n")
    try:
        await request.app[MODERATION].unblock(int(raw_id), session.account.username)
    except NotFound as error:
        raise see_other("/admin/blocks", msg="done.partial", failed=error.message) from None
    raise see_other("/admin/blocks", msg="done")


@routes.get("/admin/log")
async def audit_log(request: web.Request) -> web.Response:
    session = await require_session(request)
    query = Decision.all()
    cursor = page_cursor(request)
    if cursor is not None:
        query = query.filter(id__lt=cursor)
    rows = await query.order_by("-id").limit(PAGE_SIZE + 1)
    zone = site_zone(request)
    items = [{"at": format_time(d.created_at, zone), "moderator": d.moderator, "action": d.action,
              "subject_type": d.subject_type, "subject": d.subject_uri,
              "subject_href": link_url(d.subject_uri), "from_state": d.from_state,
              "to_state": d.to_state, "note": d.note} for d in rows[:PAGE_SIZE]]
    next_cursor = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return await _render(request, "log.html", session, view="log", items=items,
                   next_cursor=next_cursor, failures=[])


def setup(app: web.Application) -> None:
    shell.register(app, messages=MESSAGES, nav=[
        NavItem("pending", "/admin/", "nav.pending", count=_pending_count),
        NavItem("approved", "/admin/approved", "nav.approved"),
        NavItem("rejected", "/admin/rejected", "nav.rejected"),
        NavItem("spam", "/admin/spam", "nav.spam"),
        NavItem("reports", "/admin/reports", "nav.reports", count=_open_reports),
        NavItem("blocks", "/admin/blocks", "nav.blocks"),
        NavItem("log", "/admin/log", "nav.log"),
    ])
    app.router.add_routes(routes)

