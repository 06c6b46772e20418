"""Decisions in a real headless Chromium, at desktop (1280 px) and phone (375 px) widths: the
block confirmation, the undo notice, report actions, keyboard shortcuts, the audit log on a
phone. Same bridge and browser fixtures as :mod:`tests.moderation.test_browser`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from federation.db.moderation import Reply, ReplyState, Report
from federation.db.social import Block
from federation.moderation.web.keys import MODERATION
from federation.web.state import DIRECTORY

from .conftest import Factory
from .test_browser import (  # noqa: F401 — fixtures
    CHROMIUM,
    Bridge,
    _login,
    _state,
    bridge,
    browser,
    loop_thread,
    page_for,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)"),
]

WIDTHS = {"desktop": 1280, "phone": 375}


@pytest.fixture(params=list(WIDTHS))
def sized_page(request: Any, browser: Any, bridge: Bridge) -> Iterator[Any]:
    """A page at desktop or phone width; console CSP violations are collected."""
    width = WIDTHS[request.param]

    yield from page_for(bridge, browser, {"width": width, "height": 800})


def _make(bridge: Bridge, count: int = 2) -> list[Reply]:
    async def make() -> list[Reply]:
        factory = Factory(bridge.app[DIRECTORY])
        article = await factory.article(title="Débat « Ce que la numérisation fait »")
        authors = [await factory.remote(), await factory.remote("troll", "troll.example", "Troll"),
                   await factory.remote("bea", "social.example", "Béa")]
        return [await factory.reply(article, authors[i % 3], content=f"<p>Réponse {i}</p>")
                for i in range(count)]

    return bridge.call(make())


async def _no_horizontal_scroll(page: Any) -> None:
    scroll, width = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= width, (scroll, width)


def test_block_asks_for_confirmation_then_the_notice_undoes_it(sized_page, bridge):
    """« Bloquer l'instance… » sits below the decisions, opens a confirmation page; confirming
    blocks and rejects the pending reply; the notice's « Annuler » undoes both."""
    page = sized_page
    [reply, _] = _make(bridge)

    async def blocks() -> int:
        return await Block.all().count()

    async def scenario() -> None:
        await _login(page)
        item = page.locator(f"#reply-{reply.id}")
        approve = await item.get_by_role("button", name="Valider la réponse d'Alice Martin")\
            .bounding_box()
        link = item.get_by_role("link", name="Bloquer l'instance social.example")
        block_box = await link.bounding_box()
        assert block_box["y"] >= approve["y"] + approve["height"]  # on a row of its own, below
        await _no_horizontal_scroll(page)
        async with page.expect_navigation():
            await link.click()
        assert page.url.split("?")[0].endswith("/admin/block")
        assert "Bloquer toute l'instance social.example ?" in await page.inner_text("main")
        assert await blocks() == 0  # nothing happened yet
        await _no_horizontal_scroll(page)
        await page.get_by_label("Motif").fill("spam en série")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Oui, bloquer l'instance social.example").click()
        assert "Instance social.example bloquée." in await page.inner_text(".notice")
        assert await blocks() == 1 and await _state(reply.id) == ReplyState.REJECTED
        await _no_horizontal_scroll(page)
        async with page.expect_navigation():
            await page.locator(".notice").get_by_role("button", name="Annuler").click()
        assert "Blocage annulé" in await page.inner_text(".notice")
        assert await blocks() == 0 and await _state(reply.id) == ReplyState.PENDING
        assert page.csp_violations == []

    bridge.call(scenario())


def test_cancelling_the_confirmation_blocks_nothing(sized_page, bridge):
    page = sized_page
    [reply, _] = _make(bridge)

    async def scenario() -> None:
        await _login(page)
        async with page.expect_navigation():
            await page.locator(f"#reply-{reply.id}").get_by_role(
                "link", name="Bloquer l'auteur @alice@social.example").click()
        async with page.expect_navigation():
            await page.get_by_role("link", name="Ne pas bloquer").click()
        assert page.url.endswith("/admin/")
        assert await Block.all().count() == 0

    bridge.call(scenario())


def test_undo_notice_after_approving(sized_page, bridge):
    """« Réponse d'Alice Martin validée. » then « Annuler »: the reply is pending again."""
    page = sized_page
    [reply, _] = _make(bridge)

    async def scenario() -> None:
        await _login(page)
        async with page.expect_navigation():
            await page.get_by_role("button", name="Valider la réponse d'Alice Martin").click()
        notice = page.locator(".notice")
        assert "Réponse d'Alice Martin validée." in await notice.inner_text()
        assert await _state(reply.id) == ReplyState.APPROVED
        await _no_horizontal_scroll(page)
        async with page.expect_navigation():
            await notice.get_by_role("button", name="Annuler : Réponse d'Alice Martin validée.")\
                .click()
        assert "de nouveau en attente" in await page.inner_text(".notice")
        assert await _state(reply.id) == ReplyState.PENDING
        assert await page.locator(f"#reply-{reply.id}").count() == 1

    bridge.call(scenario())


def test_report_actions_reject_the_reply_and_save_a_note(sized_page, bridge):
    page = sized_page
    [_, troll_reply] = _make(bridge)

    async def report() -> Report:
        factory = Factory(bridge.app[DIRECTORY])
        return await factory.report(await factory.remote("bob"), [troll_reply.uri])

    async def note_of(report_id: int) -> str:
        return (await Report.get(id=report_id)).note

    flag = bridge.call(report())

    async def scenario() -> None:
        await _login(page)
        await page.goto("/admin/reports")
        item = page.locator(f"#report-{flag.id}")
        assert "Réponse 1" in await item.inner_text()
        await _no_horizontal_scroll(page)
        async with page.expect_navigation():
            await item.get_by_role("button", name="Refuser la réponse de Troll").click()
        assert page.url.split("?")[0].endswith("/admin/reports")
        assert "Réponse de Troll refusée." in await page.inner_text(".notice")
        assert await _state(troll_reply.id) == ReplyState.REJECTED
        item = page.locator(f"#report-{flag.id}")
        await item.get_by_label("Note des modérateurs").fill("Compte déjà averti")
        async with page.expect_navigation():
            await item.get_by_role("button", name="Enregistrer la note").click()
        assert await note_of(flag.id) == "Compte déjà averti"
        assert await page.locator(f"#report-{flag.id} textarea").input_value() == \
            "Compte déjà averti"
        await _no_horizontal_scroll(page)

    bridge.call(scenario())


def test_keyboard_shortcuts_move_approve_and_reject(sized_page, bridge):
    """j/k move between replies, a approves and r rejects the chosen one, ? opens the help;
    typing in a field does not trigger them."""
    page = sized_page
    first, second, third = _make(bridge, 3)

    async def scenario() -> None:
        await _login(page)
        help_box = page.locator("#shortcuts")
        assert await help_box.is_visible()  # the script is on: its help is shown
        await page.keyboard.press("?")
        assert await help_box.get_attribute("open") is not None
        assert "a : valider la réponse choisie" in await help_box.inner_text()
        await page.keyboard.press("j")
        await page.keyboard.press("j")
        await page.keyboard.press("k")
        assert await page.evaluate("document.activeElement.id") == f"reply-{first.id}"
        await page.keyboard.press("j")
        assert await page.evaluate("document.activeElement.id") == f"reply-{second.id}"
        async with page.expect_navigation():
            await page.keyboard.press("a")
        assert await _state(second.id) == ReplyState.APPROVED
        await page.keyboard.press("j")
        await page.keyboard.press("j")
        assert await page.evaluate("document.activeElement.id") == f"reply-{third.id}"
        async with page.expect_navigation():
            await page.keyboard.press("r")
        assert await _state(third.id) == ReplyState.REJECTED
        await page.get_by_label("Article").focus()
        await page.keyboard.press("a")
        assert await _state(first.id) == ReplyState.PENDING
        assert page.csp_violations == []

    bridge.call(scenario())


def test_without_javascript_the_page_works_and_hides_the_shortcut_help(browser, bridge):
    [reply, _] = _make(bridge)

    async def scenario() -> None:
        context = await browser.new_context(base_url=bridge.url, java_script_enabled=False,
                                            viewport={"width": 375, "height": 800})
        page = await context.new_page()
        try:
            await _login(page)
            assert not await page.locator("#shortcuts").is_visible()
            async with page.expect_navigation():
                await page.get_by_role("button", name="Valider la réponse d'Alice Martin").click()
            assert await _state(reply.id) == ReplyState.APPROVED
        finally:
            await context.close()

    bridge.call(scenario())


def test_audit_log_and_blocks_read_on_a_phone(sized_page, bridge):
    """Long names and URIs in the audit log and the block list: no horizontal scroll."""
    page = sized_page
    [reply, _] = _make(bridge)

    async def decide() -> None:
        service = bridge.app[MODERATION]
        await service.approve(reply.id, "camille-la-moderatrice-au-nom-tres-long")
        await service.block_remote(reply.author_id, "domain", "camille")

    bridge.call(decide())

    async def scenario() -> None:
        await _login(page)
        for path in ("/admin/log", "/admin/blocks", "/admin/approved", "/admin/reports"):
            await page.goto(path)
            await _no_horizontal_scroll(page)
        await page.goto("/admin/log")
        text = await page.inner_text("main")
        assert "Alice Martin (@alice@social.example)" in text and "validée" in text
        await page.get_by_label("Quoi").select_option("approve")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Filtrer").click()
        assert await page.locator("table.log tbody tr").count() == 1

    bridge.call(scenario())
