"""``require_admin``: the pages that manage the site (actors, followers, feeds, follows,
tokens, the delivery queue) are for admins only; moderators keep the moderation pages.

A decorator over a handler that takes the request and the admin's session (the shell's
:func:`~federation.web.admin.admin_only` is the same rule for handlers that take the request
only): without a session a GET is sent to the login page and anything else is a 403; a moderator
who is not an admin (``ModeratorAccount.is_admin``, ``federation moderators add --admin`` or
``moderators admin``) gets the shell's 403 page saying the page is for administrators, before
the body of a POST is read. Forms are then read with :func:`admin_form` (the same CSRF check as
every admin form).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from federation.moderation.accounts import SessionInfo, csrf_matches
from federation.web.admin import find_request_session, forbidden_page, read_form

AdminHandler = Callable[[web.Request, SessionInfo], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FORBIDDEN = "403: forbidden (this page is for admins)\n"


def require_admin(handler: AdminHandler) -> Handler:
    """Run ``handler(request, session)`` only for a logged-in admin."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        session = await find_request_session(request)
        if session is None:
            if request.method in ("GET", "HEAD"):
                raise web.HTTPSeeOther(location="/admin/login")
            raise web.HTTPForbidden(text=FORBIDDEN)
        if not session.account.is_admin or session.account.disabled:
            return await forbidden_page(request, session)
        return await handler(request, session)

    return guarded


async def admin_form(request: web.Request, session: SessionInfo) -> Any:
    """The posted form, if its CSRF token is the session's; else 403."""
    form = await read_form(request)
    if not csrf_matches(session.csrf_token, form.get("csrf")):
        raise web.HTTPForbidden(text="403: forbidden\n")
    return form
