"""The inboxes: ``POST /inbox`` (shared), ``POST /actors/{identifier}/inbox`` and the instance
actor's ``POST /actor/inbox``.

The body is read here with a hard cap *before* anything else (checklist item 27): a
``Content-Length`` above the cap is refused at once, and a chunked body is read from the stream
until the cap is passed (413), never buffered whole. Then :class:`~federation.inbox.receive.Receiver`
runs the pipeline; an accepted activity is answered ``202 Accepted``. Other methods get 405
(aiohttp's router, with ``Allow: POST``).
"""

from __future__ import annotations

import json
import logging
import re

from aiohttp import web

from federation.errors import FederationError, PayloadTooLarge, SignatureError
from federation.inbox.processor import Outcome
from federation.inbox.receive import MAX_INBOX_BYTES, IncomingRequest
from federation.web.state import DIRECTORY, INBOX

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
_READ_CHUNK = 65_536
#: The 202 answers, encoded once (``{"status": "processed"}``…).
_ANSWERS = {outcome: json.dumps({"status": str(outcome)}) for outcome in Outcome}


async def read_capped_body(request: web.Request, limit: int = MAX_INBOX_BYTES) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    parts, size = [], 0
    async for chunk in request.content.iter_chunked(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body larger than {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def refusal_reason(error: FederationError) -> str:
    """A refused activity's metric label: the signature failure's reason code, else the error's
    class (both from fixed sets: never a host, a handle or a URL)."""
    if isinstance(error, SignatureError):
        return f"signature_{error.reason}"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


async def _receive(request: web.Request, inbox_owner: str | None) -> web.Response:
    receiver = request.app[INBOX]
    try:
        body = await read_capped_body(request)
        incoming = IncomingRequest(
            method=request.method,
            path_qs=request.path_qs,
            headers=request.headers,
            body=body,
            content_type=request.headers.get("Content-Type", ""),
        )
        outcome = await receiver.receive(incoming, inbox_owner)
    except FederationError as error:
        receiver.metrics.refused(refusal_reason(error))
        raise
    receiver.metrics.accepted()
    return web.Response(text=_ANSWERS[outcome], status=202, content_type="application/json")


@routes.post("/inbox")
async def shared_inbox(request: web.Request) -> web.Response:
    return await _receive(request, None)


@routes.post("/actors/{identifier}/inbox")
async def actor_inbox(request: web.Request) -> web.Response:
    actor = request.app[DIRECTORY].get(request.match_info["identifier"])  # 404 when unknown
    return await _receive(request, actor.identifier)


@routes.post("/actor/inbox")
async def instance_inbox(request: web.Request) -> web.Response:
    """The instance actor's inbox (relays answer its follows here, or at the shared inbox)."""
    return await _receive(request, request.app[DIRECTORY].instance_actor.identifier)


def setup(app: web.Application) -> None:
    """The inbox routes."""
    # (the receiver is built by federation.services; expired claims and tombstones are purged
    # by the job engine: federation.web.loops)
    app.router.add_routes(routes)
