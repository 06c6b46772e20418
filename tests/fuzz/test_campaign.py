"""A property-based fuzz campaign (Hypothesis) against a served instance.

A real server (aiohttp's test server on 127.0.0.1) runs the whole application; a remote peer
(a real server too) serves the signing actor's document. Hypothesis draws hostile strings (lone
surrogates, NUL, RTL overrides, 100 KB names), hostile URLs (brackets, userinfo, IDN, CR/LF,
``javascript:``) and wrong types, and sends them, signed, to the inbox; to the push API with a
valid token; to the moderation API; to WebFinger and every public collection; and to every admin
form with a valid session and CSRF token. Property: no answer is ever >= 500, nothing is logged as
unhandled, and afterwards every admin page still renders (200).

Marked ``slow``: ``make test`` runs it, ``PYTEST_ARGS='-m "not slow"'`` skips it. The number of
examples per target is ``FUZZ_EXAMPLES`` (default 60); a fixed seed makes CI reproducible.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import ClientSession, CookieJar, web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from federation.settings import Settings
from tests.inbox.conftest import ARTICLE, BRIDGE, Peer, sign_headers
from tests.inbox.test_fuzz import paths, templates

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
SEED = 20261207

HOSTILE_TEXT = [
    "\ud800", "a\udfffb", "\udc00\ud800", "\x00", "x\x00y", "\u202eevil\u202c", "\u200d\u200c",
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "x" * 100_000, "", " ",
    "\r\n", "line\r\nInjected: 1", "%00", "\ufeff", "\uffff", "𝕏" * 2000, "\\", "'; DROP TABLE x; --",
    "{{7*7}}", "{% raw %}", "\u0085\u2028\u2029",
]
HOSTILE_URLS = [
    "http://[", "https://[::1", "http://]", "https://user:pass@social.example/users/a",
    "https://faß.example/users/a", "https://ΣΊΣΥΦΟΣ.example/x", "https://a\u200db.example/",
    "https://a．example/x", "https://social.example/users/a\r\nX-Injected: 1",
    "https://social.example/\x00", "javascript:alert(1)", "data:text/html,<script>",
    "https://social.example:99999/x", "https://social.example:-1/", "//social.example/x",
    "https://" + "a" * 300 + ".example/", "https://social.example/" + "p" * 5000,
    "https://\ud800.example/", "https://xn--.example/", "https:///x", "ftp://social.example/",
    "https://127.0.0.1/x", "https://bridge.example/objects/article/4521#\u202e",
]
WRONG_TYPES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=False), st.just([]), st.just({}),
    st.lists(st.sampled_from([None, 1, "x", {}]), max_size=3),
    st.dictionaries(st.sampled_from(["id", "type", "href", "@value", "x"]),
                    st.sampled_from([None, 5, "x", [], {}]), max_size=3),
)
#: Text with every code point, lone surrogates included (Hypothesis leaves them out by default).
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)
HOSTILE_STRING = st.one_of(st.sampled_from(HOSTILE_TEXT), st.sampled_from(HOSTILE_URLS), ANY_TEXT)
HOSTILE = st.one_of(HOSTILE_STRING, WRONG_TYPES)

FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow,
                                                HealthCheck.data_too_large])


class Served:
    """The bridge and a peer served on loopback, driven from synchronous Hypothesis tests."""

    def __init__(self, settings: Settings, key: Any) -> None:
        from federation.app import create_app

        self.runner = asyncio.Runner()
        self.app = create_app(settings)
        self.server = TestServer(self.app, host="127.0.0.1")
        self.run(self.server.start_server())
        self.session = self.run(self._session())
        self.peer = Peer()
        peer_app = web.Application()
        peer_app.router.add_get("/{tail:.*}", self.peer.get)
        peer_app.router.add_post("/{tail:.*}", self.peer.post)
        self.peer_server = TestServer(peer_app, host="127.0.0.1")
        self.run(self.peer_server.start_server())
        self.peer.base = f"http://127.0.0.1:{self.peer_server.port}"
        self.alice = self.peer.actor("alice", key)
        self.cookies: dict[str, str] = {}
        #: Answers by status, over every example of the test (reported when it ends).
        self.statuses: Counter[int] = Counter()

    async def _session(self) -> ClientSession:
        return ClientSession(cookie_jar=CookieJar(unsafe=True))  # cookies from 127.0.0.1

    def run(self, coroutine: Any) -> Any:
        return self.runner.run(coroutine)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
        async def go() -> tuple[int, str]:
            headers = {"Host": "bridge.example", **kwargs.pop("headers", {})}
            async with self.session.request(method, self.url(path), headers=headers,
                                            allow_redirects=False, **kwargs) as response:
                self.statuses[response.status] += 1
                return response.status, await response.text(errors="replace")
        return self.run(go())

    def close(self) -> None:
        self.run(self.session.close())
        self.run(self.peer_server.close())
        self.run(self.server.close())
        self.runner.close()


@pytest.fixture
def served(request: pytest.FixtureRequest, database_url: str,
           make_settings: Callable[..., Settings], peer_keys: list[Any],
           caplog: pytest.LogCaptureFixture) -> Iterator[Served]:
    """The served bridge (``https://bridge.example``; a test marked ``plain_http`` gets
    ``http://127.0.0.1:8080``, whose session cookies are not ``Secure``)."""
    base = {"base_url": "http://127.0.0.1:8080"} if "plain_http" in request.keywords else {}
    settings = make_settings(database_url, allow_loopback_fetch=True,
                             server={"run_worker": False}, **base)
    instance = Served(settings, peer_keys[0])
    instance.run(_seed(instance))
    with caplog.at_level(logging.ERROR):
        yield instance
    try:
        print(f"\n{request.node.name}: answers by status {dict(sorted(instance.statuses.items()))}")
        unhandled = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert unhandled == [], unhandled[:5]
    finally:
        instance.close()


@pytest.fixture(scope="session")
def peer_keys(_rsa_key_pool: list[Any]) -> list[Any]:
    return _rsa_key_pool[4:]


async def _seed(served: Served) -> None:
    """An article to reply to, a moderator, tokens for both APIs."""
    from federation.db.content import ContentObject, ObjectKind
    from federation.ingest.tokens import create_token
    from federation.moderation import accounts
    from federation.web.state import DIRECTORY

    actor = served.app[DIRECTORY].get("halte-au-controle-numerique")
    await ContentObject.create(
        actor_id=actor.db_id, kind=ObjectKind.ARTICLE, source="push", source_id="4521",
        uri=ARTICLE, url="https://site.example/spip.php?article4521",
        document={"id": ARTICLE, "type": "Article", "name": "Débat"}, content_hash="0" * 64,
        published_at=datetime.now(UTC) - timedelta(days=1))
    await accounts.create_account("camille", "correct horse battery staple")
    served.api_token = (await create_token("fuzz")).secret  # type: ignore[attr-defined]
    served.mod_token = await accounts.create_token("camille", name="fuzz")  # type: ignore[attr-defined]


def _replace(document: Any, where: tuple[Any, ...], value: Any) -> None:
    *parents, last = where
    target = document
    for step in parents:
        target = target[step]
    target[last] = value


def _quoted(value: str) -> str:
    """``value`` percent-encoded for a path or query (a lone surrogate as its raw bytes)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _check(status: int, body: str, what: Any) -> None:
    assert status < 500, (status, body[:300], repr(what)[:600])


# --- the inbox: signed activities with hostile fields ------------------------------------------

@FUZZ_SETTINGS
@seed(SEED)
@given(data=st.data())
def test_signed_hostile_activities_never_get_a_500(served: Served, data: st.DataObject) -> None:
    activity = copy.deepcopy(data.draw(st.sampled_from(templates(served.alice))))
    activity["id"] = f"{activity['id']}/fuzz/{data.draw(st.integers(0, 10**9))}"
    where = paths(activity)
    for place in data.draw(st.lists(st.sampled_from(where), min_size=1, max_size=3)):
        try:
            _replace(activity, place, data.draw(HOSTILE))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this place
    body = json.dumps(activity).encode()  # ensure_ascii: a lone surrogate travels as \ud800
    headers = {"Content-Type": "application/activity+json",
               **sign_headers("cavage", served.alice, BRIDGE + "/inbox", body)}
    status, text = served.request("POST", "/inbox", data=body, headers=headers)
    _check(status, text, activity)


# --- the push API ------------------------------------------------------------------------------

ARTICLE_FIELDS = ["title", "url", "published", "updated", "summary", "lead_html", "content_html",
                  "language", "image", "attachments", "tags", "sensitive", "correction", "id"]
EVENT_FIELDS = ARTICLE_FIELDS + ["start", "end", "timezone", "location", "status", "join_mode",
                                 "external_participation_url", "online", "online_url", "category"]
#: Plausible values beside the hostile ones, so that examples get past validation and reach the
#: publisher (a payload made of hostile values only is refused at the door: a shallow test).
PLAUSIBLE = st.sampled_from([
    "Débat", "https://site.example/spip.php?article43", "2026-05-02T10:00:00Z", "fr",
    {"url": "https://site.example/IMG/a.png", "media_type": "image/png", "name": "Affiche"},
    [{"url": "https://site.example/IMG/b.pdf", "media_type": "application/pdf"}],
    ["surveillance", {"name": "numérique"}], True, {"name": "Salle", "locality": "Saint-Étienne"},
    "Europe/Paris", "cancelled", "external", "Salle des fêtes",
])


@FUZZ_SETTINGS
@seed(SEED)
@given(kind=st.sampled_from(["articles", "events"]),
       item_id=st.one_of(st.just("42"), st.sampled_from(HOSTILE_TEXT[:12]), ANY_TEXT),
       data=st.data())
def test_push_api_never_gets_a_500(served: Served, kind: str, item_id: str,
                                   data: st.DataObject) -> None:
    names = EVENT_FIELDS if kind == "events" else ARTICLE_FIELDS
    fields = data.draw(st.dictionaries(st.sampled_from(names), st.one_of(HOSTILE, PLAUSIBLE),
                                       max_size=3))
    item = {"title": "Débat", "url": "https://site.example/spip.php?article42",
            "content_html": "<p>Texte</p>", "published": "2026-05-01T12:00:00Z"}
    if kind == "events":
        item["start"] = "2026-06-01T18:00:00+02:00"
    item.update(fields)
    path = f"/api/v1/actors/halte-au-controle-numerique/{kind}/{_quoted(item_id)}"
    auth = {"Authorization": f"Bearer {served.api_token}", "Content-Type": "application/json"}  # type: ignore[attr-defined]
    for method in ("PUT", "GET", "PUT", "DELETE"):
        status, text = served.request(method, path, data=json.dumps(item).encode(), headers=auth)
        _check(status, text, (method, path, item))


# --- discovery, collections, public pages ------------------------------------------------------

PUBLIC_PATHS = [
    "/.well-known/webfinger?resource={v}", "/.well-known/webfinger?resource=acct:{v}",
    "/actors/{v}", "/actors/halte-au-controle-numerique/outbox?page={v}",
    "/actors/halte-au-controle-numerique/outbox?page=true&max_id={v}",
    "/actors/halte-au-controle-numerique/followers?page={v}",
    "/actors/halte-au-controle-numerique/featured?page={v}",
    "/objects/article/{v}", "/objects/article/4521/replies?page={v}",
    "/objects/article/4521/likes?page={v}", "/objects/{v}/4521/shares", "/activities/{v}",
    "/nodeinfo/{v}", "/authorize_interaction?uri={v}", "/authorizations/{v}",
    "/api/v1/replies?object={v}", "/api/v1/replies?since={v}&limit={v}",
    "/feeds/replies/article/{v}.atom", "/feeds/syndication/{v}.atom", "/feeds/syndication.{v}",
]


@FUZZ_SETTINGS
@seed(SEED)
@given(template=st.sampled_from(PUBLIC_PATHS), value=HOSTILE_STRING,
       accept=st.sampled_from(["application/activity+json", "text/html", "*/*", "application/json;q=0"]))
def test_public_reads_never_get_a_500(served: Served, template: str, value: str,
                                      accept: str) -> None:
    path = template.replace("{v}", _quoted(value))
    status, text = served.request("GET", path, headers={"Accept": accept})
    _check(status, text, path)


# --- the moderation API ------------------------------------------------------------------------

@FUZZ_SETTINGS
@seed(SEED)
@given(path=st.sampled_from([
    "/api/v1/moderation/replies?state={v}&limit={v}&before={v}",
    "/api/v1/moderation/replies/{v}", "/api/v1/moderation/replies/1/{v}",
    "/api/v1/moderation/reports?resolved={v}", "/api/v1/moderation/reports/{v}/resolve",
    "/api/v1/moderation/bulk", "/api/v1/syndication/items?state={v}",
    "/api/v1/syndication/items/{v}/approve"]),
    body=st.dictionaries(st.sampled_from(["ids", "action", "note", "reason"]),
                         st.one_of(HOSTILE, st.sampled_from([[1, 2], "approve", "reject", "spam"])),
                         max_size=3),
    data=st.data())
def test_moderation_api_never_gets_a_500(served: Served, path: str, body: dict[str, Any],
                                         data: st.DataObject) -> None:
    plausible = st.sampled_from(["1", "2", "pending", "approved", "true", "10", "approve"])
    while "{v}" in path:  # each parameter its own value, hostile or plausible
        path = path.replace("{v}", _quoted(data.draw(st.one_of(HOSTILE_STRING, plausible))), 1)
    auth = {"Authorization": f"Bearer {served.mod_token}", "Content-Type": "application/json"}  # type: ignore[attr-defined]
    for method in ("GET", "POST"):
        status, text = served.request(method, path, data=json.dumps(body).encode(), headers=auth)
        _check(status, text, (method, path, body))


# --- admin forms, then every admin page --------------------------------------------------------

ADMIN_PAGES = ["/admin/", "/admin/approved", "/admin/rejected", "/admin/spam", "/admin/reports",
               "/admin/blocks", "/admin/log", "/admin/syndication"]
ADMIN_FORMS = {
    "/admin/replies": ["one", "action", "ids", "back", "note"],
    "/admin/reports": ["one", "note", "back"],
    "/admin/blocks": ["one", "back"],
    "/admin/language": ["lang", "back"],
    "/admin/syndication": ["one", "action", "ids", "back"],
}


def _login(served: Served) -> None:
    async def go() -> None:
        async with served.session.get(served.url("/admin/login")) as page:
            token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert token is not None
        async with served.session.post(served.url("/admin/login"), allow_redirects=False, data={
                "csrf": token.group(1), "username": "camille",
                "password": "correct horse battery staple"}) as response:
            assert response.status == 303, await response.text()
    served.run(go())


def _csrf(served: Served) -> str:
    status, page = served.request("GET", "/admin/")
    assert status == 200, page[:300]
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def _form_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@pytest.mark.plain_http
@FUZZ_SETTINGS
@seed(SEED)
@given(data=st.data())
def test_admin_forms_never_get_a_500_and_pages_still_render(served: Served,
                                                            data: st.DataObject) -> None:
    if not served.cookies:
        _login(served)
        served.cookies["logged_in"] = "yes"
    form_path = data.draw(st.sampled_from(sorted(ADMIN_FORMS)))
    names = ADMIN_FORMS[form_path]
    fields = data.draw(st.lists(st.tuples(st.sampled_from(names), HOSTILE), max_size=5))
    if data.draw(st.booleans()):
        fields.append(("one", data.draw(st.sampled_from(
            ["approve:1", "reject:1", "spam:1", "undo:1", "resolve:1", "unblock:1",
             "approve:99999999999", "approve:²", "x:y"]))))
    form = [("csrf", _csrf(served))] + [(name, _form_value(value)) for name, value in fields]
    status, text = served.request("POST", form_path, data=form)
    _check(status, text, (form_path, form))
    for page in ADMIN_PAGES:
        status, text = served.request("GET", page)
        assert status == 200, (page, status, text[:300], form)
