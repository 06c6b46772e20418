"""The application factory: wiring only.

``create_app(settings)`` builds the aiohttp application: the error middleware, the typed state,
the database and actor directory opened by a cleanup context, and the routes of every part.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.abc import AbstractResolver

from federation.db.lifecycle import open_database
from federation.identity.directory import ActorDirectory, open_vault
from federation.identity.signers import signer_for
from federation.moderation import web as moderation
from federation.remote.client import ClientPolicy, HardenedClient
from federation.settings import Settings
from federation.syndication import web as syndication
from federation.web import actors, api, inbox, loops, objects, wellknown
from federation.web.middleware import error_middleware
from federation.web.state import CLIENT, DIRECTORY, SETTINGS, VAULT

log = logging.getLogger(__name__)

#: Bodies above this size are refused with 413 before they are buffered.
MAX_REQUEST_BYTES = 1_000_000


def client_policy(settings: Settings) -> ClientPolicy:
    """The outbound client's limits for ``settings`` (loopback only when explicitly allowed)."""
    return ClientPolicy(allow_loopback=settings.allow_loopback_fetch)


async def _database(app: web.Application, *,
                    resolver: AbstractResolver | None = None) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with open_database(settings.effective_database_url):
        directory = ActorDirectory(settings, app[VAULT])
        await directory.sync()
        app[DIRECTORY] = directory
        async with HardenedClient(
            client_policy(settings), signer_for(directory, settings.site_actor.identifier),
            resolver=resolver,
        ) as client:
            app[CLIENT] = client
            yield


def create_app(settings: Settings, *, resolver: AbstractResolver | None = None) -> web.Application:
    """Build the bridge's web application for ``settings``.

    ``resolver``: the DNS resolver under the outbound client's address checks (the system's by
    default; tests give a table of names so that peers on loopback keep real host names).
    """
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_REQUEST_BYTES)
    app[SETTINGS] = settings
    app[VAULT] = open_vault(settings.data_dir)
    app.cleanup_ctx.append(functools.partial(_database, resolver=resolver))
    for part in (wellknown, actors, objects, api, inbox, moderation, syndication, loops):
        part.setup(app)
    return app
