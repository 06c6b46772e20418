"""Our objects and activities at their ids: JSON for ActivityPub clients, the page for browsers.

``/objects/{kind}/{id}`` (with ``/replies``, ``/likes``, ``/shares``) and ``/activities/{id}``.
A deleted object answers 410 with its Tombstone; an unknown one 404.

An activity answers everyone when it is public. A non-public one answers only a signed GET
(authorized fetch) of one of its readers (:func:`federation.publishing.collections.may_read`),
with ``Cache-Control: private, no-store``; to anyone else — unsigned, a browser, another
signer, a blocked one — it is exactly an unknown id (404, never a redirect). A signature that
does not verify is a 401, checked before anything tells whether the id exists. An activity
undone or whose object was deleted answers 410 with its own Tombstone, to the same readers.
"""

from __future__ import annotations

from aiohttp import web

from federation.db.content import ContentObject, ObjectKind
from federation.db.moderation import InteractionKind
from federation.errors import Forbidden, Gone, NotFound
from federation.protocol.collections import parse_page
from federation.protocol.uris import link_url
from federation.publishing import collections
from federation.web.negotiation import activity_json, negotiate, representation
from federation.web.readcache import cached
from federation.web.state import DIRECTORY, INBOX, SETTINGS

routes = web.RouteTableDef()

_KINDS = {str(kind) for kind in ObjectKind}


async def _object(request: web.Request) -> ContentObject:
    kind = request.match_info["kind"]
    if kind not in _KINDS:
        raise NotFound("no such object")
    uri = request.app[DIRECTORY].uris.object(kind, request.match_info["object_id"])
    return await collections.find_object(uri)


def _page_url(request: web.Request, row: ContentObject | None) -> str:
    """The object's page on the site if it has a valid one, else the site's home page."""
    return (link_url(row.url) if row is not None else None) or request.app[SETTINGS].site.home_page


@routes.get("/objects/{kind}/{object_id}")
@cached(representation)
async def object_document(request: web.Request) -> web.Response:
    row = await _object(request)
    document = await collections.served_document(
        row, quotes=request.app[SETTINGS].moderation.quotes)
    return negotiate(request, document, _page_url(request, row), cache_seconds=60)


@routes.get("/objects/{kind}/{object_id}/replies")
@cached(representation)
async def replies(request: web.Request) -> web.Response:
    row = await _object(request)
    document = await collections.replies_collection(row, parse_page(request.query.get("page")))
    return negotiate(request, document, _page_url(request, row))


@routes.get("/objects/{kind}/{object_id}/likes")
@cached(representation)
async def likes(request: web.Request) -> web.Response:
    row = await _object(request)
    document = await collections.interactions_collection(row, InteractionKind.LIKE)
    return negotiate(request, document, _page_url(request, row))


@routes.get("/objects/{kind}/{object_id}/shares")
@cached(representation)
async def shares(request: web.Request) -> web.Response:
    row = await _object(request)
    document = await collections.interactions_collection(row, InteractionKind.ANNOUNCE)
    return negotiate(request, document, _page_url(request, row))


async def _signer(request: web.Request) -> str | None:
    """The proven signer of a signed GET (a 401 when its signature does not verify), None when
    unsigned or blocked."""
    if "Signature" not in request.headers and "Signature-Input" not in request.headers:
        return None
    try:
        return await request.app[INBOX].verified_signer(request.method, request.path_qs,
                                                         request.headers)
    except Forbidden:
        return None


@routes.get("/activities/{activity_id}")
@cached(representation)
async def activity(request: web.Request) -> web.Response:
    directory = request.app[DIRECTORY]
    uri = directory.uris.activity(request.match_info["activity_id"])
    row = await collections.find_activity(uri)
    public = row is not None and collections.is_public_activity(row)
    if not public:
        signer = await _signer(request)
        if row is None or signer is None or not await collections.may_read(row, signer,
                                                                           directory):
            raise NotFound("no such activity")
    assert row is not None
    gone = await collections.withdrawn_tombstone(row)
    if gone is not None:
        if public:
            raise Gone("this activity was undone, or its object deleted", tombstone=gone)
        return activity_json(gone, status=410, private=True)
    if not public:
        return activity_json(row.document, private=True)
    target = None
    if row.object_uri:
        target = await ContentObject.get_or_none(uri=row.object_uri)
    return negotiate(request, row.document, _page_url(request, target), cache_seconds=300)


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
