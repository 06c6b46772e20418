"""The public home page (``/``) and its remote follow (``/follow``).

``/`` shows a newcomer what the bridge is: the site (its name, a link to it), its collectives
(not the retired ones, nor those that asked not to be listed: ``discoverable = false``) with
their fediverse handles — ``@username@host``, the port included when it is not the default —
and, per collective, a follow form: the reader types their instance and ``/follow`` sends them
(303) to ``https://<instance>/authorize_interaction?uri=<the actor's id>``, the page Mastodon,
GoToSocial, Akkoma and Misskey serve to confirm a remote follow. No JavaScript, no external
resource, no cookie, nothing logged nor kept; the instance must be a host name
(:func:`~federation.protocol.handles.parse_instance`), else a 400 page says so (the redirect
never goes elsewhere than that fixed path of a named host).

Content negotiation: ``/`` had no answer (404) before this page; a client that prefers JSON
(ActivityPub, NodeInfo, API clients) still gets the same 404 in JSON, with ``Vary: Accept``,
and is told where discovery starts. Browsers, and clients that ask for HTML or anything
(``*/*``), get the page.

Headers: a strict Content-Security-Policy as the admin's (no script at all here, the same-origin
stylesheet ``/static/home.css``), whose ``form-action`` also allows https targets: the follow
form's answer is a redirect to the reader's instance, which browsers check against
``form-action``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from federation.errors import BadRequest, NotFound
from federation.protocol.handles import authorize_interaction_url, parse_instance
from federation.web.admin.i18n import (
    format_message,
    normalise_language,
    other_language,
    translator,
)
from federation.web.negotiation import prefers_json
from federation.web.state import DIRECTORY, SETTINGS

STATIC_DIR = Path(__file__).parent / "static"
#: The instance a reader types is a host name: at most this long (253 + a port, with room).
MAX_INSTANCE_CHARS = 300

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' https:; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

routes = web.RouteTableDef()

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("federation.web.home", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)


def _language(request: web.Request) -> str:
    return normalise_language(request.query.get("lang") or request.app[SETTINGS].site.language)


def _collectives(request: web.Request) -> list[dict[str, Any]]:
    settings = request.app[SETTINGS]
    actors = sorted(request.app[DIRECTORY].all(),
                    key=lambda a: (not a.is_site_actor, a.config.name.casefold()))
    return [{"identifier": a.identifier, "name": a.config.name, "summary": a.config.summary,
             "handle": f"@{a.config.username}@{settings.host}", "uri": a.uri,
             "url": a.config.url}
            for a in actors if a.config.discoverable]


def _render(request: web.Request, template: str, *, status: int = 200,
            **context: Any) -> web.Response:
    settings = request.app[SETTINGS]
    language = _language(request)
    translate = translator(language)
    other = other_language(language)
    body = _env.get_template(template).render(
        _=translate, lang=language, other_lang=other,
        # the same page in the other language (a follow page keeps its collective and instance)
        switch_url=str(request.rel_url.update_query(lang=other)),
        _f=lambda key, **params: format_message(translate, key, params),
        site_name=settings.site.name, site_url=settings.site.home_page,
        site_description=settings.site.description, **context)
    response = web.Response(text=body, status=status, content_type="text/html",
                            charset="utf-8")
    response.headers.update(HEADERS)
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "public, max-age=60" if status == 200 else "no-store"
    return response


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    if prefers_json(request):
        raise NotFound("no document here: discovery starts at /.well-known/nodeinfo and "
                       "/.well-known/webfinger")
    return _render(request, "home.html", collectives=_collectives(request), instance="",
                   failed=None)


@routes.get("/follow")
async def follow(request: web.Request) -> web.Response:
    """``?actor=<identifier>&instance=<host>``: a 303 to the instance's authorize_interaction
    page; 400 (a page saying why, with the form again) for an instance that is not a host
    name, 404 for an actor that is not listed."""
    identifier = request.query.get("actor", "")[:100]
    typed = request.query.get("instance", "")[:MAX_INSTANCE_CHARS]
    listed = {c["identifier"]: c for c in _collectives(request)}
    collective = listed.get(identifier)
    if collective is None:
        page = _render(request, "follow_error.html", status=404, collective=None,
                       message_key="home.no_actor", instance="")
        return page
    try:
        instance = parse_instance(typed)
    except BadRequest:
        return _render(request, "follow_error.html", status=400, collective=collective,
                       message_key="home.bad_instance", instance=typed, failed=True)
    response = web.HTTPSeeOther(location=authorize_interaction_url(instance, collective["uri"]))
    response.headers.update(HEADERS)
    response.headers["Cache-Control"] = "no-store"
    raise response


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
    app.router.add_static("/static/", STATIC_DIR, name="home-static", append_version=False)
