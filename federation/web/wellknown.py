"""Discovery endpoints: WebFinger, host-meta (XRD and JSON) and NodeInfo 2.0/2.1."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from federation.errors import BadRequest, Gone, NotFound
from federation.identity.directory import ActorDirectory, LocalActor
from federation.protocol.discovery import (
    NODEINFO_SCHEMA,
    NODEINFO_VERSIONS,
    build_host_meta_json,
    build_host_meta_xrd,
    build_nodeinfo,
    build_nodeinfo_links,
    build_webfinger,
    parse_resource,
)
from federation.protocol.handles import parse_handle
from federation.protocol.uris import same_origin
from federation.settings import Settings
from federation.web.readcache import cached
from federation.web.state import DIRECTORY, SETTINGS, SOFTWARE_VERSION
from federation.web.usage import collect_usage

routes = web.RouteTableDef()

CORS = {"Access-Control-Allow-Origin": "*"}


def _json(document: object, content_type: str, **headers: str) -> web.Response:
    response = web.Response(
        body=json.dumps(document, ensure_ascii=False).encode(),
        content_type=content_type, charset="utf-8",
    )
    response.headers.update(CORS)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers.update(headers)
    return response


def _software_version() -> str:
    try:
        return version("federation")
    except PackageNotFoundError:
        return "0"


def _handle_host(host: str | None) -> str:
    """``host`` as handles are compared (IDNA, lower case, no port 443), "" if malformed."""
    if not host:
        return ""
    try:
        return parse_handle(f"x@{host}").host
    except BadRequest:
        return ""


def _same(_: web.Request) -> str:
    return ""


def _accept(request: web.Request) -> str:
    return request.headers.get("Accept", "")


@routes.get("/.well-known/webfinger")
@cached(_same)
async def webfinger(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    directory = request.app[DIRECTORY]
    query = parse_resource(request.query.get("resource"))
    actor: LocalActor | None
    if query.username is not None:
        if _handle_host(query.host) not in {settings.host, settings.host.split(":")[0]}:
            raise NotFound("this server answers only for its own host")
        if directory.retired_by_username(query.username) is not None:
            raise Gone("this actor was retired")
        actor = _instance_by_username(settings, directory, query.username)
        if actor is None:
            actor = directory.by_username(query.username)
    else:
        assert query.actor_url is not None
        actor = directory.any_by_uri(query.actor_url.rstrip("/"))
        if actor is None:
            actor = next((a for a in directory.all() if a.config.url == query.actor_url), None)
        if actor is None:
            raise NotFound("no actor at this URL")
    document = build_webfinger(
        username=actor.config.username, host=settings.host, actor_uri=actor.uri,
        profile_url=actor.config.url, uris=directory.uris,
    )
    return _json(document, "application/jrd+json")


def _instance_by_username(settings: Settings, directory: ActorDirectory,
                          username: str) -> LocalActor | None:
    """The instance actor for ``acct:HOST@HOST`` (Mastodon's form), unless a configured actor
    has that username."""
    instance = directory.instance_actor_or_none
    if instance is None or username.lower() != instance.config.username.lower():
        return None
    return None if settings.actor_by_username(username) is not None else instance


@routes.get("/.well-known/host-meta")
@cached(_accept)
async def host_meta(request: web.Request) -> web.Response:
    uris = request.app[DIRECTORY].uris
    accept = request.headers.get("Accept", "")
    if "json" in accept and "xml" not in accept:
        return _json(build_host_meta_json(uris), "application/json", Vary="Accept")
    response = web.Response(text=build_host_meta_xrd(uris), content_type="application/xrd+xml")
    response.headers.update(CORS)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Vary"] = "Accept"
    return response


@routes.get("/.well-known/host-meta.json")
@cached(_same)
async def host_meta_json(request: web.Request) -> web.Response:
    return _json(build_host_meta_json(request.app[DIRECTORY].uris), "application/json")


@routes.get("/.well-known/nodeinfo")
@cached(_same)
async def nodeinfo_links(request: web.Request) -> web.Response:
    directory = request.app[DIRECTORY]
    application = directory.instance_actor_or_none or directory.site_actor
    return _json(build_nodeinfo_links(directory.uris, application.uri), "application/json")


@routes.get("/nodeinfo/{version}")
@cached(_same)
async def nodeinfo(request: web.Request) -> web.Response:
    nodeinfo_version = request.match_info["version"]
    if nodeinfo_version not in NODEINFO_VERSIONS:
        raise NotFound("unknown NodeInfo version")
    settings = request.app[SETTINGS]
    document = build_nodeinfo(
        nodeinfo_version, software_version=request.app[SOFTWARE_VERSION],
        usage=await collect_usage(request.app), site_name=settings.site.name,
        site_description=settings.site.description,
    )
    # The media type NodeInfo specifies: JSON with the schema as profile (and the charset).
    schema = f"{NODEINFO_SCHEMA.format(version=nodeinfo_version)}#"
    content_type = f'application/json; profile="{schema}"; charset=utf-8'
    return _json(document, "application/json", **{"Content-Type": content_type})


#: What the OStatus subscribe template leads to when ``uri`` is not ours (no local accounts).
_NO_ACCOUNTS = (
    "Ce site n'a pas de comptes depuis lesquels suivre quelqu'un : suivez ses collectifs depuis "
    "votre propre instance.\nThis site has no accounts to follow anyone from: follow its "
    "collectives from your own instance.\n"
)


@routes.get("/authorize_interaction")
async def authorize_interaction(request: web.Request) -> web.Response:
    """The target of the WebFinger subscribe template. The bridge has no local users, so there
    is nothing to authorize: one of our own ids is shown (its page, through content
    negotiation); anything else gets a short explanation (never a redirect elsewhere)."""
    uri = request.query.get("uri", "")
    if same_origin(uri, request.app[SETTINGS].base_url):
        raise web.HTTPSeeOther(location=uri)
    return web.Response(status=404, text=_NO_ACCOUNTS, charset="utf-8")


def setup(app: web.Application) -> None:
    app[SOFTWARE_VERSION] = _software_version()  # read once: package metadata is on disk
    app.router.add_routes(routes)
