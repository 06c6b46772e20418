"""Public feeds of syndicated items for the site's CMS (approved and stored items only)."""

from __future__ import annotations

import json

from aiohttp import web

from federation.syndication.exports import (
    FeedInfo,
    atom_feed,
    find_source,
    ical_feed,
    json_feed,
    visible_items,
)
from federation.web.state import SETTINGS

routes = web.RouteTableDef()

PUBLIC_CACHE = "public, max-age=60"
FORMATS = "atom|json|ics"


async def _answer(request: web.Request, info: FeedInfo, source_id: str | None) -> web.Response:
    source = await find_source(source_id) if source_id is not None else None
    kind = request.match_info["fmt"]
    items = await visible_items(source, events_only=kind == "ics")
    if source is not None:
        info = FeedInfo(f"{info.title} — {source.target_uri}", info.feed_url, info.home_page_url)
    if kind == "atom":
        response = web.Response(text=atom_feed(info, items), content_type="application/atom+xml",
                                charset="utf-8")
    elif kind == "json":
        body = json.dumps(json_feed(info, items), ensure_ascii=False).encode()
        response = web.Response(body=body, content_type="application/feed+json", charset="utf-8")
    else:
        response = web.Response(body=ical_feed(info, items), content_type="text/calendar",
                                charset="utf-8")
    response.headers["Cache-Control"] = PUBLIC_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _info(request: web.Request) -> FeedInfo:
    settings = request.app[SETTINGS]
    return FeedInfo(f"{settings.site.name} — sites amis", settings.base_url + request.path,
                    settings.site.home_page)


@routes.get(f"/feeds/syndication.{{fmt:{FORMATS}}}")
async def all_items(request: web.Request) -> web.Response:
    """Every source's approved and stored items (``.ics``: events only)."""
    return await _answer(request, _info(request), None)


@routes.get(f"/feeds/syndication/{{source_id}}.{{fmt:{FORMATS}}}")
async def source_items(request: web.Request) -> web.Response:
    """One source's approved and stored items (the id shown by ``federation following``)."""
    return await _answer(request, _info(request), request.match_info["source_id"])


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
