"""The syndication JSON API (``/api/v1/syndication/…``), for scripts and the site's back office.

The admin APIs' authentication (:mod:`federation.web.admin.api`): ``Authorization: Bearer <token>`` of a
moderator (``federation moderators token USERNAME``); reading needs ``moderation:read`` or
``moderation``, deciding needs ``moderation``. Decisions are audited under the token's moderator.

- ``GET /api/v1/syndication/items?state=pending_review&source=ID&limit=N`` — items, newest first;
- ``POST /api/v1/syndication/items/{id}/approve`` (→ Announce) and ``…/reject``;
- ``GET /api/v1/syndication/sources`` — whom we follow, with state and policy.
"""

from __future__ import annotations

from aiohttp import web

from federation.db.social import Following
from federation.db.syndication import ItemState, SyndicatedItem
from federation.errors import BadRequest
from federation.protocol.actors import iso
from federation.protocol.numbers import is_ascii_digits
from federation.syndication.service import ACTIONS, decide, item_summary
from federation.web.admin.api import int_param, json_response, require_moderator
from federation.web.state import DIRECTORY

routes = web.RouteTableDef()

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


@routes.get("/api/v1/syndication/items")
async def list_items(request: web.Request) -> web.Response:
    await require_moderator(request, write=False)
    state = request.query.get("state", str(ItemState.PENDING_REVIEW))
    if state not in {str(s) for s in ItemState}:
        raise BadRequest("unknown state")
    query = SyndicatedItem.filter(state=state)
    source = int_param(request, "source", None, 2**31 - 1)
    if source is not None:
        query = query.filter(source_id=source)
    limit = int_param(request, "limit", DEFAULT_LIMIT, MAX_LIMIT) or DEFAULT_LIMIT
    items = await query.order_by("-id").limit(limit)
    return json_response({"items": [item_summary(item, with_content=True) for item in items]})


@routes.post("/api/v1/syndication/items/{item_id}/{action}")
async def act(request: web.Request) -> web.Response:
    moderator = await require_moderator(request, write=True)
    action = request.match_info["action"]
    raw = request.match_info["item_id"]
    if action not in ACTIONS or not is_ascii_digits(raw) or len(raw) > 9:
        raise BadRequest("POST /api/v1/syndication/items/<id>/approve or /reject")
    item = await decide(request.app[DIRECTORY], int(raw), action, moderator)
    return json_response(item_summary(item))


@routes.get("/api/v1/syndication/sources")
async def sources(request: web.Request) -> web.Response:
    await require_moderator(request, write=False)
    rows = await Following.all().order_by("id").prefetch_related("remote", "actor")
    return json_response({"sources": [{
        "id": row.id, "actor": row.actor.identifier, "target": row.target_uri,
        "handle": row.remote.handle if row.remote else None, "state": str(row.state),
        "policy": str(row.policy), "relay": row.is_relay, "since": iso(row.created_at),
    } for row in rows]})


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
