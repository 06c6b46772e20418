"""The bridge's own images (``/media/<sha256>.jpg|png``): actors' uploaded avatars and headers.

Names are the SHA-256 of the file's content, so a URL always means the same bytes: cached for
a year by peers and browsers (``immutable``). Only names of that shape are looked up (nothing
from the request becomes a path otherwise); the Content-Type is the one we encoded.
"""

from __future__ import annotations

from aiohttp import web

from federation.errors import NotFound
from federation.identity.images import MEDIA_TYPES, MediaStore
from federation.web.state import SETTINGS

routes = web.RouteTableDef()

CACHE_CONTROL = "public, max-age=31536000, immutable"


@routes.get("/media/{name}")
async def media(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = MediaStore(request.app[SETTINGS].data_dir).path(name)
    if path is None:
        raise NotFound("no such image")
    return web.FileResponse(path, headers={
        "Content-Type": MEDIA_TYPES[name.rsplit(".", 1)[1]],
        "Cache-Control": CACHE_CONTROL,
        "Content-Security-Policy": "default-src 'none'",
        "Access-Control-Allow-Origin": "*",
    })


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
