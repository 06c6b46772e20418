"""The admin UI over HTTP (without a browser): sessions, CSRF, headers, rate limits, escaping,
languages; and the moderation JSON API's token rules."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest

from federation.app import create_app
from federation.db.ingest import ApiToken
from federation.db.moderation import Decision, ModeratorSession, ReplyKind, ReplyState, Report
from federation.i18n import messages
from federation.moderation import accounts
from federation.settings import Settings
from federation.web.state import DIRECTORY

from .conftest import PASSWORD, Factory

MESSAGES = {language: messages(language) for language in ("fr", "en")}

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@pytest.fixture
async def admin(database_url: str, make_settings: Callable[..., Settings],
                aiohttp_client: Any) -> Any:
    settings = make_settings(database_url, base_url="http://127.0.0.1:8080",
                             server={"run_worker": False},
                             moderation={"login_attempts_per_username": 3})
    client = await aiohttp_client(create_app(settings))
    await accounts.create_account("camille", PASSWORD)
    return client


OUR_SCRIPT = '<script src="/admin/static/shortcuts.js" defer>'


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def _login(client: Any, username: str = "camille", password: str = PASSWORD) -> Any:
    page = await client.get("/admin/login")
    token = _csrf(await page.text())
    return await client.post("/admin/login", data={"csrf": token, "username": username,
                                                   "password": password},
                             allow_redirects=False)


async def _pending_page(client: Any) -> str:
    response = await client.get("/admin/")
    assert response.status == 200
    return await response.text()


def test_both_languages_have_every_message():
    """The French and English catalogues have the same keys."""
    assert MESSAGES["fr"].keys() == MESSAGES["en"].keys()


async def test_admin_requires_login_and_sets_headers(admin):
    """Without a session /admin/ sends to the login page; every answer has CSP and no-store."""
    response = await admin.get("/admin/", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/admin/login"
    for path in ("/admin/login", "/admin/static/admin.css", "/admin/nope"):
        response = await admin.get(path)
        assert response.headers["Content-Security-Policy"] == CSP, path
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"


async def test_login_sets_a_strict_session_cookie_and_logout_ends_it(admin):
    """The session cookie is HttpOnly and SameSite=Strict; logout deletes the session row."""
    response = await _login(admin)
    assert response.status == 303
    cookie = next(v for k, v in response.headers.items()
                  if k == "Set-Cookie" and "fedmod_session=" in v)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie  # http://127.0.0.1 base URL; https ones get Secure
    page = await _pending_page(admin)
    assert "camille" in page
    assert await ModeratorSession.all().count() == 1
    response = await admin.post("/admin/logout", data={"csrf": _csrf(page)},
                                allow_redirects=False)
    assert response.status == 303
    assert await ModeratorSession.all().count() == 0
    assert (await admin.get("/admin/", allow_redirects=False)).status == 303


async def test_session_cookie_is_secure_on_https(database_url, make_settings, aiohttp_client):
    """With an https base URL, the cookies carry Secure."""
    settings = make_settings(database_url, server={"run_worker": False})
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/admin/login")
    assert "Secure" in response.headers["Set-Cookie"]


async def test_forged_posts_without_or_with_wrong_csrf_are_403(admin):
    """A logged-in moderator's POST without the session's CSRF token changes nothing."""
    factory = Factory(admin.app[DIRECTORY])
    reply = await factory.reply(await factory.article())
    await _login(admin)
    for data in ({"one": f"approve:{reply.id}"},
                 {"one": f"approve:{reply.id}", "csrf": "wrong"}):
        response = await admin.post("/admin/replies", data=data, allow_redirects=False)
        assert response.status == 403
    await reply.refresh_from_db()
    assert reply.state == ReplyState.PENDING
    response = await admin.post("/admin/login", data={"username": "camille",
                                                      "password": PASSWORD})
    assert response.status == 403  # the login form has its own token


async def test_approve_and_bulk_reject_through_the_form(admin):
    """The form approves one reply, then rejects two selected ones."""
    factory = Factory(admin.app[DIRECTORY])
    article = await factory.article()
    replies = [await factory.reply(article) for _ in range(3)]
    await _login(admin)
    token = _csrf(await _pending_page(admin))
    response = await admin.post("/admin/replies", data={
        "csrf": token, "one": f"approve:{replies[0].id}", "back": "/admin/"})
    assert response.status == 200
    response = await admin.post("/admin/replies", data=[
        ("csrf", token), ("action", "reject"), ("ids", str(replies[1].id)),
        ("ids", str(replies[2].id))])
    assert response.status == 200
    states = []
    for reply in replies:
        await reply.refresh_from_db()
        states.append(reply.state)
    assert states == [ReplyState.APPROVED, ReplyState.REJECTED, ReplyState.REJECTED]


async def test_remote_content_is_escaped_and_sanitised(admin):
    """Hostile names and content render inert: no script, handlers or javascript: links."""
    factory = Factory(admin.app[DIRECTORY])
    evil = await factory.remote("evil", "evil.example", '<script>alert("n")</script>')
    await factory.reply(
        await factory.article(title="<img src=x onerror=alert(1)>"), evil,
        content='<p onclick="x()">hi<script>alert(1)</script><a href="javascript:alert(1)">j</a>'
                '<img src="https://tracker.example/p.png"><iframe src="//e"></iframe></p>',
        summary="<b>cw</b>", url="javascript:alert(2)")
    await _login(admin)
    page = await _pending_page(admin)
    assert re.findall(r"<script[^>]*>", page) == [OUR_SCRIPT]  # only ours, from /admin/static/
    assert "<img" not in page and "onclick" not in page
    assert "javascript:" not in page and "<iframe" not in page
    assert "tracker.example" not in page  # remote images are never loaded
    assert "&lt;script&gt;" in page  # the display name is shown, escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the title too


async def test_handles_shown_are_confirmed_or_a_plain_name_on_the_actors_host(admin):
    """The queue shows the handle both hosts confirmed; otherwise preferredUsername on the
    actor's own host, and only when it is a plain name (``president@gov.example`` on
    evil.example must not read as a gov.example account, as handle or as name)."""
    factory = Factory(admin.app[DIRECTORY])
    article = await factory.article()
    evil = await factory.remote("president@gov.example", "evil.example", None)
    delegated = await factory.remote("alice", "social.host-b.example", None)
    delegated.acct = "alice@host-a.example"
    await delegated.save()
    for author in (evil, delegated):
        await factory.reply(article, author)
    await _login(admin)
    page = await _pending_page(admin)
    assert "president@gov.example<" not in page and ">@?@evil.example<" in page  # text, not href
    assert "@alice@host-a.example" in page and "@alice@social.host-b.example" not in page


async def test_login_is_rate_limited_per_username(admin):
    """After 3 failures for a username, even the right password is refused (429) for it."""
    for _ in range(3):
        assert (await _login(admin, password="wrong password!")).status == 401
    response = await _login(admin)
    assert response.status == 429
    assert "Trop de tentatives" in await response.text()
    await accounts.create_account("dominique", PASSWORD)
    assert (await _login(admin, "dominique")).status == 303  # other usernames still work


async def test_french_by_default_english_by_toggle_and_account(admin):
    """The login page is French, ?lang=en switches; the account's language drives the UI."""
    page = await (await admin.get("/admin/login")).text()
    assert '<html lang="fr">' in page and "Se connecter" in page
    page = await (await admin.get("/admin/login?lang=en")).text()
    assert '<html lang="en">' in page and "Log in" in page
    await _login(admin)
    page = await _pending_page(admin)
    assert "En attente" in page
    response = await admin.post("/admin/language", data={"csrf": _csrf(page), "lang": "en",
                                                         "back": "/admin/"})
    assert "Pending" in await response.text()


async def test_views_render(admin):
    """Every view renders for a logged-in moderator, with the reply's article and author."""
    factory = Factory(admin.app[DIRECTORY])
    reply = await factory.reply(await factory.article())
    await factory.report(await factory.remote("bob"), [reply.uri])
    await _login(admin)
    page = await _pending_page(admin)
    assert "Débat sur la numérisation" in page and "@alice@social.example" in page
    assert "social.example" in page and "Merci pour cet article" in page
    for path in ("/admin/approved", "/admin/rejected", "/admin/spam", "/admin/reports",
                 "/admin/blocks", "/admin/log", f"/admin/thread/{reply.id}"):
        response = await admin.get(path)
        assert response.status == 200, path
    reports = await (await admin.get("/admin/reports")).text()
    assert "Merci pour cet article" in reports and f"/admin/thread/{reply.id}" in reports


async def test_a_malformed_report_is_listed_and_can_be_resolved_or_deleted(admin):
    """A Flag stored with malformed URLs (``http://[`` made /admin/reports answer 500 to every
    moderator) is listed, its URLs as plain text; it can be resolved, then deleted (audited)."""
    factory = Factory(admin.app[DIRECTORY])
    reporter = await factory.remote("bob")
    broken = await factory.report(
        reporter, ["http://[", "javascript:alert(1)", "https://ok.example/1"],
        content="<script>alert(2)</script>")
    await factory.report(reporter, ["https://ok.example/2"])
    await _login(admin)
    response = await admin.get("/admin/reports")
    assert response.status == 200
    page = await response.text()
    assert "http://[" in page and 'href="https://ok.example/1"' in page
    assert 'href="javascript:' not in page and "&lt;script&gt;" in page
    token = _csrf(page)
    for action in ("resolve", "delete"):
        response = await admin.post("/admin/reports", data={"csrf": token,
                                                            "one": f"{action}:{broken.id}"},
                                    allow_redirects=False)
        assert response.status == 303 and "msg=done" in response.headers["Location"]
    assert not await Report.filter(id=broken.id).exists()
    assert await Report.all().count() == 1
    logged = await Decision.filter(subject_type="report").order_by("id").values_list(
        "action", "subject_uri")
    assert logged == [("resolve", broken.activity_uri), ("delete", broken.activity_uri)]
    page = await (await admin.get("/admin/log")).text()
    assert "Supprimer" in page
    response = await admin.post("/admin/reports", data={"csrf": token,
                                                        "one": f"delete:{broken.id}"},
                                allow_redirects=False)
    assert "done.partial" in response.headers["Location"]  # already gone: said, not a 500


# -- the JSON API ------------------------------------------------------------------------------


async def test_api_requires_a_token_with_scope(admin):
    """401 without or with an unknown token; 403 for a read-only or a CMS push token."""
    factory = Factory(admin.app[DIRECTORY])
    reply = await factory.reply(await factory.article())
    path = f"/api/v1/moderation/replies/{reply.id}/approve"
    assert (await admin.post(path)).status == 401
    response = await admin.post(path, headers={"Authorization": "Bearer nope"})
    assert response.status == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    read = await accounts.create_token("camille", scopes=(accounts.SCOPE_READ,))
    response = await admin.post(path, headers={"Authorization": f"Bearer {read}"})
    assert response.status == 403
    listing = await admin.get("/api/v1/moderation/replies",
                              headers={"Authorization": f"Bearer {read}"})
    assert listing.status == 200
    push = "fed_" + "p" * 40
    await ApiToken.create(name="cms", token_hash=accounts.sha256_hex(push), prefix=push[:10],
                          actors=[])
    assert (await admin.post(path, headers={"Authorization": f"Bearer {push}"})).status == 403
    await reply.refresh_from_db()
    assert reply.state == ReplyState.PENDING


async def test_api_lists_and_decides(admin):
    """A moderation token lists pending replies, approves one, undoes it, bulk-rejects."""
    factory = Factory(admin.app[DIRECTORY])
    article = await factory.article()
    first, second = await factory.reply(article), await factory.reply(article)
    token = await accounts.create_token("camille")
    headers = {"Authorization": f"Bearer {token}"}
    listing = await (await admin.get("/api/v1/moderation/replies", headers=headers)).json()
    assert [i["id"] for i in listing["items"]] == [second.id, first.id]
    assert listing["items"][0]["content_html"]
    response = await admin.post(f"/api/v1/moderation/replies/{first.id}/approve",
                                headers=headers)
    assert response.status == 200 and (await response.json())["state"] == "approved"
    assert response.headers["Cache-Control"] == "no-store"
    response = await admin.post(f"/api/v1/moderation/replies/{first.id}/approve",
                                headers=headers)
    assert response.status == 409
    response = await admin.post(f"/api/v1/moderation/replies/{first.id}/undo", headers=headers)
    assert (await response.json())["state"] == "pending"
    response = await admin.post("/api/v1/moderation/bulk", headers=headers,
                                json={"action": "reject", "ids": [first.id, second.id, 999]})
    results = (await response.json())["results"]
    assert [r["ok"] for r in results] == [True, True, False]
    assert (await admin.get("/api/v1/moderation/replies/999",
                            headers=headers)).status == 404
    approved = await admin.get("/api/v1/moderation/replies?state=rejected", headers=headers)
    assert len((await approved.json())["items"]) == 2
    report = await factory.report(await factory.remote("bob"), ["http://["])
    response = await admin.post(f"/api/v1/moderation/reports/{report.id}/delete",
                                headers=headers)
    assert response.status == 200 and await response.json() == {"id": report.id, "deleted": True}
    assert not await Report.filter(id=report.id).exists()
    response = await admin.post(f"/api/v1/moderation/reports/{report.id}/delete",
                                headers=headers)
    assert response.status == 404


async def test_form_with_nul_character_is_400(admin):
    """A NUL (U+0000) in a form field, which PostgreSQL cannot compare, is a 400, not a 500."""
    assert (await _login(admin, username="cam\x00ille")).status == 400
    assert (await _login(admin)).status == 303
    page = await admin.get("/admin/")
    token = _csrf(await page.text())
    response = await admin.post("/admin/replies", data={"csrf": token, "action": "approve",
                                                     "ids": "1\x00"}, allow_redirects=False)
    assert response.status == 400


async def test_thread_of_an_id_beyond_the_database_integers_is_404(admin):
    """/admin/thread/<id> with an id no row can have is a 404 (was a 500 on PostgreSQL)."""
    await _login(admin)
    for reply_id in ("0", "-1", "2147483648", "-2147483649", "9" * 30, "x"):
        response = await admin.get(f"/admin/thread/{reply_id}")
        assert response.status == 404, reply_id


async def test_odd_ids_in_forms_are_400_not_500(admin):
    """Ids that str.isdigit() accepts but int() refuses ("²"), or that no database holds, are
    a 400 or "not found" on every form that takes one — never a 500."""
    await _login(admin)
    token = _csrf(await _pending_page(admin))
    for path, value in [("/admin/reports", "resolve:²"), ("/admin/reports", "reopen:٣"),
                        ("/admin/blocks", "unblock:²"), ("/admin/replies", "approve:²"),
                        ("/admin/reports", "resolve:99999999999999999999"),
                        ("/admin/blocks", "unblock:99999999999999999999")]:
        response = await admin.post(path, data={"csrf": token, "one": value},
                                    allow_redirects=False)
        assert response.status in (303, 400), (path, value, response.status)


async def test_forms_must_be_url_encoded(admin):
    """Our forms are URL-encoded: a multipart body (an upload, or a broken one) is refused with
    415 before it is read; a malformed multipart was a 500."""
    page = await admin.get("/admin/login")
    for body in (b"--zz\r\nbroken", b"--zz\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n"
                 + _csrf(await page.text()).encode() + b"\r\n--zz--\r\n"):
        response = await admin.post("/admin/login", data=body, headers={
            "Content-Type": "multipart/form-data; boundary=zz"})
        assert response.status == 415


async def test_queue_says_what_approval_governs_and_marks_quotes(admin):
    """The pending queue tells moderators that Mastodon ignores reply decisions (French by
    default, English for an English account), and labels a quote as one."""
    factory = Factory(admin.app[DIRECTORY])
    article = await factory.article()
    await factory.reply(article)
    await factory.reply(article, kind=ReplyKind.QUOTE, thread_root_uri=None,
                        in_reply_to_uri=None, request_activity_uri="https://social.example/q/1")
    await _login(admin)
    page = await _pending_page(admin)
    for key in ("scope.title", "scope.mastodon", "scope.quotes", "quote"):
        assert html.escape(MESSAGES["fr"][key], quote=True) in page, key
    assert "Mastodon ignore ces décisions" in MESSAGES["fr"]["scope.mastodon"]
    await accounts.create_account("sam", PASSWORD, language="en")
    admin.session.cookie_jar.clear()
    await _login(admin, "sam")
    page = await _pending_page(admin)
    assert html.escape(MESSAGES["en"]["scope.mastodon"], quote=True) in page
    assert "Mastodon ignores these decisions" in page


async def test_queue_shows_the_content_warning_and_the_poll(admin):
    """A reply marked sensitive says so next to its content warning; a poll lists its options
    (escaped), and a malformed stored poll breaks nothing."""
    factory = Factory(admin.app[DIRECTORY])
    article = await factory.article()
    await factory.reply(article, summary="Violences policières", sensitive=True,
                        poll={"mode": "anyOf", "options": ["Jeudi", "<b>Vendredi</b>"],
                              "closes_at": None})
    await factory.reply(article, poll={"mode": "oneOf", "options": "not a list"})
    await _login(admin)
    page = await _pending_page(admin)
    assert "Violences policières" in page
    assert html.escape(MESSAGES["fr"]["sensitive"], quote=True) in page
    assert html.escape(MESSAGES["fr"]["poll.anyOf"], quote=True) in page
    assert "<li>Jeudi</li>" in page and "&lt;b&gt;Vendredi&lt;/b&gt;" in page
