"""Public moderation documents: reply and quote authorizations, and approved replies for the
site.

Nothing here reveals a reply that is not approved and public (security principle 12).
"""

from __future__ import annotations

import json

from aiohttp import web

from federation.db.moderation import ReplyAuthorization, ReplyState
from federation.errors import Gone, NotFound
from federation.moderation.activities import build_authorization, build_revoked_authorization
from federation.moderation.exports import (
    find_object,
    public_replies,
    replies_atom,
    replies_document,
)
from federation.protocol.actors import iso
from federation.web.negotiation import activity_json
from federation.web.state import DIRECTORY

routes = web.RouteTableDef()

TOKEN_MAX = 64
PUBLIC_CACHE = "public, max-age=60"


@routes.get("/authorizations/{token}")
async def authorization(request: web.Request) -> web.Response:
    """The Reply- or QuoteAuthorization at its id; 410 with a Tombstone once the approval is
    undone (or the note it approved deleted)."""
    token = request.match_info["token"]
    if len(token) > TOKEN_MAX:
        raise NotFound("no such authorization")
    row = await ReplyAuthorization.get_or_none(token=token).prefetch_related("reply")
    if row is None:
        raise NotFound("no such authorization")
    reply = row.reply
    valid = (
        row.revoked_at is None and reply is not None and reply.state == ReplyState.APPROVED
        and reply.authorization_uri == row.uri
    )
    if not valid:
        when = row.revoked_at or (reply.decided_at if reply is not None else None) or row.created_at
        raise Gone("this authorization was withdrawn",
                   tombstone=build_revoked_authorization(row.uri, iso(when), row.object_type))
    document = build_authorization(
        authorization_uri=row.uri, our_actor_uri=row.actor_uri,
        reply_uri=row.interacting_uri, target_uri=row.target_uri, object_type=row.object_type,
    )
    return activity_json(document, cache_seconds=60)


@routes.get("/api/v1/replies")
async def replies_json(request: web.Request) -> web.Response:
    """Approved public replies to one of our objects: ``?object=<object id or site URL>``."""
    obj = await find_object(request.query.get("object", ""))
    document = replies_document(obj, await public_replies(obj))
    response = web.Response(
        body=json.dumps(document, ensure_ascii=False).encode(), content_type="application/json",
        charset="utf-8",
    )
    response.headers["Cache-Control"] = PUBLIC_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@routes.get("/feeds/replies/{kind}/{object_id}.atom")
async def replies_feed(request: web.Request) -> web.Response:
    """The Atom feed of approved public replies to the object ``/objects/{kind}/{id}``."""
    uris = request.app[DIRECTORY].uris
    object_uri = uris.object(request.match_info["kind"], request.match_info["object_id"])
    obj = await find_object(object_uri)
    feed_url = uris.base_url + request.rel_url.raw_path
    text = replies_atom(obj, await public_replies(obj), feed_url)
    response = web.Response(text=text, content_type="application/atom+xml", charset="utf-8")
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return response


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
