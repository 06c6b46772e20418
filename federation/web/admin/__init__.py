"""The admin shell: what every page under ``/admin/`` shares, whichever part serves it.

The moderation UI (:mod:`federation.moderation.web.admin`) and the syndication queue
(:mod:`federation.syndication.web.admin`) are pages of one admin; neither imports the other.
Both build on this module:

- the moderators' session (cookie ``fedmod_session``, path ``/admin``; HttpOnly,
  SameSite=Strict, Secure when the base URL is https) and :func:`require_session_post`, the
  CSRF synchronizer check of every form (a POST without the session's token is a 403);
- :func:`read_form` (URL-encoded UTF-8 only: 415/400 otherwise) and :func:`read_upload_form`
  (``multipart/form-data`` with files, capped while streaming, CSRF checked);
- roles: a moderator sees and uses the moderation pages; an administrator (``is_admin``,
  ``federation moderators add --admin``) also the admin pages. :func:`admin_only` wraps every
  handler of an admin page: a moderator gets a 403 page saying so (checked before the body
  is read), and :class:`NavItem`\\ s with ``admin=True`` are shown to administrators only;
- rendering (:func:`environment`, :func:`render`): each part's own page templates, then the
  shared ones here (``base.html``: the layout, the navigation, the notices); the language of
  the session, else ``?lang=``/cookie, else the site's (messages from the gettext catalogues of
  :mod:`federation.i18n`); the navigation each part :func:`register`\\ s;
- :func:`see_other`, :func:`back_target` (only back to ``/admin/…``), :func:`page_cursor`,
  :func:`selection` and :func:`row_ids` (the bulk-action form: ``one=<action>:<id>`` or
  ``action`` with checked ``ids``);
- :func:`clean_html` (remote content sanitised again, smaller allow-list, links only to
  http(s) and mailto) and :func:`format_time`;
- errors a person reads in their language: a service error carries a message key
  (:class:`~federation.errors.FederationError`); :func:`failure_code` puts it in a redirect's
  ``?failed=`` (key and parameters, never free text), the page translates it; an error with a
  key raised by an ``/admin/`` handler is answered with a translated page;
- the headers of every ``/admin/`` answer (a strict Content-Security-Policy: no inline script
  or style, scripts only from ``/admin/static/``, ``X-Frame-Options: DENY``,
  ``Cache-Control: no-store``…) and the stylesheet and the keyboard-shortcut script at
  ``/admin/static/`` (:func:`setup`, called by each part; idempotent). Every page works
  without the script.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import jinja2
import nh3
from aiohttp import BodyPartReader, web
from markupsafe import Markup

from federation.errors import (
    BadRequest,
    FederationError,
    Forbidden,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from federation.moderation.accounts import SessionInfo, csrf_matches, find_session
from federation.protocol.text import unstorable_in
from federation.protocol.uris import link_url
from federation.web.admin.i18n import (
    Translate,
    format_message,
    normalise_language,
    of_name,
    other_language,
    translator,
)
from federation.web.state import SETTINGS

SESSION_COOKIE = "fedmod_session"
LOGIN_COOKIE = "fedmod_login"
LANGUAGE_COOKIE = "fedmod_lang"
COOKIE_PATH = "/admin"
PAGE_SIZE = 50
#: At most this many rows per bulk action.
MAX_SELECTION = 500
STATIC_DIR = Path(__file__).parent / "static"

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
ADMIN_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

_TAGS = {"p", "br", "a", "span", "em", "strong", "b", "i", "u", "s", "del", "blockquote",
         "code", "pre", "ul", "ol", "li"}
_ATTRIBUTES = {"a": {"href"}}
_MESSAGES = ("done", "done.partial", "nothing_selected")


# -- registry: navigation and messages of each part ---------------------------------------------


@dataclass(frozen=True)
class NavItem:
    """A link of the top navigation: ``view`` marks it current, ``count`` (if any) is shown;
    ``admin_only`` links are shown to admins only."""
    view: str
    href: str
    label: str
    count: Callable[[], Awaitable[int]] | None = None
    admin_only: bool = False  # shown to administrators only


@dataclass
class AdminShell:
    nav: list[NavItem] = field(default_factory=list)
    notices: set[str] = field(default_factory=lambda: set(_MESSAGES))


ADMIN_SHELL = web.AppKey("admin_shell", AdminShell)


def register(app: web.Application, *, nav: list[NavItem],
             notices: tuple[str, ...] = ()) -> None:
    """Add a part's navigation links (in order) and the keys of its
    notices (shown after a redirect with ``?msg=<key>``) to the admin."""
    setup(app)
    app[ADMIN_SHELL].nav.extend(nav)
    app[ADMIN_SHELL].notices.update(notices)


# -- remote content, times, pages -------------------------------------------------------------


def _keep_link(tag: str, attribute: str, value: str) -> str | None:
    """Links in remote content only to absolute http(s) URLs (:func:`link_url`) or mailto."""
    if attribute != "href":
        return value
    if value.startswith("mailto:") and not any(ch.isspace() or ord(ch) < 32 for ch in value):
        return value
    return link_url(value)


def clean_html(stored: str) -> Markup:
    """The stored, already sanitised content, sanitised again with a smaller allow-list."""
    return Markup(nh3.clean(stored, tags=_TAGS, attributes=_ATTRIBUTES,
                            url_schemes={"http", "https", "mailto"},
                            attribute_filter=_keep_link,
                            link_rel="noopener noreferrer nofollow ugc"))


def format_time(moment: datetime | None, zone: ZoneInfo) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def site_zone(request: web.Request) -> ZoneInfo:
    return ZoneInfo(request.app[SETTINGS].site.timezone)


def page_cursor(request: web.Request) -> int | None:
    """``?cursor=<id>`` of a page, if it is a row id."""
    try:
        value = int(request.query.get("cursor", ""))
    except ValueError:
        return None
    return value if 0 < value < 2**31 else None


#: At most this many failures are listed after an action, and decisions named in its notice.
MAX_FAILURES = 10
MAX_NOTICES = 20


def failures(request: web.Request) -> list[str]:
    """The ``?failed=`` entries of an action's redirect (at most :data:`MAX_FAILURES`, each at
    most 500 characters): failure codes (:func:`failure_code`), translated by the page."""
    return [f[:500] for f in request.query.getall("failed", [])[:MAX_FAILURES]]


def failure_code(on: str, error: FederationError | None = None, *, key: str | None = None,
                 params: dict[str, str] | None = None) -> str:
    """One ``?failed=`` entry: what failed (``on``: a name, a ``#id``) and the error's message
    key and parameters — never the English message, so the page shows it in its language."""
    key = key or (error.key if error is not None else None) or "error.unknown"
    values = dict(params if params is not None else error.params if error is not None else {})
    return urlencode({"on": on[:100], "key": key,
                      **{f"p.{k}": str(v)[:100] for k, v in values.items()}})


def describe_error(translate: Translate, key: str | None, params: dict[str, str]) -> str:
    """The message of an error key in the page's language. A parameter whose name ends in
    ``state`` is itself translated: ``state=approved`` by ``state.approved`` (« validée »),
    ``syndication_state=stored`` by ``syndication.state.stored``. Unknown keys: a generic
    message."""
    if not key or not key.startswith("error.") or translate(key) == key:
        key = "error.unknown"
    values = dict(params)
    for name, value in params.items():
        if name.endswith("state"):
            state_key = f"{name.replace('_', '.')}.{value}"
            if translate(state_key) != state_key:
                values[name] = translate(state_key)
    return format_message(translate, key, values)


def describe_failure(translate: Translate, code: str) -> str:
    """A :func:`failure_code` as a sentence: « #12 : cette réponse est déjà validée… »."""
    fields = dict(parse_qsl(code, keep_blank_values=True))
    if "key" not in fields:
        return format_message(translate, "error.failed_on", {"on": "", "error": translate(
            "error.unknown")})
    params = {k[2:]: v for k, v in fields.items() if k.startswith("p.")}
    on = fields.get("on", "")
    if on.startswith("action.") and translate(on) != on:  # a word of the UI, not a name
        on = translate(on)
    return format_message(translate, "error.failed_on", {
        "on": on, "error": describe_error(translate, fields["key"], params)})


# -- sessions, CSRF, forms ------------------------------------------------------------------------


def _secure(request: web.Request) -> bool:
    return request.app[SETTINGS].base_url.startswith("https://")


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               max_age: int | None = None) -> None:
    response.set_cookie(name, value, path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=_secure(request), max_age=max_age)


async def find_request_session(request: web.Request) -> SessionInfo | None:
    return await find_session(request.cookies.get(SESSION_COOKIE))


async def require_session(request: web.Request) -> SessionInfo:
    session = await find_request_session(request)
    if session is None:
        raise web.HTTPSeeOther(location="/admin/login")
    return session


async def read_form(request: web.Request) -> Any:
    """The posted form; 415 unless URL-encoded in UTF-8 (our forms are: no multipart, no
    uploads, no other charset), 400 if the body is not UTF-8 or a field holds text no database
    can store (U+0000; a lone surrogate)."""
    if (request.content_type != "application/x-www-form-urlencoded"
            or (request.charset or "utf-8").lower() != "utf-8"):
        raise UnsupportedMediaType("forms are sent as application/x-www-form-urlencoded, UTF-8",
                                   key="error.form")
    try:
        (await request.read()).decode("utf-8")  # aiohttp's own decoding fails with a 500
    except UnicodeDecodeError:
        raise BadRequest("forms are sent in UTF-8", key="error.form") from None
    form = await request.post()
    reason = unstorable_in(list(form.items()))
    if reason is not None:
        raise BadRequest(f"form fields: {reason}")
    return form


#: A multipart form's text fields are short; its files are checked by their reader.
MAX_FORM_FIELD_BYTES = 64 * 1024
MAX_FORM_PARTS = 64


@dataclass(frozen=True)
class UploadForm:
    """A posted ``multipart/form-data`` form: its text fields and its (non-empty) files."""

    fields: dict[str, list[str]]
    files: dict[str, bytes]

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def getall(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))


async def read_upload_form(request: web.Request, *, max_file_bytes: int,
                           file_fields: tuple[str, ...]) -> tuple[SessionInfo, UploadForm]:
    """A logged-in user's ``multipart/form-data`` form with files, its CSRF token checked
    (else 403). Read while streaming: a file above ``max_file_bytes`` is a 413 as soon as
    it is, a text field above 64 KB or not UTF-8 a 400, another content type a 415."""
    session = await find_request_session(request)
    if session is None:
        raise web.HTTPForbidden(text="403: forbidden\n")
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType("this form is sent as multipart/form-data")
    limit = max_file_bytes * len(file_fields) + MAX_FORM_PARTS * MAX_FORM_FIELD_BYTES
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the form is larger than {limit // (1024 * 1024)} MB")
    fields: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    try:
        reader = await request.multipart()
        for _ in range(MAX_FORM_PARTS + 1):
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                raise BadRequest("nested multipart forms are not accepted")
            name = part.name or ""
            cap = max_file_bytes if name in file_fields else MAX_FORM_FIELD_BYTES
            data = bytearray()
            while chunk := await part.read_chunk(64 * 1024):
                data += chunk
                if len(data) > cap:
                    if name in file_fields:
                        raise PayloadTooLarge(
                            f"the file {name} is larger than {max_file_bytes // (1024 * 1024)} MB")
                    raise BadRequest(f"the field {name} is too long")
            if name in file_fields:
                if data:
                    files[name] = bytes(data)
                continue
            try:
                fields.setdefault(name, []).append(data.decode("utf-8"))
            except UnicodeDecodeError:
                raise BadRequest("forms are sent in UTF-8") from None
        else:
            raise BadRequest("too many form fields")
    except (ValueError, AssertionError) as error:  # a broken multipart body
        raise BadRequest(f"malformed form: {str(error)[:120]}") from None
    reason = unstorable_in([(k, v) for k, values in fields.items() for v in values])
    if reason is not None:
        raise BadRequest(f"form fields: {reason}")
    token = fields.get("csrf", [""])[0]
    if not csrf_matches(session.csrf_token, token):
        raise web.HTTPForbidden(text="403: forbidden\n")
    return session, UploadForm(fields, files)


def admin_only(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
               ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An admin page's handler: administrators only. Anyone else logged in gets a 403 page
    that says so (before the body of a POST is read); a visitor is sent to the login page."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        session = await find_request_session(request)
        if session is None:
            if request.method in ("GET", "HEAD"):
                raise web.HTTPSeeOther(location="/admin/login")
            raise web.HTTPForbidden(text="403: forbidden\n")
        if not session.account.is_admin or session.account.disabled:
            return await forbidden_page(request, session)
        return await handler(request)

    return guarded


async def forbidden_page(request: web.Request, session: SessionInfo) -> web.StreamResponse:
    """The 403 page a moderator gets on a page for administrators (it says so, and how to get
    the role)."""
    return await render(request, environment("federation.web.admin"), "forbidden.html",
                        session, status=403, view="", failures=[])


async def require_session_post(request: web.Request) -> tuple[SessionInfo, Any]:
    """A logged-in moderator's form whose CSRF token matches the session; else 403."""
    session = await find_request_session(request)
    form = await read_form(request)
    if session is None or not csrf_matches(session.csrf_token, form.get("csrf")):
        raise Forbidden("forbidden", key="error.csrf")
    return session, form


def selection(form: Any) -> tuple[str, list[str]]:
    """The action and raw ids of a bulk-action form: ``one=<action>:<id>`` (one row's button),
    else ``action`` with the checked ``ids``."""
    one = str(form.get("one", ""))
    if one:
        action, _, raw_id = one.partition(":")
        return action, [raw_id]
    return str(form.get("action", "")), [str(v) for v in form.getall("ids", [])]


def row_ids(ids: list[str], what: str) -> list[int]:
    """The selected ids as numbers (at most :data:`MAX_SELECTION`); 400 if one is not."""
    try:
        return [int(i) for i in ids][:MAX_SELECTION]
    except ValueError:
        raise BadRequest(f"bad {what} id", key="error.bad_id") from None


def see_other(location: str, **params: str) -> web.HTTPSeeOther:
    if params:
        location += ("&" if "?" in location else "?") + urlencode(params)
    return web.HTTPSeeOther(location=location)


def see_other_done(back: str, done: list[int], failed: list[str]) -> web.HTTPSeeOther:
    r"""Back to ``back`` after an action: its notice names the audit rows ``done`` (a part
    that keeps decisions shows them) and the :func:`failure_code`\ s ``failed``."""
    location = back + ("&" if "?" in back else "?") + urlencode(
        [("done", str(i)) for i in done[:MAX_NOTICES]]
        + [("failed", f) for f in failed[:MAX_FAILURES]]
        + [("msg", "done.partial" if failed else "done")])
    return web.HTTPSeeOther(location=location)


def back_target(form: Any, default: str = "/admin/") -> str:
    """The form's ``back`` page, only if it is a path under ``/admin/``; else ``default``."""
    target = str(form.get("back", "") or "")
    if target.startswith("/admin/") and "//" not in target and "\\" not in target:
        return target
    return default


# -- rendering --------------------------------------------------------------------------------


def environment(package: str) -> jinja2.Environment:
    """Templates of ``package``'s ``templates/`` directory, then the shell's (``base.html``)."""
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([
            jinja2.PackageLoader(package, "templates"),
            jinja2.PackageLoader("federation.web.admin", "templates"),
        ]),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )


def ui_language(request: web.Request, session: SessionInfo | None) -> str:
    if session is not None:
        return normalise_language(session.account.language)
    wanted = request.query.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return normalise_language(wanted or request.app[SETTINGS].moderation.language)


def flash_message(request: web.Request) -> str:
    message = request.query.get("msg", "")
    return message if message in request.app[ADMIN_SHELL].notices else ""


def page_translator(request: web.Request, session: SessionInfo | None) -> Translate:
    """``_`` of the page's language."""
    return translator(ui_language(request, session))


async def render(request: web.Request, env: jinja2.Environment, template: str,
                 session: SessionInfo | None, *, status: int = 200,
                 request_path: str | None = None, **context: Any) -> web.Response:
    """An admin page: ``template`` with the shell's context (language, CSRF token, moderator,
    navigation with its counts when logged in, the redirect's notice)."""
    shell = request.app[ADMIN_SHELL]
    nav = []
    if session is not None:
        for item in shell.nav:
            if item.admin_only and not session.account.is_admin:
                continue
            nav.append({"view": item.view, "href": item.href, "label": item.label,
                        "count": await item.count() if item.count is not None else None})
    language = ui_language(request, session)
    translate = translator(language)
    context.setdefault("failures", failures(request))
    body = env.get_template(template).render(
        _=translate, lang=language,
        _f=lambda key, **params: format_message(translate, key, params),
        of=lambda name: of_name(language, name),
        describe_failure=lambda code: describe_failure(translate, code),
        other_lang=other_language(language),
        session=session, csrf=session.csrf_token if session else "",
        moderator=session.account.username if session else "",
        is_admin=bool(session and session.account.is_admin),
        site_name=request.app[SETTINGS].site.name,
        request_path=request.path if request_path is None else request_path,
        message=flash_message(request), nav=nav, **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


# -- headers, static files --------------------------------------------------------------------


_shell_env = environment("federation.web.admin")


@web.middleware
async def _translated_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """An error with a message key from an ``/admin/`` page: a page in the reader's language
    (the error middleware answers the others, and the JSON APIs)."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except FederationError as error:
        if error.key is None or not request.path.startswith("/admin/"):
            raise
        session = await find_request_session(request)
        return await render(request, _shell_env, "error.html", session,
                            status=error.http_status, view="error",
                            error_text=describe_error(page_translator(request, session),
                                                      error.key, error.params))


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    path = request.path
    if path == "/admin" or path.startswith("/admin/"):
        for name, value in ADMIN_HEADERS.items():
            response.headers[name] = value


def setup(app: web.Application) -> None:
    """The stylesheet and the ``/admin/`` headers, once (every admin part calls this)."""
    if ADMIN_SHELL in app:
        return
    app[ADMIN_SHELL] = AdminShell()
    app.router.add_static("/admin/static/", STATIC_DIR, name="admin-static",
                          append_version=False)
    app.on_response_prepare.append(_security_headers)
    app.middlewares.append(_translated_errors)
