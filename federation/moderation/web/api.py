"""The moderation JSON API (``/api/v1/moderation/…``), for scripts and the site's back office.

Authentication (:mod:`federation.web.admin.api`, shared with the syndication API):
``Authorization: Bearer <token>`` with a moderator API token created by
``federation moderators token USERNAME``. No or an unknown token: 401. A token without the
needed scope is a 403: reading needs ``moderation:read`` or ``moderation``, acting needs
``moderation``; a CMS push token (``federation tokens``) is valid but has no moderation scope.
Decisions are recorded under the token's moderator.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from federation.db import is_row_id
from federation.db.moderation import (
    REPLY_ACTIONS,
    REPORT_ACTIONS,
    Action,
    Reply,
    ReplyState,
    Report,
)
from federation.errors import BadRequest
from federation.moderation.service import reply_summary
from federation.moderation.web.keys import MODERATION
from federation.moderation.web.views import strings
from federation.protocol.actors import iso
from federation.protocol.numbers import is_ascii_digits
from federation.remote.jsonlimits import JSONLimitError, parse_json_limited
from federation.web.admin.api import int_param, json_response, require_moderator

routes = web.RouteTableDef()

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_BULK = 500
#: The spellings of ``?resolved=`` (any case).
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


def _path_id(request: web.Request, what: str = "reply") -> int:
    """The ``{reply_id}`` or ``{report_id}`` of the path: a row id (400 otherwise)."""
    raw = request.match_info[f"{what}_id"]
    if not is_ascii_digits(raw):
        raise BadRequest(f"a {what} id is a number")
    value = int(raw)
    if not is_row_id(value):
        raise BadRequest(f"a {what} id is a positive number")
    return value


def _reply_id(request: web.Request) -> int:
    return _path_id(request, "reply")


def reply_item(reply: Reply) -> dict[str, Any]:
    data = reply_summary(reply, with_content=True)
    data.update({
        "id": reply.id,
        "is_public": reply.is_public,
        "received": iso(reply.received_at),
        "decided": iso(reply.decided_at) if reply.decided_at else None,
        "thread": reply.thread_root_uri,
        "summary": reply.summary or None,
        "sensitive": reply.sensitive,
        "poll": reply.poll,
    })
    return data


@routes.get("/api/v1/moderation/replies")
async def list_replies(request: web.Request) -> web.Response:
    """Replies in one state (``?state=pending`` by default), newest first; ``?before=<id>``."""
    await require_moderator(request, write=False)
    try:
        state = ReplyState(request.query.get("state", "pending"))
    except ValueError:
        raise BadRequest("state must be pending, approved, rejected or spam") from None
    limit = int_param(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    before = int_param(request, "before", None, 2**31 - 1)
    query = Reply.filter(state=state)
    if before is not None:
        query = query.filter(id__lt=before)
    replies = await query.order_by("-id").limit(limit or DEFAULT_LIMIT).prefetch_related(
        "author", "target"
    )
    return json_response({"state": str(state), "items": [reply_item(r) for r in replies]})


@routes.get("/api/v1/moderation/replies/{reply_id}")
async def show_reply(request: web.Request) -> web.Response:
    await require_moderator(request, write=False)
    reply = await request.app[MODERATION].reply(_reply_id(request))
    return json_response(reply_item(reply))


@routes.post("/api/v1/moderation/replies/{reply_id}/{action}")
async def act_on_reply(request: web.Request) -> web.Response:
    """``approve``, ``reject``, ``spam`` or ``undo`` one reply."""
    moderator = await require_moderator(request)
    try:
        action = Action(request.match_info["action"])
    except ValueError:
        raise BadRequest("unknown action") from None
    if action not in REPLY_ACTIONS:
        raise BadRequest("unknown action")
    service = request.app[MODERATION]
    await service.decide(_reply_id(request), action, moderator)
    return json_response(reply_item(await service.reply(_reply_id(request))))


@routes.post("/api/v1/moderation/bulk")
async def bulk(request: web.Request) -> web.Response:
    """``{"action": "approve", "ids": [1, 2, 3]}`` — one outcome per id."""
    moderator = await require_moderator(request)
    try:
        body = parse_json_limited(await request.read())
    except JSONLimitError as error:
        raise BadRequest(f"the body must be JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    ids = body.get("ids")
    if (not isinstance(ids, list) or len(ids) > MAX_BULK
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        raise BadRequest(f"ids must be a list of at most {MAX_BULK} numbers")
    action = body.get("action")
    if action not in [str(a) for a in REPLY_ACTIONS]:
        raise BadRequest("action must be approve, reject, spam or undo")
    outcomes = await request.app[MODERATION].bulk(action, ids, moderator)
    return json_response({"results": [
        {"id": o.reply_id, "ok": o.ok, "state": o.state, "error": o.error} for o in outcomes
    ]})


@routes.get("/api/v1/moderation/reports")
async def list_reports(request: web.Request) -> web.Response:
    await require_moderator(request, write=False)
    word = request.query.get("resolved", "false").lower()
    if word not in TRUE_WORDS + FALSE_WORDS:
        raise BadRequest("resolved must be true or false")
    resolved = word in TRUE_WORDS
    reports = await Report.filter(resolved=resolved).order_by("-id").limit(MAX_LIMIT)\
        .prefetch_related("reporter")
    return json_response({"items": [{
        "id": r.id, "activity": r.activity_uri, "objects": strings(r.object_uris, MAX_LIMIT),
        "content": r.content,
        "reporter": r.reporter.handle if r.reporter else None, "resolved": r.resolved,
        "received": iso(r.received_at),
    } for r in reports]})


@routes.post("/api/v1/moderation/reports/{report_id}/{action}")
async def act_on_report(request: web.Request) -> web.Response:
    """``resolve``, ``reopen`` or ``delete`` one report."""
    moderator = await require_moderator(request)
    action = request.match_info["action"]
    if action not in REPORT_ACTIONS:
        raise BadRequest("action must be resolve, reopen or delete")
    report_id = _path_id(request, "report")
    service = request.app[MODERATION]
    if action == Action.DELETE:
        await service.delete_report(report_id, moderator)
        return json_response({"id": report_id, "deleted": True})
    report = await service.resolve_report(report_id, moderator,
                                          resolved=action == Action.RESOLVE)
    return json_response({"id": report.id, "resolved": report.resolved})


async def _api_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/api/v1/moderation"):
        response.headers["Cache-Control"] = "no-store"
        if response.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="moderation"'


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
    app.on_response_prepare.append(_api_headers)
