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
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
import nh3
from aiohttp import web
from markupsafe import Markup

from federation.db import column, is_row_id
from federation.db.content import ContentObject
from federation.db.moderation import REPORT_ACTIONS, Action, Decision, Reply, ReplyState, Report
from federation.db.social import Block
from federation.errors import (
    BadRequest,
    Conflict,
    FederationError,
    NotFound,
    TooManyRequests,
    UnsupportedMediaType,
)
from federation.moderation.accounts import (
    SessionInfo,
    authenticate,
    close_session,
    csrf_matches,
    find_session,
    open_session,
)
from federation.moderation.web.i18n import LANGUAGES, normalise_language, translator
from federation.moderation.web.keys import LOGIN_GUARD, MODERATION
from federation.protocol.numbers import is_ascii_digits
from federation.protocol.text import unstorable_in
from federation.protocol.uris import link_url
from federation.ratelimit import retry_after_seconds
from federation.web.clients import client_address
from federation.web.state import SETTINGS

routes = web.RouteTableDef()

SESSION_COOKIE = "fedmod_session"
LOGIN_COOKIE = "fedmod_login"
LANGUAGE_COOKIE = "fedmod_lang"
COOKIE_PATH = "/admin"
PAGE_SIZE = 50
STATIC_DIR = Path(__file__).parent / "static"

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
ADMIN_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

_TAGS = {"p", "br", "a", "span", "em", "strong", "b", "i", "u", "s", "del", "blockquote",
         "code", "pre", "ul", "ol", "li"}
_ATTRIBUTES = {"a": {"href"}}

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("federation.moderation.web", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)


def _keep_link(tag: str, attribute: str, value: str) -> str | None:
    """Links in remote content only to absolute http(s) URLs (:func:`link_url`) or mailto."""
    if attribute != "href":
        return value
    if value.startswith("mailto:") and not any(ch.isspace() or ord(ch) < 32 for ch in value):
        return value
    return link_url(value)


def clean_html(stored: str) -> Markup:
    """The stored, already sanitised content, sanitised again with a smaller allow-list."""
    return Markup(nh3.clean(stored, tags=_TAGS, attributes=_ATTRIBUTES,
                            url_schemes={"http", "https", "mailto"},
                            attribute_filter=_keep_link,
                            link_rel="noopener noreferrer nofollow ugc"))


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


def format_time(moment: datetime | None, zone: ZoneInfo) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M")


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
            instance=author.domain,
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


# -- sessions, CSRF, rendering ---------------------------------------------------------------


def _secure(request: web.Request) -> bool:
    return request.app[SETTINGS].base_url.startswith("https://")


def _set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
                max_age: int | None = None) -> None:
    response.set_cookie(name, value, path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=_secure(request), max_age=max_age)


async def _session(request: web.Request) -> SessionInfo | None:
    return await find_session(request.cookies.get(SESSION_COOKIE))


def ui_language(request: web.Request, session: SessionInfo | None) -> str:
    if session is not None:
        return normalise_language(session.account.language)
    wanted = request.query.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return normalise_language(wanted or request.app[SETTINGS].moderation.language)


_MESSAGES = ("done", "done.partial", "nothing_selected")


def flash_message(request: web.Request) -> str:
    message = request.query.get("msg", "")
    return message if message in _MESSAGES else ""


def _render(request: web.Request, template: str, session: SessionInfo | None,
            status: int = 200, **context: Any) -> web.Response:
    language = ui_language(request, session)
    body = _env.get_template(template).render(
        _=translator(language), lang=language, other_lang="en" if language == "fr" else "fr",
        session=session, csrf=session.csrf_token if session else "",
        moderator=session.account.username if session else "",
        site_name=request.app[SETTINGS].site.name, request_path=request.path,
        message=flash_message(request), **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


async def require_session(request: web.Request) -> SessionInfo:
    session = await _session(request)
    if session is None:
        raise web.HTTPSeeOther(location="/admin/login")
    return session


async def read_form(request: web.Request) -> Any:
    """The posted form; 415 unless URL-encoded in UTF-8 (our forms are: no multipart, no
    uploads, no other charset), 400 if the body is not UTF-8 or a field holds text no database
    can store (U+0000; a lone surrogate)."""
    if (request.content_type != "application/x-www-form-urlencoded"
            or (request.charset or "utf-8").lower() != "utf-8"):
        raise UnsupportedMediaType("forms are sent as application/x-www-form-urlencoded, UTF-8")
    try:
        (await request.read()).decode("utf-8")  # aiohttp's own decoding fails with a 500
    except UnicodeDecodeError:
        raise BadRequest("forms are sent in UTF-8") from None
    form = await request.post()
    reason = unstorable_in(list(form.items()))
    if reason is not None:
        raise BadRequest(f"form fields: {reason}")
    return form


async def require_session_post(request: web.Request) -> tuple[SessionInfo, Any]:
    """A logged-in moderator's form whose CSRF token matches the session; else 403."""
    session = await _session(request)
    form = await read_form(request)
    if session is None or not csrf_matches(session.csrf_token, form.get("csrf")):
        raise web.HTTPForbidden(text="403: forbidden\n")
    return session, form


def see_other(location: str, **params: str) -> web.HTTPSeeOther:
    if params:
        location += ("&" if "?" in location else "?") + urlencode(params)
    return web.HTTPSeeOther(location=location)


def back_target(form: Any, default: str = "/admin/") -> str:
    target = str(form.get("back", "") or "")
    if target.startswith("/admin/") and "//" not in target and "\\" not in target:
        return target
    return default


# -- login, logout, language -----------------------------------------------------------------


@routes.get("/admin/login")
async def login_page(request: web.Request) -> web.Response:
    if await _session(request) is not None:
        raise web.HTTPSeeOther(location="/admin/")
    token = secrets.token_urlsafe(24)
    response = _render(request, "login.html", None, login_csrf=token, error_key=None)
    _set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
    if request.query.get("lang") in LANGUAGES:
        _set_cookie(request, response, LANGUAGE_COOKIE, request.query["lang"], 365 * 86400)
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
        response = _render(request, "login.html", None, status=429, login_csrf=token,
                           error_key="login.limited")
        response.headers["Retry-After"] = str(retry_after_seconds(error.retry_after))
    else:
        account = await authenticate(username, password)
        if account is not None:
            guard.succeeded(attempt)
            hours = settings.moderation.session_hours
            session_token = await open_session(account, hours=hours)
            response = web.HTTPSeeOther(location="/admin/")
            _set_cookie(request, response, SESSION_COOKIE, session_token, max_age=hours * 3600)
            response.del_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
            raise response
        response = _render(request, "login.html", None, status=401, login_csrf=token,
                           error_key="login.failed")
    _set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
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


async def queue_counts() -> dict[str, int]:
    return {
        "pending": await Reply.filter(state=ReplyState.PENDING).count(),
        "reports": await Report.filter(resolved=False).count(),
    }


def site_zone(request: web.Request) -> ZoneInfo:
    return ZoneInfo(request.app[SETTINGS].site.timezone)


def page_cursor(request: web.Request) -> int | None:
    try:
        value = int(request.query.get("cursor", ""))
    except ValueError:
        return None
    return value if 0 < value < 2**31 else None


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
    return _render(request, "queue.html", session, view=str(state), items=views,
                   next_cursor=next_cursor, counts=await queue_counts(),
                   failures=[f[:500] for f in request.query.getall("failed", [])[:1]])


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
    return _render(request, "queue.html", session, view="thread", items=views,
                   next_cursor=None, counts=await queue_counts(), failures=[])


@routes.post("/admin/replies")
async def act(request: web.Request) -> web.Response:
    """One form for every reply action: ``one=<action>:<id>``, or ``action`` + checked ``ids``."""
    session, form = await require_session_post(request)
    service = request.app[MODERATION]
    moderator = session.account.username
    back = back_target(form)
    one = str(form.get("one", ""))
    if one:
        action, _, raw_id = one.partition(":")
        ids = [raw_id]
    else:
        action = str(form.get("action", ""))
        ids = [str(v) for v in form.getall("ids", [])]
    try:
        numbers = [int(i) for i in ids][:500]
    except ValueError:
        raise web.HTTPBadRequest(text="400: bad reply id\n") from None
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
        "reporter_instance": row.reporter.domain if row.reporter else "",
        "objects": [{"uri": u, "href": link_url(u), "reply_id": local.get(u)}
                    for u in objects[row.id]],
        "content": row.content,
        "resolved": row.resolved,
        "received_at": format_time(row.received_at, zone),
    } for row in rows]
    return _render(request, "reports.html", session, view="reports", items=items,
                   counts=await queue_counts(), failures=[])


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
    return _render(request, "blocks.html", session, view="blocks", items=items,
                   counts=await queue_counts(), failures=[])


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
    return _render(request, "log.html", session, view="log", items=items,
                   next_cursor=next_cursor, counts=await queue_counts(), failures=[])


# -- headers ----------------------------------------------------------------------------------


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    path = request.path
    if path == "/admin" or path.startswith("/admin/"):
        for name, value in ADMIN_HEADERS.items():
            response.headers[name] = value
    elif path.startswith("/api/v1/moderation"):
        response.headers["Cache-Control"] = "no-store"
        if response.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="moderation"'


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
    app.router.add_static("/admin/static/", STATIC_DIR, name="moderation-static",
                          append_version=False)
    app.on_response_prepare.append(_security_headers)

