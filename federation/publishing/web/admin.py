"""``/admin/actors``: administrators create, edit and retire collectives (server-rendered).

Every handler is :func:`~federation.web.admin.admin_only` (a moderator gets a 403 page). The
forms are ``multipart/form-data`` (the avatar and header are uploaded):
:func:`~federation.web.admin.read_upload_form` checks the CSRF token and caps every part while
streaming. What they do is :class:`~federation.publishing.profiles.ActorAdmin`'s, shared with
``federation actors create|edit|retire``. A refused form is shown again, with what was typed
and the reasons, with the status of the refusal (413, 415, 422, 409…); nothing is written.
Images are shown only from the bridge's own ``/media/`` (never a remote URL: the CSP allows
``img-src 'self'`` only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from federation.db.social import Follower, FollowState
from federation.errors import FederationError, Unprocessable
from federation.identity.directory import LocalActor
from federation.identity.images import MAX_UPLOAD_BYTES, MediaStore
from federation.publishing.profiles import ActorAdmin, ProfileInput
from federation.web import admin as shell
from federation.web.admin import NavItem, UploadForm, admin_only, format_time, see_other, site_zone
from federation.web.state import DIRECTORY, SETTINGS

routes = web.RouteTableDef()

PATH = "/admin/actors"
FIELD_ROWS = 4  # empty profile field rows offered below the filled ones
IMAGES = ("avatar", "header")

_env = shell.environment("federation.publishing.web")


@dataclass(frozen=True)
class ActorRow:
    identifier: str
    handle: str
    name: str
    role: str
    avatar_url: str | None
    followers: int
    pending: int
    retired_at: str | None
    differences: list[str]


def _actor_admin(request: web.Request) -> ActorAdmin:
    return ActorAdmin(request.app[DIRECTORY], MediaStore(request.app[SETTINGS].data_dir))


def _handle(request: web.Request, actor: LocalActor) -> str:
    return f"@{actor.config.username}@{request.app[SETTINGS].host}"


async def _counts(actor: LocalActor) -> tuple[int, int]:
    accepted = await Follower.filter(actor_id=actor.db_id, state=FollowState.ACCEPTED).count()
    pending = await Follower.filter(actor_id=actor.db_id, state=FollowState.PENDING).count()
    return accepted, pending


async def _render(request: web.Request, session: Any, template: str, *, status: int = 200,
                  **context: Any) -> web.Response:
    return await shell.render(request, _env, template, session, status=status,
                              request_path=request.path, view="actors",
                              max_upload_mb=MAX_UPLOAD_BYTES // (1024 * 1024), failures=[],
                              **context)


@routes.get(PATH)
@admin_only
async def actors(request: web.Request) -> web.Response:
    """Every actor: the site actor, the collectives, the retired ones."""
    session = await shell.require_session(request)
    directory = request.app[DIRECTORY]
    differences = await directory.differences()
    zone = site_zone(request)
    rows = []
    for actor in directory.everyone():
        followers, pending = await _counts(actor)
        rows.append(ActorRow(
            identifier=actor.identifier, handle=_handle(request, actor),
            name=actor.config.name,
            role="site" if actor.is_site_actor else "collective",
            avatar_url=directory.uris.media(actor.avatar_file) if actor.avatar_file else None,
            followers=followers, pending=pending,
            retired_at=format_time(actor.retired_at, zone),
            differences=differences.get(actor.identifier, []),
        ))
    return await _render(request, session, "actors.html", rows=rows)


def _form_values(actor: LocalActor | None, form: UploadForm | None) -> dict[str, Any]:
    """What the form shows: what was just posted, else the actor's profile."""
    if form is not None:
        names, values = form.getall("field_name"), form.getall("field_value")
        fields = list(zip(names, values, strict=False))
        return {"username": form.get("username"), "name": form.get("name"),
                "summary": form.get("summary"), "url": form.get("url"),
                "manual": bool(form.get("manually_approves_followers")),
                "fields": fields + [("", "")] * FIELD_ROWS}
    if actor is None:
        return {"username": "", "name": "", "summary": "", "url": "", "manual": False,
                "fields": [("", "")] * FIELD_ROWS}
    config = actor.config
    return {"username": config.username, "name": config.name, "summary": config.summary,
            "url": config.url or "", "manual": config.manually_approves_followers,
            "fields": [(f.name, f.value) for f in config.fields] + [("", "")] * FIELD_ROWS}


def _profile(form: UploadForm) -> ProfileInput:
    names, values = form.getall("field_name"), form.getall("field_value")
    return ProfileInput(
        name=form.get("name"), summary=form.get("summary"), url=form.get("url") or None,
        fields=tuple(zip(names, values, strict=False)),
        manually_approves_followers=bool(form.get("manually_approves_followers")),
        avatar=form.files.get("avatar"), header=form.files.get("header"),
        remove_avatar=bool(form.get("remove_avatar")),
        remove_header=bool(form.get("remove_header")),
    )


def _errors(error: FederationError) -> list[str]:
    if isinstance(error, Unprocessable) and error.problems:
        return [f"{p.location}: {p.message}" if p.location else p.message
                for p in error.problems]
    return [error.message]


async def _edit_page(request: web.Request, session: Any, actor: LocalActor | None, *,
                     form: UploadForm | None = None, errors: list[str] | None = None,
                     status: int = 200) -> web.Response:
    directory = request.app[DIRECTORY]
    context: dict[str, Any] = {"actor": None, "values": _form_values(actor, form),
                               "errors": errors or [], "host": request.app[SETTINGS].host}
    if actor is not None:
        followers, pending = await _counts(actor)
        differences = (await directory.differences()).get(actor.identifier, [])
        context["actor"] = {
            "identifier": actor.identifier, "handle": _handle(request, actor),
            "uri": actor.uri, "is_site_actor": actor.is_site_actor,
            "avatar_url": directory.uris.media(actor.avatar_file) if actor.avatar_file else None,
            "header_url": directory.uris.media(actor.header_file) if actor.header_file else None,
            "remote_icon": None if actor.avatar_file else actor.config.icon,
            "remote_header": None if actor.header_file else actor.config.header,
            "followers": followers, "pending": pending, "differences": differences,
        }
    return await _render(request, session, "actor.html", status=status, **context)


@routes.get(PATH + "/new")
@admin_only
async def new_actor(request: web.Request) -> web.Response:
    session = await shell.require_session(request)
    return await _edit_page(request, session, None)


@routes.post(PATH + "/new")
@admin_only
async def create_actor(request: web.Request) -> web.Response:
    session, form = await shell.read_upload_form(request, max_file_bytes=MAX_UPLOAD_BYTES,
                                                 file_fields=IMAGES)
    try:
        actor = await _actor_admin(request).create(form.get("username").strip(),
                                                   _profile(form))
    except FederationError as error:
        return await _edit_page(request, session, None, form=form, errors=_errors(error),
                                status=error.http_status)
    raise see_other(f"{PATH}/{actor.identifier}", msg="actors.created")


def _actor_of(request: web.Request) -> LocalActor:
    return request.app[DIRECTORY].get(request.match_info["identifier"])


@routes.get(PATH + "/{identifier}")
@admin_only
async def edit_actor_page(request: web.Request) -> web.Response:
    session = await shell.require_session(request)
    return await _edit_page(request, session, _actor_of(request))


@routes.post(PATH + "/{identifier}")
@admin_only
async def edit_actor(request: web.Request) -> web.Response:
    actor = _actor_of(request)
    session, form = await shell.read_upload_form(request, max_file_bytes=MAX_UPLOAD_BYTES,
                                                 file_fields=IMAGES)
    try:
        result = await _actor_admin(request).edit(actor.identifier, _profile(form))
    except FederationError as error:
        return await _edit_page(request, session, actor, form=form, errors=_errors(error),
                                status=error.http_status)
    message = "actors.saved" if result.update_uri else "actors.unchanged"
    raise see_other(f"{PATH}/{actor.identifier}", msg=message)


@routes.get(PATH + "/{identifier}/retire")
@admin_only
async def retire_page(request: web.Request) -> web.Response:
    session = await shell.require_session(request)
    actor = _actor_of(request)
    followers, _ = await _counts(actor)
    return await _render(request, session, "retire.html", actor={
        "identifier": actor.identifier, "handle": _handle(request, actor),
        "name": actor.config.name, "is_site_actor": actor.is_site_actor,
        "username": actor.config.username,
        "followers": followers}, errors=[])


@routes.post(PATH + "/{identifier}/retire")
@admin_only
async def retire_actor(request: web.Request) -> web.Response:
    session, form = await shell.require_session_post(request)
    actor = _actor_of(request)
    if str(form.get("confirm", "")).strip().lstrip("@").lower() != actor.config.username.lower():
        followers, _ = await _counts(actor)
        return await _render(request, session, "retire.html", status=422, actor={
            "identifier": actor.identifier, "handle": _handle(request, actor),
            "name": actor.config.name, "is_site_actor": actor.is_site_actor,
        "username": actor.config.username,
            "followers": followers}, errors=["actors.retire.mismatch"])
    await _actor_admin(request).retire(actor.identifier)
    raise see_other(PATH, msg="actors.retired")


def setup(app: web.Application) -> None:
    shell.register(app,
                   nav=[NavItem("actors", PATH, "nav.actors", admin_only=True)],
                   notices=("actors.created", "actors.saved", "actors.unchanged",
                            "actors.retired"))
    app.router.add_routes(routes)
