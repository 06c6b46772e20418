"""The moderators' web UI at ``/admin/`` (server-rendered; one optional same-origin script
adds keyboard shortcuts, every page works without it).

Decisions (docs/moderation.md): approve, reject, spam and undo are one click; blocking an
author or an instance goes through a confirmation page (``GET /admin/block`` shows what it
will do, its form POSTs); after any decision the page's notice names what was done to whom
(``?done=<audit row id>``) with an undo button (``POST /admin/undo``); failures come back as
message keys (``?failed=``), translated by the page.

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
  their shape (:func:`~federation.moderation.web.views.strings`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from federation.db import column, is_row_id
from federation.db.content import ContentObject
from federation.db.moderation import REPORT_ACTIONS, Action, Decision, Reply, ReplyState, Report
from federation.db.social import Block, BlockKind, RemoteActor
from federation.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests
from federation.moderation.accounts import (
    SessionInfo,
    authenticate,
    close_session,
    csrf_matches,
    open_session,
)
from federation.moderation.service import actor_label
from federation.moderation.web.keys import LOGIN_GUARD, MODERATION
from federation.moderation.web.views import (
    article_view,
    log_note,
    log_state,
    notices,
    reply_views,
    strings,
    subject_names,
    title_of,
)
from federation.protocol.numbers import is_ascii_digits
from federation.protocol.uris import link_url
from federation.ratelimit import retry_after_seconds
from federation.web import admin as shell
from federation.web.admin import (
    COOKIE_PATH,
    LANGUAGE_COOKIE,
    LOGIN_COOKIE,
    MAX_NOTICES,
    PAGE_SIZE,
    SESSION_COOKIE,
    NavItem,
    back_target,
    failure_code,
    find_request_session,
    format_time,
    page_cursor,
    read_form,
    require_session,
    require_session_post,
    row_ids,
    see_other,
    see_other_done,
    selection,
    set_cookie,
    site_zone,
)
from federation.web.admin.i18n import languages, normalise_language
from federation.web.clients import client_address
from federation.web.state import SETTINGS

routes = web.RouteTableDef()

_env = shell.environment("federation.moderation.web")

#: At most this many articles, and authors, in the queue's filters.
FILTER_CHOICES = 200


async def _render(request: web.Request, template: str, session: SessionInfo | None,
                  status: int = 200, **context: Any) -> web.Response:
    context.setdefault("notices", await _with_notices(request, session))
    return await shell.render(request, _env, template, session, status=status, **context)


# -- login, logout, language -----------------------------------------------------------------


@routes.get("/admin/login")
async def login_page(request: web.Request) -> web.Response:
    if await find_request_session(request) is not None:
        raise web.HTTPSeeOther(location="/admin/")
    token = secrets.token_urlsafe(24)
    response = await _render(request, "login.html", None, login_csrf=token, error_key=None)
    set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
    if request.query.get("lang") in languages():
        set_cookie(request, response, LANGUAGE_COOKIE, request.query["lang"], 365 * 86400)
    return response


@routes.post("/admin/login")
async def login(request: web.Request) -> web.Response:
    form = await read_form(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not csrf_matches(expected, form.get("csrf")):
        raise Forbidden("forbidden", key="error.csrf")
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


def _query_id(request: web.Request, name: str) -> int | None:
    """``?<name>=<row id>`` of a filter; anything else is no filter."""
    raw = request.query.get(name, "")
    return int(raw) if is_ascii_digits(raw) and is_row_id(int(raw)) else None


async def _filter_choices(state: ReplyState) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The articles and the authors that have replies in ``state`` (the filters' options)."""
    target_ids = await column(Reply.filter(state=state, target_id__isnull=False).distinct(),
                              "target_id")
    author_ids = await column(Reply.filter(state=state).distinct(), "author_id")
    articles = await ContentObject.filter(id__in=list(target_ids)[:FILTER_CHOICES])
    authors = await RemoteActor.filter(id__in=list(author_ids)[:FILTER_CHOICES])
    return (sorted(({"id": a.id, "label": title_of(a)} for a in articles),
                   key=lambda c: str(c["label"]).lower()),
            sorted(({"id": a.id, "label": actor_label(a)} for a in authors),
                   key=lambda c: str(c["label"]).lower()))


async def _queue(request: web.Request, state: ReplyState) -> web.Response:
    """Pending replies oldest first (the queue), decided ones newest first; ``?cursor=<id>``;
    ``?article=<id>`` and ``?author=<id>`` filter."""
    session = await require_session(request)
    query = Reply.filter(state=state)
    article, author = _query_id(request, "article"), _query_id(request, "author")
    if article is not None:
        query = query.filter(target_id=article)
    if author is not None:
        query = query.filter(author_id=author)
    cursor = page_cursor(request)
    oldest_first = state == ReplyState.PENDING
    if cursor is not None:
        query = query.filter(id__gt=cursor) if oldest_first else query.filter(id__lt=cursor)
    replies = await query.order_by("id" if oldest_first else "-id").limit(
        PAGE_SIZE + 1
    ).prefetch_related("author", "target")
    more = len(replies) > PAGE_SIZE
    replies = replies[:PAGE_SIZE]
    views = await reply_views(replies, site_zone(request))
    next_cursor = replies[-1].id if more and replies else None
    articles, authors = await _filter_choices(state)
    filters = {k: v for k, v in (("article", article), ("author", author)) if v is not None}
    return await _render(request, "queue.html", session, view=str(state), items=views,
                         next_cursor=next_cursor, article=None, filters=filters,
                         more_query=urlencode({**filters, "cursor": next_cursor or ""}),
                         article_choices=articles, author_choices=authors)


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
    """A reply's whole thread, under the article it answers."""
    session = await require_session(request)
    raw = request.match_info["reply_id"]
    reply_id = int(raw) if is_ascii_digits(raw) else 0
    reply = None
    if is_row_id(reply_id):
        reply = await Reply.get_or_none(id=reply_id).prefetch_related("target")
    if reply is None:
        raise NotFound("no such reply", key="error.reply.not_found")
    if reply.thread_root_uri:
        query = Reply.filter(thread_root_uri=reply.thread_root_uri)
    else:
        query = Reply.filter(id=reply.id)
    replies = await query.order_by("published_at", "id").limit(200).prefetch_related(
        "author", "target"
    )
    target = reply.target
    if target is None and reply.thread_root_uri:
        target = await ContentObject.get_or_none(uri=reply.thread_root_uri)
    views = await reply_views(replies, site_zone(request))
    return await _render(request, "queue.html", session, view="thread", items=views,
                         next_cursor=None, filters={}, more_query="",
                         article=article_view(target) if target is not None else None,
                         article_choices=[], author_choices=[])


def _done(back: str, decision_ids: list[int], failures: list[str]) -> web.HTTPSeeOther:
    """Back to ``back``, whose notice names the decisions taken and the failures."""
    return see_other_done(back, decision_ids, failures)


async def _reply_names(reply_ids: Iterable[int]) -> dict[int, str]:
    ids = [i for i in reply_ids if is_row_id(i)]
    rows = await Reply.filter(id__in=ids).prefetch_related("author") if ids else []
    return {r.id: r.author.name or r.author.handle for r in rows}


@routes.post("/admin/replies")
async def act(request: web.Request) -> web.Response:
    """One form for every reply action: ``one=<action>:<id>``, or ``action`` + checked ``ids``.
    Blocking is never done here: it goes to its confirmation page."""
    session, form = await require_session_post(request)
    service = request.app[MODERATION]
    moderator = session.account.username
    back = back_target(form)
    action, ids = selection(form)
    numbers = row_ids(ids, "reply")
    if not numbers:
        raise see_other(back, msg="nothing_selected")
    if action in (Action.BLOCK_AUTHOR, Action.BLOCK_DOMAIN):
        if len(numbers) != 1:
            raise BadRequest("block one author at a time", key="error.block.one")
        reply = await service.reply(numbers[0])
        kind = BlockKind.ACTOR if action == Action.BLOCK_AUTHOR else BlockKind.DOMAIN
        raise see_other("/admin/block", remote=str(reply.author_id), kind=str(kind), back=back)
    if action not in (Action.APPROVE, Action.REJECT, Action.SPAM, Action.UNDO):
        raise BadRequest("unknown action", key="error.action.unknown")
    outcomes = await service.bulk(action, numbers, moderator)
    failed = [o for o in outcomes if not o.ok]
    names = await _reply_names(o.reply_id for o in failed)
    raise _done(back, [o.decision_id for o in outcomes if o.decision_id is not None],
                [failure_code(names.get(o.reply_id, f"#{o.reply_id}"), key=o.error_key,
                              params=o.error_params or {}) for o in failed])


# -- blocks: a confirmation page, then the block ------------------------------------------------


def _block_kind(raw: str) -> BlockKind:
    try:
        return BlockKind(raw)
    except ValueError:
        raise BadRequest("unknown block kind", key="error.action.unknown") from None


@routes.get("/admin/block")
async def confirm_block(request: web.Request) -> web.Response:
    """``?remote=<remote actor id>&kind=actor|domain``: what the block will do, a reason, and
    the one button that blocks (a POST). Works without JavaScript."""
    session = await require_session(request)
    kind = _block_kind(request.query.get("kind", ""))
    raw = request.query.get("remote", "")
    actor = await request.app[MODERATION].remote_actor(int(raw) if is_ascii_digits(raw) else 0)
    if kind == BlockKind.ACTOR:
        authors = RemoteActor.filter(id=actor.id)
        target = actor_label(actor)
    else:
        authors = RemoteActor.filter(domain=actor.domain)
        target = actor.domain.lower()
    author_ids = await column(authors, "id")
    waiting = await Reply.filter(author_id__in=list(author_ids), state=ReplyState.PENDING).count()
    already = await Block.exists(kind=kind, value=actor.uri if kind == BlockKind.ACTOR
                                 else actor.domain.lower())
    return await _render(request, "block.html", session, view="block", kind=str(kind),
                         remote_id=actor.id, target=target, waiting=waiting, already=already,
                         back=back_target(request.query))


@routes.post("/admin/block")
async def block(request: web.Request) -> web.Response:
    """The confirmation page's form: ``remote``, ``kind``, ``reason``, ``confirm=yes``."""
    session, form = await require_session_post(request)
    if form.get("confirm") != "yes":
        raise BadRequest("a block must be confirmed", key="error.block.unconfirmed")
    kind = _block_kind(str(form.get("kind", "")))
    raw = str(form.get("remote", ""))
    back = back_target(form)
    _, decision = await request.app[MODERATION].block_remote(
        int(raw) if is_ascii_digits(raw) else 0, kind, session.account.username,
        reason=str(form.get("reason", ""))[:2000])
    raise _done(back, [decision.id], [])


@routes.post("/admin/undo")
async def undo(request: web.Request) -> web.Response:
    """A notice's undo button: ``decision=<audit row id>``."""
    session, form = await require_session_post(request)
    back = back_target(form)
    raw = str(form.get("decision", ""))
    try:
        decision = await request.app[MODERATION].undo_decision(
            int(raw) if is_ascii_digits(raw) else 0, session.account.username)
    except (NotFound, Conflict) as error:
        raise _done(back, [], [failure_code("action.undo_notice", error)]) from None
    raise _done(back, [decision.id], [])


# -- reports, blocks, audit log -----------------------------------------------------------------


async def _reported(uris: list[str], zone: ZoneInfo) -> dict[str, dict[str, Any]]:
    """What the reported URIs are: our articles (title, excerpt), replies we hold (author,
    text, state), remote accounts we know."""
    found: dict[str, dict[str, Any]] = {}
    for obj in await ContentObject.filter(uri__in=uris):
        found[obj.uri] = {"kind": "article", "article": article_view(obj)}
    replies = await Reply.filter(uri__in=uris).prefetch_related("author", "target")
    for view, reply in zip(await reply_views(replies, zone), replies, strict=True):
        found[reply.uri] = {"kind": "reply", "reply": view}
    for actor in await RemoteActor.filter(uri__in=uris):
        found[actor.uri] = {"kind": "actor", "id": actor.id, "label": actor_label(actor)}
    return found


@routes.get("/admin/reports")
async def reports(request: web.Request) -> web.Response:
    session = await require_session(request)
    rows = await Report.all().order_by("resolved", "-id").limit(200).prefetch_related("reporter")
    zone = site_zone(request)
    objects = {row.id: strings(row.object_uris, 20) for row in rows}
    found = await _reported([u for uris in objects.values() for u in uris], zone)
    items = [{
        "id": row.id,
        "reporter": row.reporter.handle if row.reporter else "?",
        "reporter_instance": row.reporter.authority if row.reporter else "",
        "objects": [{"uri": u, "href": link_url(u), **found.get(u, {"kind": "unknown"})}
                    for u in objects[row.id]],
        "content": row.content,
        "note": row.note,
        "resolved": row.resolved,
        "received_at": format_time(row.received_at, zone),
    } for row in rows]
    return await _render(request, "reports.html", session, view="reports", items=items)


@routes.post("/admin/reports")
async def act_on_report(request: web.Request) -> web.Response:
    session, form = await require_session_post(request)
    action, _sep, raw_id = str(form.get("one", "")).partition(":")
    if action not in (*REPORT_ACTIONS, Action.NOTE) or not is_ascii_digits(raw_id):
        raise BadRequest("unknown action", key="error.action.unknown")
    service, moderator = request.app[MODERATION], session.account.username
    report_id = int(raw_id)
    try:
        if action == Action.DELETE:
            done = [(await service.delete_report(report_id, moderator)).id]
        elif action == Action.NOTE:
            note = str(form.get(f"note-{report_id}", ""))
            done = [(await service.annotate_report(report_id, moderator, note)).id]
        else:
            _report, decision = await service.resolve_report_recorded(
                report_id, moderator, resolved=action == Action.RESOLVE)
            done = [decision.id]
    except (NotFound, Conflict) as error:
        raise _done("/admin/reports", [], [failure_code(f"#{report_id}", error)]) from None
    raise _done("/admin/reports", done, [])


@routes.get("/admin/blocks")
async def blocks(request: web.Request) -> web.Response:
    session = await require_session(request)
    zone = site_zone(request)
    rows = await Block.all().order_by("-id").limit(500)
    actors = {a.uri: a for a in await RemoteActor.filter(
        uri__in=[b.value for b in rows if b.kind == BlockKind.ACTOR])}
    items = []
    for b in rows:
        actor = actors.get(b.value) if b.kind == BlockKind.ACTOR else None
        items.append({"id": b.id, "kind": str(b.kind), "reason": b.reason, "by": b.created_by,
                      "at": format_time(b.created_at, zone),
                      "name": (actor.name or "") if actor else "",
                      "value": actor.handle if actor else b.value,
                      "uri": b.value if actor else None, "href": link_url(b.value)
                      if b.kind == BlockKind.ACTOR else None})
    return await _render(request, "blocks.html", session, view="blocks", items=items)


@routes.post("/admin/blocks")
async def unblock(request: web.Request) -> web.Response:
    session, form = await require_session_post(request)
    action, _sep, raw_id = str(form.get("one", "")).partition(":")
    if action != "unblock" or not is_ascii_digits(raw_id):
        raise BadRequest("unknown action", key="error.action.unknown")
    try:
        decision = await request.app[MODERATION].unblock(int(raw_id), session.account.username)
    except NotFound as error:
        raise _done("/admin/blocks", [], [failure_code(f"#{raw_id}", error)]) from None
    raise _done("/admin/blocks", [decision.id], [])


#: The actions the audit log can be filtered by.
LOG_ACTIONS = tuple(str(a) for a in Action) + ("block",)


def _log_date(request: web.Request, name: str) -> date | None:
    try:
        return date.fromisoformat(request.query.get(name, "")[:10])
    except ValueError:
        return None


@routes.get("/admin/log")
async def audit_log(request: web.Request) -> web.Response:
    """Newest first; ``?moderator=``, ``?action=``, ``?from=`` and ``?to=`` (dates, the site's
    time zone, both included) filter; ``?cursor=`` pages."""
    session = await require_session(request)
    zone = site_zone(request)
    query = Decision.all()
    moderator = request.query.get("moderator", "")[:64]
    action = request.query.get("action", "")
    since, until = _log_date(request, "from"), _log_date(request, "to")
    if moderator:
        query = query.filter(moderator=moderator)
    if action in LOG_ACTIONS:
        query = query.filter(action=action)
    if since is not None:
        query = query.filter(created_at__gte=datetime.combine(since, time(), zone))
    if until is not None:
        query = query.filter(created_at__lt=datetime.combine(until + timedelta(days=1), time(),
                                                             zone))
    cursor = page_cursor(request)
    if cursor is not None:
        query = query.filter(id__lt=cursor)
    rows = await query.order_by("-id").limit(PAGE_SIZE + 1)
    shown = rows[:PAGE_SIZE]
    names = await subject_names(shown)
    translate = shell.page_translator(request, session)
    items = [{"at": format_time(d.created_at, zone), "moderator": d.moderator, "action": d.action,
              "subject_type": d.subject_type, "name": names.get(d.id, ""),
              "subject": d.subject_uri, "subject_href": link_url(d.subject_uri),
              "from_state": log_state(translate, d.from_state),
              "to_state": log_state(translate, d.to_state),
              "note": log_note(translate, d.note),
              "undone": d.undone_at is not None} for d in shown]
    next_cursor = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    filters = {"moderator": moderator, "action": action if action in LOG_ACTIONS else "",
               "from": since.isoformat() if since else "", "to": until.isoformat() if until else ""}
    moderators = sorted(set(await column(Decision.all().distinct(), "moderator")))[:200]
    return await _render(request, "log.html", session, view="log", items=items,
                         next_cursor=next_cursor, filters=filters, moderators=moderators,
                         actions=LOG_ACTIONS,
                         more_query=urlencode({**{k: v for k, v in filters.items() if v},
                                               "cursor": next_cursor or ""}))


async def _with_notices(request: web.Request, session: SessionInfo | None) -> list[Any]:
    if session is None:
        return []
    ids = [int(v) for v in request.query.getall("done", [])[:MAX_NOTICES] if is_ascii_digits(v)]
    return await notices(shell.page_translator(request, session),
                         shell.ui_language(request, session), ids,
                         request.app[MODERATION].now())


def setup(app: web.Application) -> None:
    shell.register(app, nav=[
        NavItem("pending", "/admin/", "nav.pending", count=_pending_count),
        NavItem("approved", "/admin/approved", "nav.approved"),
        NavItem("rejected", "/admin/rejected", "nav.rejected"),
        NavItem("spam", "/admin/spam", "nav.spam"),
        NavItem("reports", "/admin/reports", "nav.reports", count=_open_reports),
        NavItem("blocks", "/admin/blocks", "nav.blocks"),
        NavItem("log", "/admin/log", "nav.log"),
    ])
    app.router.add_routes(routes)
