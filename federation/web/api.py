"""The push API for the site's CMS, under ``/api/v1/`` (documented in docs/api.md, openapi.yaml).

Every call needs ``Authorization: Bearer <token>`` (``federation tokens create``). Items are
addressed by actor, kind and the CMS's own id; ``PUT`` creates or updates (the same item twice
changes nothing), ``DELETE`` deletes (the object then answers 410), ``PUT``/``DELETE`` on
``…/pin`` pins or unpins ("À la une" → featured). Problems come back as 422 with a list.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from federation.db.content import ContentObject, ObjectKind
from federation.db.ingest import ApiToken
from federation.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType
from federation.ingest.payloads import SOURCE_ID_RE, parse_item
from federation.ingest.tokens import authenticate, authorize
from federation.protocol.actors import iso
from federation.publishing.service import Outcome, PublishResult
from federation.remote.jsonlimits import JSONLimitError, parse_json_limited
from federation.web.state import DIRECTORY, PUBLISHER, SETTINGS

routes = web.RouteTableDef()

#: Largest accepted body (a long article with its HTML fits in a fraction of it).
MAX_BODY_BYTES = 512_000
SOURCE = "push"
_KINDS = {"articles": ObjectKind.ARTICLE, "events": ObjectKind.EVENT}
ITEM = "/api/v1/actors/{actor}/{kinds:articles|events}/{item_id}"


def _json(data: Any, status: int = 200) -> web.Response:
    response = web.json_response(data, status=status,
                                 dumps=lambda d: json.dumps(d, ensure_ascii=False))
    response.headers["Cache-Control"] = "no-store"
    return response


async def _token(request: web.Request) -> ApiToken:
    return await authenticate(request.headers.get("Authorization"))


async def _target(request: web.Request) -> tuple[str, ObjectKind, str]:
    """Authenticate, then the (actor, kind, id) of the URL; 404 for an unknown actor."""
    token = await _token(request)
    actor = request.match_info["actor"]
    request.app[DIRECTORY].get(actor)  # NotFound for an unknown actor
    authorize(token, actor)
    item_id = request.match_info["item_id"]
    if not SOURCE_ID_RE.match(item_id):
        raise NotFound("no such item")
    return actor, _KINDS[request.match_info["kinds"]], item_id


async def _body(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body must not exceed {MAX_BODY_BYTES} bytes")
    if request.content_type not in ("application/json", "application/activity+json"):
        raise UnsupportedMediaType("send application/json")
    raw = bytearray()
    async for chunk in request.content.iter_chunked(65_536):
        raw.extend(chunk)
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the body must not exceed {MAX_BODY_BYTES} bytes")
    try:
        return parse_json_limited(bytes(raw))
    except JSONLimitError as error:
        raise BadRequest(f"the body is not acceptable UTF-8 JSON: {error}") from None


def _result(result: PublishResult) -> web.Response:
    status = 201 if result.outcome == Outcome.CREATED else 200
    return _json(result.to_json(), status)


def _state(row: ContentObject) -> dict[str, Any]:
    return {"id": row.uri, "url": row.url, "kind": str(row.kind), "state": str(row.state),
            "pinned": row.pinned, "content_hash": row.content_hash,
            "published": iso(row.published_at),
            "updated": iso(row.updated_at) if row.updated_at else None,
            "deleted": iso(row.deleted_at) if row.deleted_at else None}


@routes.put(ITEM)
async def put_item(request: web.Request) -> web.Response:
    actor, kind, item_id = await _target(request)
    site = request.app[SETTINGS].site
    item = parse_item(await _body(request), kind=kind, actor=actor, source_id=item_id,
                      source=SOURCE, language=site.language, timezone=site.timezone)
    return _result(await request.app[PUBLISHER].upsert(item, republish=True))


@routes.get(ITEM)
async def get_item(request: web.Request) -> web.Response:
    actor, kind, item_id = await _target(request)
    row = await request.app[PUBLISHER].get(actor, kind, SOURCE, item_id)
    return _json(_state(row))


@routes.delete(ITEM)
async def delete_item(request: web.Request) -> web.Response:
    actor, kind, item_id = await _target(request)
    return _result(await request.app[PUBLISHER].delete(actor, kind, SOURCE, item_id))


@routes.put(ITEM + "/pin")
async def pin_item(request: web.Request) -> web.Response:
    actor, kind, item_id = await _target(request)
    return _result(await request.app[PUBLISHER].pin(actor, kind, SOURCE, item_id, True))


@routes.delete(ITEM + "/pin")
async def unpin_item(request: web.Request) -> web.Response:
    actor, kind, item_id = await _target(request)
    return _result(await request.app[PUBLISHER].pin(actor, kind, SOURCE, item_id, False))


@routes.get("/api/v1/actors")
async def list_actors(request: web.Request) -> web.Response:
    token = await _token(request)
    actors = [
        {"identifier": a.identifier, "id": a.uri, "name": a.config.name,
         "username": a.config.username}
        for a in request.app[DIRECTORY].all()
        if not token.actors or a.identifier in token.actors
    ]
    return _json({"actors": actors})


def setup(app: web.Application) -> None:
    """The push API routes (the publisher they use is built by :mod:`federation.services`)."""
    app.router.add_routes(routes)
