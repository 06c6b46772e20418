"""The application factory: wiring only.

``create_app(settings)`` builds the aiohttp application: the error middleware, the typed state,
the process's services (:func:`federation.services.open_services`: database, directory, client,
publisher, receiver) opened by a cleanup context, and the routes of every part.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.abc import AbstractResolver

from federation.identity.directory import open_vault
from federation.moderation import web as moderation
from federation.publishing import web as publishing
from federation.services import open_services
from federation.settings import Settings
from federation.syndication import web as syndication
from federation.web import (
    actors,
    api,
    health,
    home,
    inbox,
    loops,
    manage,
    media,
    metrics,
    objects,
    wellknown,
)
from federation.web.middleware import error_middleware
from federation.web.readcache import READ_CACHE, ReadCache, invalidation_middleware
from federation.web.state import CLIENT, DIRECTORY, INBOX, PUBLISHER, SERVICES, SETTINGS, VAULT

log = logging.getLogger(__name__)

#: Bodies above this size are refused with 413 before they are buffered.
MAX_REQUEST_BYTES = 1_000_000


async def _services(app: web.Application, *,
                    resolver: AbstractResolver | None = None) -> AsyncIterator[None]:
    async with open_services(app[SETTINGS], resolver=resolver, vault=app[VAULT]) as services:
        app[SERVICES] = services
        app[DIRECTORY] = services.directory
        app[CLIENT] = services.client
        app[PUBLISHER] = services.publisher
        app[INBOX] = services.receiver
        yield


def create_app(settings: Settings, *, resolver: AbstractResolver | None = None) -> web.Application:
    """Build the bridge's web application for ``settings``.

    ``resolver``: the DNS resolver under the outbound client's address checks (the system's by
    default; tests give a table of names so that peers on loopback keep real host names).
    """
    app = web.Application(middlewares=[error_middleware, invalidation_middleware],
                          client_max_size=MAX_REQUEST_BYTES)
    app[SETTINGS] = settings
    app[READ_CACHE] = ReadCache(settings.server.read_cache_seconds)
    app[VAULT] = open_vault(settings.data_dir)
    app.cleanup_ctx.append(functools.partial(_services, resolver=resolver))
    for part in (health, wellknown, actors, objects, media, api, inbox, moderation, publishing,
                 syndication, manage, loops, metrics, home):
        part.setup(app)
    return app
