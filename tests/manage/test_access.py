"""Who may use the site-management pages: admins only (``require_admin``), every form with the
session's CSRF token; anything else changes nothing."""

from __future__ import annotations

import pytest

from federation.db.ingest import ApiToken
from federation.db.social import Follower, FollowState
from federation.i18n import messages

from .conftest import MANUAL

MESSAGES = {language: messages(language) for language in ("fr", "en")}

PAGES = ["/admin/federation", "/admin/followers", "/admin/feeds", "/admin/following",
         "/admin/tokens", "/admin/deliveries"]
FORMS = {
    "/admin/followers": {"actor": MANUAL, "one": "approve:1"},
    "/admin/feeds": {"action": "add", "actor": MANUAL, "url": "https://site.example/feed.xml",
                     "interval": "900"},
    "/admin/following": {"action": "relay", "url": "https://relay.example/inbox"},
    "/admin/tokens": {"action": "create", "name": "spip"},
    "/admin/deliveries": {"one": "drop:social.example"},
}


def test_both_languages_have_every_message():
    assert MESSAGES["fr"].keys() == MESSAGES["en"].keys()


@pytest.mark.parametrize("path", PAGES)
async def test_pages_send_a_visitor_to_the_login(site, path):
    response = await site.client.get(path, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/admin/login"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


async def test_a_moderator_who_is_not_an_admin_gets_403_everywhere(site):
    """Pages and forms (with a valid CSRF token) are refused to a plain moderator; nothing is
    written."""
    follower = await site.follower(await _peer(site), "alice")
    csrf = await site.login("camille")
    for path in PAGES:
        assert (await site.client.get(path, allow_redirects=False)).status == 403, path
    for path, form in FORMS.items():
        form = {**form, "csrf": csrf}
        if path == "/admin/followers":
            form["one"] = f"approve:{follower.id}"
        response = await site.post(path, form)
        assert response.status == 403, path
    assert (await Follower.get(id=follower.id)).state == FollowState.PENDING
    assert not await ApiToken.exists()


async def test_the_navigation_shows_the_pages_to_admins_only(site):
    await site.login("camille")
    assert 'href="/admin/federation"' not in await site.page("/admin/")
    site.client.session.cookie_jar.clear()
    await site.login("ada")
    assert 'href="/admin/federation"' in await site.page("/admin/")


def test_the_pages_import_no_other_admin_part():
    """Like the moderation UI and the syndication queue, the site-management pages use the
    shell only (the moderation UI's blocks page is linked, not imported)."""
    import ast
    from pathlib import Path

    package = Path(__file__).parents[2] / "federation" / "web" / "manage"
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                assert not module.startswith(("federation.moderation.web",
                                              "federation.syndication.web")), (path, module)


async def test_posts_without_a_session_are_403(site):
    for path, form in FORMS.items():
        assert (await site.post(path, form)).status == 403, path


async def test_forms_without_the_csrf_token_are_refused(site):
    follower = await site.follower(await _peer(site), "alice")
    await site.login()
    for path, form in FORMS.items():
        form = dict(form)
        if path == "/admin/followers":
            form["one"] = f"approve:{follower.id}"
        for token in (None, "forged"):
            sent = form if token is None else {**form, "csrf": token}
            assert (await site.post(path, sent)).status == 403, (path, token)
    assert (await Follower.get(id=follower.id)).state == FollowState.PENDING
    assert not await ApiToken.exists()


async def test_an_admin_sees_every_page_and_english_on_request(site):
    """Every page answers 200 to an admin, with the admin headers and the section links
    (blocks linked to the moderation UI's page, not duplicated)."""
    await site.login()
    for path in PAGES:
        response = await site.client.get(path)
        assert response.status == 200, path
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        html = await response.text()
        assert 'href="/admin/blocks"' in html and "Fédération" in html
    csrf = await site.csrf()
    await site.post("/admin/language", {"csrf": csrf, "lang": "en", "back": "/admin/feeds"})
    english = await site.page("/admin/feeds")
    assert "Add a feed" in english and "Ajouter un flux" not in english


async def _peer(site):
    from inbox.conftest import Peer

    return Peer(base="http://127.0.0.1:9")
