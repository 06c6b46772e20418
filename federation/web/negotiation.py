"""Content negotiation between ActivityPub clients and browsers.

Every ActivityPub id answers JSON to ``application/activity+json`` and
``application/ld+json; profile="https://www.w3.org/ns/activitystreams"`` (and to clients that
name no type), and sends a browser to the human page on the site. ``Vary: Accept`` is always set,
so that caches in front of the bridge never mix the two.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from federation.protocol.uris import link_url

AS_MEDIA_TYPE = "application/activity+json"
LD_MEDIA_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
_AP_TYPES = ("application/activity+json", "application/ld+json")
_JSON_TYPES = (*_AP_TYPES, "application/json", "application/jrd+json")


def _accepted(header: str) -> list[tuple[str, float]]:
    accepted = []
    for part in header.split(",")[:32]:
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        if media:
            accepted.append((media, quality))
    return accepted


def _best(accepted: list[tuple[str, float]], types: tuple[str, ...]) -> float:
    return max((q for media, q in accepted if media in types), default=-1.0)


def wants_activity_json(request: web.Request) -> bool:
    """True unless the client prefers HTML to every ActivityPub/JSON type."""
    header = request.headers.get("Accept", "")
    if not header.strip():
        return True
    accepted = _accepted(header)
    json_q = _best(accepted, _JSON_TYPES)
    html_q = _best(accepted, ("text/html", "application/xhtml+xml"))
    if json_q < 0 and html_q < 0:
        return True  # */* or something unrelated: machines get JSON
    return json_q >= html_q


def prefers_json(request: web.Request) -> bool:
    """True when the client names a JSON type and prefers it to HTML (an ActivityPub or API
    client) — for a URL that is a page first (``/``): ``*/*``, no header or HTML get the
    page."""
    accepted = _accepted(request.headers.get("Accept", ""))
    json_q = _best(accepted, _JSON_TYPES)
    return json_q > 0 and json_q >= _best(accepted, ("text/html", "application/xhtml+xml"))


def representation(request: web.Request) -> str:
    """What a negotiated answer depends on besides its URL (the read cache's key)."""
    return "json" if wants_activity_json(request) else "html"


#: What an answer meant for one reader (a signed GET) says to caches: never store it, and it
#: depends on the signature.
PRIVATE_CACHE_CONTROL = "private, no-store"
PRIVATE_VARY = "Accept, Signature, Signature-Input"


def activity_json(document: Any, *, status: int = 200, cache_seconds: int = 60,
                  private: bool = False) -> web.Response:
    """An ActivityPub JSON answer with ``Vary: Accept``; ``private``: the answer to one reader
    (a non-public document to its addressee), which no cache may keep."""
    response = web.Response(
        body=json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(),
        status=status,
        content_type=AS_MEDIA_TYPE,
        charset="utf-8",
    )
    if private:
        response.headers["Vary"] = PRIVATE_VARY
        response.headers["Cache-Control"] = PRIVATE_CACHE_CONTROL
    else:
        response.headers["Vary"] = "Accept"
        response.headers["Cache-Control"] = f"public, max-age={cache_seconds}"
    return response


def redirect_to_page(url: str) -> web.Response:
    """Send a browser to the human page, with ``Vary: Accept``."""
    response = web.HTTPSeeOther(location=url)
    response.headers["Vary"] = "Accept"
    return response


def negotiate(request: web.Request, document: Any, page_url: str | None,
              **kwargs: Any) -> web.Response:
    """JSON for ActivityPub clients, a redirect to ``page_url`` for browsers (JSON for them too
    when ``page_url`` is not an http(s) URL: a stored page URL is never trusted to be one)."""
    page_url = link_url(page_url)
    if page_url and not wants_activity_json(request):
        return redirect_to_page(page_url)
    return activity_json(document, **kwargs)
