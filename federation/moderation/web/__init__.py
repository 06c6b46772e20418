"""The moderation part of the web application.

- ``/admin/…`` — the moderators' UI (server-rendered, French and English; an optional script
  for keyboard shortcuts), with each moderator's own e-mail notifications at
  ``/admin/notifications``;
- ``/api/v1/moderation/…`` — the same actions as JSON, with a bearer token;
- ``/authorizations/{token}`` — the Reply- and QuoteAuthorization documents we issued;
- ``/api/v1/replies`` and ``/feeds/replies/{kind}/{id}.atom`` — approved public replies for
  the site.

``setup(app)`` adds the routes, the security headers of ``/admin/``, and a cleanup context
that builds the :class:`~federation.moderation.service.ModerationService` once the database is
open. Its decisions' webhook calls are jobs, sent by the process's job worker
(:mod:`federation.web.loops`), woken at once by a decision.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from federation.moderation.logins import LoginGuard
from federation.moderation.service import ModerationService
from federation.moderation.web import admin, api, notifications, public
from federation.moderation.web.keys import LOGIN_GUARD, MODERATION
from federation.web.loops import LOOPS
from federation.web.state import DIRECTORY, SETTINGS

__all__ = ["LOGIN_GUARD", "MODERATION", "setup"]


async def _moderation(app: web.Application) -> AsyncIterator[None]:
    def wake() -> None:  # the loops start after this part
        loops = app.get(LOOPS)
        if loops is not None:
            loops.wake()

    app[MODERATION] = ModerationService(app[SETTINGS], app[DIRECTORY], on_decision=wake)
    yield


def setup(app: web.Application) -> None:
    config = app[SETTINGS].moderation
    app[LOGIN_GUARD] = LoginGuard(
        per_username=config.login_attempts_per_username,
        per_client=config.login_attempts_per_client,
        per_username_total=config.login_attempts_per_username_total,
        window=config.login_window_seconds,
    )
    app.cleanup_ctx.append(_moderation)
    admin.setup(app)
    notifications.setup(app)
    api.setup(app)
    public.setup(app)
