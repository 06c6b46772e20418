"""Actor documents and their collections (outbox, followers, following, featured).

Every URL here negotiates content: ActivityPub clients get JSON, browsers are sent to the
collective's page on the site.
"""

from __future__ import annotations

import logging

from aiohttp import web

from federation.errors import Gone
from federation.identity.directory import LocalActor
from federation.inbox.collections import followers_collection, following_collection
from federation.protocol import activities
from federation.protocol.collections import parse_page
from federation.protocol.jsonld import with_context
from federation.publishing.collections import featured_collection, outbox_collection
from federation.web.negotiation import negotiate, representation
from federation.web.readcache import cached
from federation.web.state import DIRECTORY, SETTINGS

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


def _actor(request: web.Request) -> LocalActor:
    """The actor of the URL; 410 with a Tombstone for a retired one (and its collections),
    as Mastodon answers for a deleted account."""
    directory = request.app[DIRECTORY]
    identifier = request.match_info["identifier"]
    retired = directory.retired(identifier)
    if retired is not None:
        raise Gone("this actor was retired", tombstone=directory.tombstone(retired))
    return directory.get(identifier)


def _page_url(request: web.Request, actor: LocalActor) -> str:
    return actor.config.url or request.app[SETTINGS].site.home_page


@routes.get("/actors/{identifier}")
@cached(representation)
async def actor_document(request: web.Request) -> web.Response:
    actor = _actor(request)
    document = request.app[DIRECTORY].document(actor)
    return negotiate(request, document, _page_url(request, actor), cache_seconds=180)


@routes.get("/actor")
@cached(representation)
async def instance_actor(request: web.Request) -> web.Response:
    """The instance actor (an ``Application``, as Mastodon's): it follows relays."""
    document = request.app[DIRECTORY].instance_document()
    return negotiate(request, document, request.app[SETTINGS].site.home_page, cache_seconds=180)


@routes.get("/actor/outbox")
@cached(representation)
async def instance_outbox(request: web.Request) -> web.Response:
    """The instance actor publishes nothing: an empty collection."""
    uris = request.app[DIRECTORY].uris
    document = with_context(activities.ordered_collection(uris.instance_outbox, 0, []))
    return negotiate(request, document, request.app[SETTINGS].site.home_page)


@routes.get("/actors/{identifier}/outbox")
@cached(representation)
async def outbox(request: web.Request) -> web.Response:
    actor = _actor(request)
    uri = request.app[DIRECTORY].uris.outbox(actor.identifier)
    document = await outbox_collection(actor, uri, parse_page(request.query.get("page")))
    return negotiate(request, document, _page_url(request, actor))


@routes.get("/actors/{identifier}/followers")
@cached(representation)
async def followers(request: web.Request) -> web.Response:
    actor = _actor(request)
    uri = request.app[DIRECTORY].uris.followers(actor.identifier)
    document = await followers_collection(
        actor, uri, parse_page(request.query.get("page")),
        publish=request.app[SETTINGS].inbox.publish_follower_lists,
    )
    return negotiate(request, document, _page_url(request, actor))


@routes.get("/actors/{identifier}/following")
@cached(representation)
async def following(request: web.Request) -> web.Response:
    actor = _actor(request)
    uri = request.app[DIRECTORY].uris.following(actor.identifier)
    document = await following_collection(
        actor, uri, parse_page(request.query.get("page")),
        publish=request.app[SETTINGS].inbox.publish_follower_lists,
    )
    return negotiate(request, document, _page_url(request, actor))


@routes.get("/actors/{identifier}/featured")
@cached(representation)
async def featured(request: web.Request) -> web.Response:
    actor = _actor(request)
    uri = request.app[DIRECTORY].uris.featured(actor.identifier)
    return negotiate(request, await featured_collection(actor, uri), _page_url(request, actor))


def setup(app: web.Application) -> None:
    # (a key rotation made by another process is picked up by the key-refresh loop:
    # federation.web.loops)
    app.router.add_routes(routes)
