"""Decisions are safe and clear, over HTTP (issue 12): blocking asks for confirmation and sits
apart from « Valider »; every notice says what was done to whom, with an undo; reports show
what they report, with actions and a note; the audit log names people, in the UI's language,
with filters; service errors are translated; every form control has a label."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from federation.app import create_app
from federation.db.moderation import Decision, ReplyAuthorization, ReplyState, Report
from federation.db.social import Block, BlockKind
from federation.errors import Conflict, NotFound
from federation.moderation import accounts
from federation.moderation.service import UNDO_WINDOW, ModerationService
from federation.moderation.web.keys import MODERATION as MODERATION_KEY
from federation.settings import Settings
from federation.web.state import DIRECTORY

from .conftest import PASSWORD, Factory


@pytest.fixture
async def admin(database_url: str, make_settings: Callable[..., Settings],
                aiohttp_client: Any) -> Any:
    settings = make_settings(database_url, base_url="http://127.0.0.1:8080",
                             server={"run_worker": False})
    client = await aiohttp_client(create_app(settings))
    await accounts.create_account("camille", PASSWORD)
    return client


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


async def _login(client: Any, username: str = "camille") -> str:
    page = await (await client.get("/admin/login")).text()
    response = await client.post("/admin/login", data={
        "csrf": _csrf(page), "username": username, "password": PASSWORD})
    return _csrf(await response.text())


def _text(page: str) -> str:
    """The page's text, tags removed, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _between(page: str, start: str, end: str) -> str:
    head = page.index(start)
    return page[head:page.index(end, head)]


async def _post(client: Any, path: str, data: Any) -> Any:
    return await client.post(path, data=data, allow_redirects=False)


async def _follow(client: Any, response: Any) -> str:
    assert response.status == 303, await response.text()
    return await (await client.get(response.headers["Location"])).text()


def _done_ids(response: Any) -> list[int]:
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    return [int(v) for v in query.get("done", [])]


# -- blocking asks for confirmation, apart from « Valider » ----------------------------------


async def test_block_from_the_queue_goes_to_a_confirmation_page_and_blocks_nothing(admin):
    """Reproduces the complaint: « Bloquer l'instance » blocked at once, next to « Valider ».
    Now the queue's block controls are links in a separate zone, and even a posted
    ``block_domain`` only leads to the confirmation page."""
    factory = Factory(admin.app[DIRECTORY])
    reply = await factory.reply(await factory.article())
    token = await _login(admin)
    page = await (await admin.get("/admin/")).text()
    item = _between(page, f'id="reply-{reply.id}"', "</li>")
    actions = _between(item, 'class="actions"', "</div>")
    assert "Valider" in actions and "Bloquer" not in actions
    zone = _between(item, 'class="danger-zone"', "</div>")
    assert f'href="/admin/block?remote={reply.author_id}&amp;kind=domain' in zone
    assert "<button" not in zone  # links to a page, nothing that acts in one click
    response = await _post(admin, "/admin/replies", {
        "csrf": token, "one": f"block_domain:{reply.id}", "back": "/admin/"})
    assert response.status == 303
    location = response.headers["Location"]
    assert location.startswith("/admin/block?") and "kind=domain" in location
    assert not await Block.exists()
    await reply.refresh_from_db()
    assert reply.state == ReplyState.PENDING


async def test_confirmation_page_then_block_then_notice_with_undo(admin):
    """The confirmation page says what will happen (who, how many pending replies); the
    confirmed POST blocks, and the notice says « Instance social.example bloquée » with an
    undo that unblocks and puts the rejected replies back in the queue."""
    factory = Factory(admin.app[DIRECTORY])
    article = await factory.article()
    first = await factory.reply(article)
    second = await factory.reply(article, await factory.remote("bob", name="Bob"))
    token = await _login(admin)
    page = await admin.get(f"/admin/block?remote={first.author_id}&kind=domain&back=/admin/")
    assert page.status == 200
    text = _text(await page.text())
    assert "Bloquer toute l'instance social.example ?" in text
    assert "Réponses en attente qui seront refusées (sans rien leur envoyer) : 2." in text
    assert 'for="block-reason"' in await page.text()
    for refused, status in (({"csrf": token, "remote": first.author_id, "kind": "domain"}, 400),
                            ({"remote": first.author_id, "kind": "domain", "confirm": "yes"},
                             403)):
        assert (await _post(admin, "/admin/block", refused)).status == status
    assert not await Block.exists()
    response = await _post(admin, "/admin/block", {
        "csrf": token, "remote": first.author_id, "kind": "domain", "confirm": "yes",
        "reason": "harcèlement", "back": "/admin/"})
    [decision_id] = _done_ids(response)
    page = await _follow(admin, response)
    notice = _text(_between(page, 'class="notice"', "</div>"))
    assert "Instance social.example bloquée." in notice
    block = await Block.get(kind=BlockKind.DOMAIN, value="social.example")
    assert block.reason == "harcèlement"
    for reply in (first, second):
        await reply.refresh_from_db()
        assert reply.state == ReplyState.REJECTED
    assert f'name="decision" value="{decision_id}"' in page
    response = await _post(admin, "/admin/undo", {"csrf": _csrf(page), "decision": decision_id,
                                                  "back": "/admin/"})
    page = await _follow(admin, response)
    assert "Blocage annulé : instance social.example débloquée" in _text(page)
    assert not await Block.exists()
    for reply in (first, second):
        await reply.refresh_from_db()
        assert reply.state == ReplyState.PENDING
    assert (await Decision.get(id=decision_id)).undone_at is not None


async def test_block_of_an_unknown_account_or_kind_is_a_clear_error(admin):
    """An unknown remote actor is a 404 page in French (not « no such remote actor »); an
    unknown kind a 400."""
    await _login(admin)
    response = await admin.get("/admin/block?remote=424242&kind=actor")
    assert response.status == 404
    assert "ce compte n'existe pas (ou plus)." in _text(await response.text())
    assert (await admin.get("/admin/block?remote=1&kind=planet")).status == 400
    assert (await admin.get("/admin/block?remote=99999999999999&kind=actor")).status == 404


# -- notices and undo ---------------------------------------------------------------------------


async def test_approve_notice_names_the_author_and_undo_retracts_the_approval(admin):
    """« Réponse d'Alice Martin validée. » with an undo button named for screen readers; undo
    puts the reply back in the queue and revokes its authorization (410 from then on)."""
    factory = Factory(admin.app[DIRECTORY])
    reply = await factory.reply(await factory.article())
    token = await _login(admin)
    response = await _post(admin, "/admin/replies", {
        "csrf": token, "one": f"approve:{reply.id}", "back": "/admin/"})
    [decision_id] = _done_ids(response)
    page = await _follow(admin, response)
    notice = _between(page, 'class="notice"', "</div>")
    assert "Réponse d'Alice Martin validée." in _text(notice)
    assert 'aria-label="Annuler : Réponse d&#39;Alice Martin validée."' in notice
    await reply.refresh_from_db()
    authorization = await ReplyAuthorization.get(uri=reply.authorization_uri)
    response = await _post(admin, "/admin/undo", {"csrf": token, "decision": decision_id,
                                                  "back": "/admin/"})
    page = await _follow(admin, response)
    assert ("Décision annulée : la réponse d'Alice Martin est de nouveau en attente."
            in _text(page))
    await reply.refresh_from_db()
    await authorization.refresh_from_db()
    assert reply.state == ReplyState.PENDING and authorization.revoked_at is not None
    assert (await admin.get(urlsplit(authorization.uri).path)).status == 410
    actions = await Decision.filter(subject_uri=reply.uri).order_by("id").values_list(
        "action", flat=True)
    assert actions == ["approve", "undo"]


async def test_undo_twice_unknown_or_forged_is_refused_and_said(admin):
    """A second undo of the same decision, an unknown decision id, a final decision (a note):
    the page says why in French; without the CSRF token: 403; nothing changes."""
    factory = Factory(admin.app[DIRECTORY])
    reply = await factory.reply(await factory.article())
    token = await _login(admin)
    response = await _post(admin, "/admin/replies", {"csrf": token, "one": f"reject:{reply.id}"})
    [decision_id] = _done_ids(response)
    assert (await _post(admin, "/admin/undo", {"decision": decision_id})).status == 403
    assert (await _post(admin, "/admin/undo", {"csrf": "x", "decision": decision_id})).status \
        == 403
    await reply.refresh_from_db()
    assert reply.state == ReplyState.REJECTED
    await _follow(admin, await _post(admin, "/admin/undo", {"csrf": token,
                                                            "decision": decision_id}))
    again = await _post(admin, "/admin/undo", {"csrf": token, "decision": decision_id})
    assert "done.partial" in again.headers["Location"]
    assert "cette décision a déjà été annulée." in _text(await _follow(admin, again))
    for bad in ("424242", "abc", "99999999999999"):
        page = await _follow(admin, await _post(admin, "/admin/undo", {"csrf": token,
                                                                       "decision": bad}))
        assert "Annuler : cette décision n'existe pas." in _text(page)
    assert await Decision.filter(action="undo").count() == 1


async def test_a_decision_changed_since_or_too_old_is_not_undone(service, factory, directory,
                                                                  mod_settings):
    """Undo works on the latest decision of its subject, within UNDO_WINDOW: a block removed
    by hand since, or a decision older than the window, is a 409 with its own key."""
    reply = await factory.reply(await factory.article())
    _, decision = await service.block_remote(reply.author_id, BlockKind.ACTOR, "camille")
    block = await Block.get()
    await service.unblock(block.id, "camille")
    with pytest.raises(Conflict) as caught:
        await service.undo_decision(decision.id, "camille")
    assert caught.value.key == "error.decision.superseded"
    later = ModerationService(mod_settings, directory,
                              clock=lambda: datetime.now(UTC) + UNDO_WINDOW + timedelta(minutes=1))
    other = await factory.reply(await factory.article("art-2"))
    _, approval = await service.decide_recorded(other.id, "approve", "camille")
    with pytest.raises(Conflict) as caught:
        await later.undo_decision(approval.id, "camille")
    assert caught.value.key == "error.decision.expired" and caught.value.params == {
        "minutes": "30"}
    with pytest.raises(NotFound):
        await service.undo_decision(2**40, "camille")


async def test_undo_of_a_block_leaves_replies_decided_since(service, factory):
    """The replies a block rejected go back to pending, except one a moderator decided since
    (undone and approved): it stays approved."""
    article = await factory.article()
    first, second = await factory.reply(article), await factory.reply(article)
    _, decision = await service.block_remote(first.author_id, BlockKind.ACTOR, "camille")
    await service.undo(second.id, "dominique")
    await service.approve(second.id, "dominique")
    undo = await service.undo_decision(decision.id, "camille")
    assert undo.action == "undo" and undo.cause_id == decision.id
    await first.refresh_from_db()
    await second.refresh_from_db()
    assert first.state == ReplyState.PENDING and second.state == ReplyState.APPROVED
    assert not await Block.exists()


async def test_undo_of_an_unblock_blocks_again_and_of_a_resolve_reopens(service, factory):
    reply = await factory.reply(await factory.article())
    await service.block_remote(reply.author_id, BlockKind.ACTOR, "camille", reason="spam")
    decision = await service.unblock((await Block.get()).id, "camille")
    await service.undo_decision(decision.id, "camille")
    assert (await Block.get()).reason == "spam"
    report = await factory.report(await factory.remote("bob"), [reply.uri])
    _, resolved = await service.resolve_report_recorded(report.id, "camille")
    await service.undo_decision(resolved.id, "camille")
    await report.refresh_from_db()
    assert report.resolved is False
    with pytest.raises(Conflict) as caught:
        await service.undo_decision(resolved.id, "camille")
    assert caught.value.key == "error.decision.undone"


# -- reports ---------------------------------------------------------------------------------------


async def test_reports_show_the_items_and_act_on_them_with_a_note(admin):
    """A report lists our article (title and excerpt) and the reply (its text, its author);
    « Refuser » rejects the reply and comes back to the reports; the note is saved (audited)."""
    factory = Factory(admin.app[DIRECTORY])
    article = await factory.article(title="Le budget participatif")
    article.document = {**article.document, "content": "<p>Le conseil a voté le budget.</p>"}
    await article.save()
    troll = await factory.remote("troll", "troll.example", "Troll")
    reply = await factory.reply(article, troll, content="<p>Propos injurieux ici</p>")
    report = await factory.report(await factory.remote("bob"), [article.uri, reply.uri,
                                                                troll.uri])
    token = await _login(admin)
    page = await (await admin.get("/admin/reports")).text()
    item = _text(_between(page, f'id="report-{report.id}"', "</li>\n\n</ol>"))
    assert "notre article Le budget participatif Le conseil a voté le budget." in item
    assert "Troll @troll@troll.example" in item and "Propos injurieux ici" in item
    assert f'value="reject:{reply.id}"' in page and 'formaction="/admin/replies"' in page
    assert f"/admin/block?remote={troll.id}&amp;kind=actor&amp;back=/admin/reports" in page
    assert f'<label for="note-{report.id}">' in page
    response = await _post(admin, "/admin/replies", {
        "csrf": token, "one": f"reject:{reply.id}", "back": "/admin/reports"})
    assert response.headers["Location"].startswith("/admin/reports?")
    assert "Réponse de Troll refusée." in _text(await _follow(admin, response))
    response = await _post(admin, "/admin/reports", {
        "csrf": token, "one": f"note:{report.id}", f"note-{report.id}": "vu avec Camille"})
    page = await _follow(admin, response)
    assert "Note enregistrée sur le signalement de @bob@social.example." in _text(page)
    await report.refresh_from_db()
    assert report.note == "vu avec Camille" and ">vu avec Camille</textarea>" in page
    assert await Decision.filter(action="note", note="vu avec Camille").exists()
    response = await _post(admin, "/admin/reports", {"csrf": token, "one": f"delete:{report.id}"})
    page = await _follow(admin, response)
    assert "Signalement de @bob@social.example supprimé." in _text(page)
    assert 'name="decision"' not in page  # a deletion is final: no undo offered
    response = await _post(admin, "/admin/reports", {"csrf": token, "one": "note:424242"})
    assert "ce signalement n'existe pas (ou plus)." in _text(await _follow(admin, response))
    assert (await _post(admin, "/admin/reports", {"one": f"note:{report.id}"})).status == 403


# -- the audit log ----------------------------------------------------------------------------------


async def test_audit_log_names_people_translates_states_and_filters(admin):
    """Names and handles instead of URIs, states in the UI's language, filters by moderator,
    action and dates; English when the moderator reads English."""
    factory = Factory(admin.app[DIRECTORY])
    article = await factory.article()
    alice = await factory.reply(article)
    bob = await factory.reply(article, await factory.remote("bob", name="Bob"))
    service = admin.app[MODERATION_KEY]
    await service.approve(alice.id, "camille")
    await service.reject(bob.id, "dominique")
    await _login(admin)
    page = await (await admin.get("/admin/log")).text()
    text = _text(page)
    assert "Alice Martin (@alice@social.example)" in text and "Bob (@bob@social.example)" in text
    assert "en attente → validée" in text and "en attente → refusée" in text
    assert alice.uri not in text  # the name is the link's text, not the URI
    for label in ('for="log-moderator"', 'for="log-action"', 'for="log-from"', 'for="log-to"'):
        assert label in page
    text = _text(await (await admin.get("/admin/log?moderator=dominique")).text())
    assert "Bob (@bob" in text and "Alice Martin (@alice" not in text
    text = _text(await (await admin.get("/admin/log?action=approve")).text())
    assert "Alice Martin (@alice" in text and "Bob (@bob" not in text
    today = datetime.now(UTC).date()
    text = _text(await (await admin.get(f"/admin/log?from={today + timedelta(days=2)}"))
                 .text())
    assert "Alice Martin (@alice" not in text and "Rien ici." in text
    text = _text(await (await admin.get(
        f"/admin/log?from={today - timedelta(days=1)}&to={today + timedelta(days=1)}")).text())
    assert "Alice Martin (@alice" in text
    assert (await admin.get("/admin/log?from=garbage&action=nope")).status == 200
    account = await accounts.ModeratorAccount.get(username="camille")
    account.language = "en"
    await account.save()
    text = _text(await (await admin.get("/admin/log")).text())
    assert "pending → approved" in text and "Approve" in text


async def test_blocks_show_handles_and_attachments_show_type_and_name(admin):
    factory = Factory(admin.app[DIRECTORY])
    reply = await factory.reply(await factory.article(), attachments=[
        {"type": "Image", "media_type": "image/png", "url": "https://social.example/m/1.png",
         "name": "Un chat sur un clavier"},
        {"type": "Document", "media_type": "", "url": "javascript:alert(1)", "name": ""},
        "garbage",
    ])
    await admin.app[MODERATION_KEY].block_remote(reply.author_id, BlockKind.ACTOR, "camille")
    await _login(admin)
    text = _text(await (await admin.get("/admin/blocks")).text())
    assert "Alice Martin @alice@social.example" in text
    page = await (await admin.get("/admin/rejected")).text()
    text = _text(_between(page, 'class="attachments"', "</ul>"))
    assert "Image (image/png) — Un chat sur un clavier" in text
    assert "Document — sans nom" in text and "javascript:" not in page


async def test_thread_view_shows_the_article_and_empty_badges_are_hidden(admin):
    factory = Factory(admin.app[DIRECTORY])
    article = await factory.article(title="Le budget participatif")
    article.document = {**article.document, "content": "<p>Le conseil a voté.</p>"}
    await article.save()
    await _login(admin)
    page = await (await admin.get("/admin/")).text()
    assert 'class="count"' not in page  # no « 0 » badges
    reply = await factory.reply(article)
    page = await (await admin.get(f"/admin/thread/{reply.id}")).text()
    section = _text(_between(page, 'class="article"', "</section>"))
    assert "Le budget participatif" in section and "Le conseil a voté." in section
    assert '<span class="count">1</span>' in page  # one pending: shown
    response = await admin.get("/admin/thread/424242")
    assert response.status == 404
    assert "cette réponse n'existe pas (ou plus)." in _text(await response.text())


async def test_queue_filters_by_article_and_by_author(admin):
    factory = Factory(admin.app[DIRECTORY])
    first, second = await factory.article("a1", "Premier"), await factory.article("a2", "Second")
    bob = await factory.remote("bob", name="Bob")
    one = await factory.reply(first)
    two = await factory.reply(second, bob)
    three = await factory.reply(first, bob)
    await _login(admin)

    async def shown(query: str) -> set[int]:
        page = await (await admin.get(f"/admin/?{query}")).text()
        return {int(i) for i in re.findall(r'data-reply-id="(\d+)"', page)}

    assert await shown("") == {one.id, two.id, three.id}
    assert await shown(f"article={first.id}") == {one.id, three.id}
    assert await shown(f"author={bob.id}") == {two.id, three.id}
    assert await shown(f"article={first.id}&author={bob.id}") == {three.id}
    assert await shown("article=abc&author=-1") == {one.id, two.id, three.id}
    page = await (await admin.get("/admin/")).text()
    assert 'for="filter-article"' in page and 'for="filter-author"' in page
    assert ">Premier</option>" in page and ">Bob (@bob@social.example)</option>" in page


# -- translated service errors -------------------------------------------------------------------


async def test_service_errors_are_shown_in_the_moderators_language(admin):
    """Reproduces the complaint: « this reply is already approved: undo that decision first »
    was shown in English on a French page. Now French (with the state translated), English
    for an English reader; the JSON API keeps English and gives the key as ``code``."""
    factory = Factory(admin.app[DIRECTORY])
    reply = await factory.reply(await factory.article())
    token = await _login(admin)
    await _post(admin, "/admin/replies", {"csrf": token, "one": f"approve:{reply.id}"})
    response = await _post(admin, "/admin/replies", {"csrf": token, "one": f"approve:{reply.id}"})
    text = _text(await _follow(admin, response))
    assert ("Alice Martin : cette réponse est déjà validée : annulez d'abord cette décision."
            in text)
    assert "already" not in text
    response = await _post(admin, "/admin/replies", {"csrf": token, "one": "approve:424242"})
    assert "#424242 : cette réponse n'existe pas (ou plus)." in _text(
        await _follow(admin, response))
    account = await accounts.ModeratorAccount.get(username="camille")
    account.language = "en"
    await account.save()
    response = await _post(admin, "/admin/replies", {"csrf": token, "one": f"approve:{reply.id}"})
    assert ("Alice Martin: this reply is already approved: undo that decision first."
            in _text(await _follow(admin, response)))
    forged = await admin.get("/admin/?msg=done.partial&failed=you+have+been+hacked")
    assert "you have been hacked" not in _text(await forged.text())  # no free text from a URL


async def test_every_form_control_has_a_label_and_buttons_name_their_reply(admin):
    """Each visible input, select and textarea of every page has a label; the reply buttons
    say to a screen reader which reply they act on; a skip link leads to the main content."""
    factory = Factory(admin.app[DIRECTORY])
    article = await factory.article()
    reply = await factory.reply(article)
    await factory.report(await factory.remote("bob"), [reply.uri])
    await _login(admin)
    pages = ["/admin/", "/admin/reports", "/admin/log", "/admin/blocks",
             f"/admin/thread/{reply.id}", f"/admin/block?remote={reply.author_id}&kind=actor"]
    for path in pages:
        page = await (await admin.get(path)).text()
        checker = _Labels()
        checker.feed(page)
        assert checker.unlabelled() == [], path
        assert '<a class="skip" href="#main">Aller au contenu</a>' in page
        assert '<main id="main"' in page
    page = await (await admin.get("/admin/")).text()
    assert 'aria-label="Valider la réponse d&#39;Alice Martin"' in page
    assert 'aria-label="Refuser la réponse d&#39;Alice Martin"' in page
    assert "Sélectionner la réponse d&#39;Alice Martin" in page


class _Labels(HTMLParser):
    """Collects form controls and labels: a control is labelled when a ``<label>`` wraps it,
    a ``label for`` names its id, or it has an ``aria-label``."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.open_labels = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if attributes.get("for"):
                self.label_for.add(str(attributes["for"]))
        elif tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.controls.append({**attributes, "wrapped": "1" if self.open_labels else None})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1

    def unlabelled(self) -> list[dict[str, str | None]]:
        return [c for c in self.controls if not (c["wrapped"] or c.get("aria-label")
                                                   or c.get("id") in self.label_for)]


async def test_shortcut_script_is_a_static_file_under_the_csp(admin):
    """The keyboard shortcuts are a same-origin file: no inline script, and the CSP allows
    scripts from 'self' only."""
    response = await admin.get("/admin/static/shortcuts.js")
    assert response.status == 200
    assert "javascript" in response.headers["Content-Type"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    await _login(admin)
    page = await (await admin.get("/admin/")).text()
    assert re.findall(r"<script[^>]*>", page) == [
        '<script src="/admin/static/shortcuts.js" defer>']
    assert "onclick" not in page and "onkeydown" not in page


async def test_api_errors_carry_their_key(admin):
    """The JSON API's errors keep the English message and add the key as ``code``."""
    token = await accounts.create_token("camille", scopes=(accounts.SCOPE_MODERATION,))
    headers = {"Authorization": f"Bearer {token}"}
    response = await admin.post("/api/v1/moderation/replies/424242/approve", headers=headers)
    assert response.status == 404
    assert await response.json() == {"error": "no such reply", "code": "error.reply.not_found"}


async def test_report_still_shows_a_note_left_before(admin):
    """A note survives reloads and English shows its label in English."""
    factory = Factory(admin.app[DIRECTORY])
    report = await factory.report(await factory.remote("bob"), ["https://x.example/1"])
    report.note = "déjà vu"
    await report.save()
    await _login(admin)
    page = await (await admin.get("/admin/reports")).text()
    assert ">déjà vu</textarea>" in page and "Note des modérateurs" in page
    assert await Report.filter(note="déjà vu").exists()



def test_both_languages_have_every_message_with_the_same_fields():
    """The gettext catalogue (shell, moderation, sister sites…): same keys in French and
    English, and the same ``{fields}`` in both (every language: tests/test_i18n.py)."""
    from string import Formatter

    from federation.i18n import messages

    def fields(message: str) -> set[str]:
        return {name for _, name, _, _ in Formatter().parse(message) if name}

    assert messages("fr").keys() == messages("en").keys()
    for key, message in messages("fr").items():
        assert fields(message) == fields(messages("en")[key]), key


async def test_refused_forms_are_explained_in_the_moderators_language(admin):
    """A form without its CSRF token (403), a non-numeric id (400), an unknown action (400):
    a page in French that says what went wrong, not « 403: forbidden »."""
    factory = Factory(admin.app[DIRECTORY])
    reply = await factory.reply(await factory.article())
    token = await _login(admin)
    response = await _post(admin, "/admin/replies", {"one": f"approve:{reply.id}"})
    assert response.status == 403
    assert "Le formulaire a expiré. Rechargez la page et recommencez." in _text(
        await response.text())
    response = await _post(admin, "/admin/replies", {"csrf": token, "one": "approve:x"})
    assert response.status == 400
    assert "un identifiant n'est pas un nombre." in _text(await response.text())
    response = await _post(admin, "/admin/replies", {"csrf": token, "one": f"dance:{reply.id}"})
    assert response.status == 400 and "action inconnue." in _text(await response.text())
    response = await admin.post("/admin/replies", data=b"\xff", headers={
        "Content-Type": "text/plain"})
    assert response.status == 415 and "ce formulaire n'a pas pu être lu" in _text(
        await response.text())
