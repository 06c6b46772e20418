"""The one error middleware: maps :mod:`federation.errors` to HTTP answers, never a traceback.

ActivityPub clients and API callers get JSON (``{"error": …, "problems": […]}``, and the
message key as ``"code"`` when the error has one), browsers get a short text page (the admin
pages translate an error that has a key: :mod:`federation.web.admin`). A database or disk fault (PostgreSQL away, SQLite's disk full:
:func:`federation.db.faults.is_database_fault`) is answered 503 with ``Retry-After`` and logged
as one line, no traceback: the sender tries again later. Other unexpected exceptions are logged
with the request path (never the client's address) and answered 500 without details.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from tortoise.exceptions import ValidationError as TortoiseValidationError

from federation.db.faults import describe, is_database_fault
from federation.errors import BadRequest, FederationError, Gone, TooManyRequests, Unprocessable
from federation.protocol.text import unstorable_in
from federation.ratelimit import retry_after_seconds
from federation.web.negotiation import AS_MEDIA_TYPE, wants_activity_json

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Seconds a client is asked to wait after a database fault (503).
FAULT_RETRY_AFTER = 30

#: Discovery documents answer every origin, their errors included (WebFinger needs it).
PUBLIC_DISCOVERY_PREFIXES = ("/.well-known/", "/nodeinfo/")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _error_response(request: web.Request, status: int, message: str,
                    extra: dict[str, object] | None = None) -> web.Response:
    if wants_activity_json(request) or request.path.startswith(("/api/", "/.well-known/")):
        body = {"error": message, **(extra or {})}
        content_type = "application/json"
        if isinstance(extra, dict) and extra.get("type") == "Tombstone":
            if request.path.startswith("/api/"):  # the push API answers its own JSON
                body = {"error": message, "tombstone": extra}
            else:
                body = extra
                content_type = AS_MEDIA_TYPE
        response = web.Response(
            status=status, body=json.dumps(body, ensure_ascii=False).encode(),
            content_type=content_type, charset="utf-8",
        )
    else:
        response = web.Response(status=status, text=f"{status}: {message}\n")
    response.headers["Vary"] = "Accept"
    # An error may depend on who asks (a non-public activity is a 404 to all but its readers):
    # no cache keeps one to answer someone else.
    response.headers["Cache-Control"] = "no-store"
    if request.path.startswith(PUBLIC_DISCOVERY_PREFIXES):
        response.headers["Access-Control-Allow-Origin"] = "*"  # readable by browser clients
    return response


def unstorable_in_request(request: web.Request) -> str | None:
    """Why the path, a query parameter or a header holds text nothing can store (a NUL, which
    PostgreSQL refuses; a lone surrogate, which is how aiohttp hands over header bytes that are
    not UTF-8 and which no encoder takes): checked here once for every route. Bodies are
    checked where they are parsed (``parse_json_limited``, ``read_form``)."""
    return unstorable_in([request.path, *request.query.items(), *request.headers.values()])


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        reason = unstorable_in_request(request)
        if reason is not None:
            raise BadRequest(f"request refused: {reason}")
        response = await handler(request)
    except Gone as error:
        response = _error_response(request, error.http_status, error.message, error.tombstone)
    except Unprocessable as error:
        problems = [{"location": p.location, "message": p.message} for p in error.problems]
        response = _error_response(request, 422, error.message, {"problems": problems})
    except TooManyRequests as error:
        response = _error_response(request, 429, error.message)
        response.headers["Retry-After"] = str(retry_after_seconds(error.retry_after))
    except FederationError as error:
        response = _error_response(request, error.http_status, error.message,
                                   {"code": error.key} if error.key else None)
    except TortoiseValidationError as error:  # a value no column can hold (too long…)
        log.warning("refused a value the database cannot hold for %s %s: %s", request.method,
                    request.path, str(error)[:200])
        response = _error_response(request, 400, "a value is too long or not valid")
    except HttpProcessingError as error:  # the body could not be parsed (a broken form…)
        response = _error_response(request, 400, f"malformed request: {error.message}"[:200])
    except web.HTTPException as error:
        if error.status < 400:
            raise
        response = _error_response(request, error.status, error.reason)
        if error.status == 405 and "Allow" in error.headers:
            response.headers["Allow"] = error.headers["Allow"]
    except Exception as error:
        if is_database_fault(error):  # the database away or full: try again later
            log.warning("database unavailable for %s %s: %s", request.method, request.path,
                        describe(error))
            response = _error_response(request, 503, "temporarily unavailable, try again later")
            response.headers["Retry-After"] = str(FAULT_RETRY_AFTER)
        else:  # a bug: log it, answer without details
            log.exception("unhandled error for %s %s", request.method, request.path)
            response = _error_response(request, 500, "internal error")
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
