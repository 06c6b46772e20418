"""The moderation JSON API (``/api/v1/moderation/…``), for scripts and the site's back office.

Authentication (:mod:`federation.web.admin.api`, shared with the syndication API):
``Authorization: Bearer <token>`` with a moderator API token created by
``federation moderators token USERNAME``. No or an unknown token: 401. A token without the
needed scope is a 403: reading needs ``moderation:read`` or ``moderation``, acting needs
``moderation``; a CMS push token (``federation tokens``) is valid but has no moderation scope.
Decisions are recorded under the token's moderator.

The same service functions as ``/admin/`` (:mod:`federation.moderation.service`): a reply's
decision and its undo, the bulk form, a report's resolve/reopen/delete and its note
(``annotate_report``), the notices' undo of one audited decision (``undo_decision``, within
``UNDO_WINDOW``); the audit log is read as ``/admin/log`` reads it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from federation.db import is_row_id
from federation.db.moderation import (
    REPLY_ACTIONS,
    REPORT_ACTIONS,
    Action,
    Decision,
    Reply,
    ReplyState,
    Report,
)
from federation.errors import BadRequest, NotFound
from federation.moderation.service import REPORT_NOTE_CHARS, reply_summary, undo_deadline
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


async def _json_object(request: web.Request) -> dict[str, Any]:
    """The request's body: a JSON object within the bridge's limits (400 otherwise)."""
    try:
        body = parse_json_limited(await request.read())
    except JSONLimitError as error:
        raise BadRequest(f"the body must be JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


@routes.post("/api/v1/moderation/bulk")
async def bulk(request: web.Request) -> web.Response:
    """``{"action": "approve", "ids": [1, 2, 3]}`` — one outcome per id."""
    moderator = await require_moderator(request)
    body = await _json_object(request)
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
    return json_response({"items": [report_item(r) for r in reports]})


def report_item(report: Report) -> dict[str, Any]:
    """A report as the API shows it (``reporter`` prefetched); ``note``: the moderators'."""
    return {
        "id": report.id, "activity": report.activity_uri,
        "objects": strings(report.object_uris, MAX_LIMIT), "content": report.content,
        "reporter": report.reporter.handle if report.reporter else None,
        "resolved": report.resolved, "received": iso(report.received_at), "note": report.note,
    }


async def _report(report_id: int) -> Report:
    report = await Report.get_or_none(id=report_id).prefetch_related("reporter")
    if report is None:
        raise NotFound("no such report", key="error.report.not_found")
    return report


@routes.get("/api/v1/moderation/reports/{report_id}")
async def show_report(request: web.Request) -> web.Response:
    """One report, open or resolved, with the moderators' note."""
    await require_moderator(request, write=False)
    return json_response(report_item(await _report(_path_id(request, "report"))))


@routes.put("/api/v1/moderation/reports/{report_id}/note")
async def write_report_note(request: web.Request) -> web.Response:
    """``{"note": "text"}`` replaces the moderators' note (``""`` clears it); audited as the
    admin's « Enregistrer la note »."""
    moderator = await require_moderator(request)
    report_id = _path_id(request, "report")
    body = await _json_object(request)
    note = body.get("note")
    if not isinstance(note, str) or len(note.strip()) > REPORT_NOTE_CHARS:
        raise BadRequest(f"note must be a string of at most {REPORT_NOTE_CHARS} characters")
    await request.app[MODERATION].annotate_report(report_id, moderator, note)
    return json_response(report_item(await _report(report_id)))


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


# -- the audit log and the undo of one decision -------------------------------------------


def decision_item(decision: Decision) -> dict[str, Any]:
    """One row of the audit log; ``undo_until``: until when ``…/decisions/{id}/undo`` may
    reverse it (null: it cannot be undone)."""
    deadline = undo_deadline(decision)
    return {
        "id": decision.id, "at": iso(decision.created_at), "moderator": decision.moderator,
        "action": decision.action, "subject_type": decision.subject_type,
        "subject": decision.subject_uri, "name": decision.subject_name,
        "from_state": decision.from_state, "to_state": decision.to_state,
        "note": decision.note, "cause": decision.cause_id,
        "undone": iso(decision.undone_at) if decision.undone_at else None,
        "undo_until": iso(deadline) if deadline else None,
    }


@routes.get("/api/v1/moderation/decisions")
async def list_decisions(request: web.Request) -> web.Response:
    """The audit log, newest first (``?limit=``, ``?before=<id>`` pages), as ``/admin/log``."""
    await require_moderator(request, write=False)
    limit = int_param(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    before = int_param(request, "before", None, 2**31 - 1)
    query = Decision.all()
    if before is not None:
        query = query.filter(id__lt=before)
    rows = await query.order_by("-id").limit(limit or DEFAULT_LIMIT)
    return json_response({"items": [decision_item(d) for d in rows]})


@routes.post("/api/v1/moderation/decisions/{decision_id}/undo")
async def undo_decision(request: web.Request) -> web.Response:
    """Reverse one recent decision (the notices' « Annuler »): 200 with the undo's own audit
    row; 404 unknown, 409 already undone, final, too old or its subject changed since."""
    moderator = await require_moderator(request)
    decision = await request.app[MODERATION].undo_decision(_path_id(request, "decision"),
                                                           moderator)
    return json_response(decision_item(decision))


async def _api_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/api/v1/moderation"):
        response.headers["Cache-Control"] = "no-store"
        if response.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="moderation"'


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
    app.on_response_prepare.append(_api_headers)
