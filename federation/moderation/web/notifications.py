"""``/admin/notifications``: a moderator's own e-mail notifications (address, off / immediate /
daily digest). The e-mails are written in the moderator's UI language (the language button).

A CSRF-protected form (:func:`~federation.web.admin.require_session_post`); a bad address or
notifications without an address answer 400 with the form as it was typed and nothing written.
"""

from __future__ import annotations

from aiohttp import web

from federation.db.moderation import NotifyMode
from federation.errors import BadRequest
from federation.moderation.accounts import SessionInfo, clean_email, set_notifications
from federation.web import admin as shell
from federation.web.admin import NavItem, require_session, require_session_post, see_other
from federation.web.state import SETTINGS

routes = web.RouteTableDef()

_env = shell.environment("federation.moderation.web")
MODES = tuple(mode.value for mode in NotifyMode)


async def _page(request: web.Request, session: SessionInfo, *, email: str, notify: str,
                error_key: str | None = None, status: int = 200) -> web.Response:
    settings = request.app[SETTINGS]
    return await shell.render(
        request, _env, "notifications.html", session, status=status, view="notifications",
        failures=[], email=email, notify=notify, modes=MODES, error_key=error_key,
        smtp_enabled=settings.smtp.enabled, digest_hour=settings.moderation.digest_hour,
        timezone=settings.site.timezone)


@routes.get("/admin/notifications")
async def preferences(request: web.Request) -> web.Response:
    session = await require_session(request)
    account = session.account
    return await _page(request, session, email=account.email, notify=str(account.notify))


@routes.post("/admin/notifications")
async def save_preferences(request: web.Request) -> web.Response:
    session, form = await require_session_post(request)
    typed = str(form.get("email", ""))[:1000]
    notify = str(form.get("notify", ""))
    if notify not in MODES:
        raise web.HTTPBadRequest(text="400: notify is off, immediate or digest\n")
    error_key = None
    try:
        email = clean_email(typed)
    except BadRequest:
        error_key = "notifications.error.email"
    else:
        if notify != NotifyMode.OFF and not email:
            error_key = "notifications.error.needs_email"
    if error_key is not None:
        return await _page(request, session, email=typed, notify=notify, error_key=error_key,
                           status=400)
    await set_notifications(session.account, email=email, notify=notify)
    raise see_other("/admin/notifications", msg="done")


def setup(app: web.Application) -> None:
    shell.register(app, nav=[
        NavItem("notifications", "/admin/notifications", "nav.notifications"),
    ])
    app.router.add_routes(routes)



