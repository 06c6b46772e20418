"""Every admin page, and the public home page with its follow pages, passes axe-core (the npm
package, injected into Debian's headless Chromium) with no serious or critical violation, at
desktop and phone widths, in French and English.

axe-core is installed by ``npm install`` into ``.test-tools/axe`` (gitignored) the first time;
no browser is downloaded. Without npm (or Chromium) the test is skipped locally and fails when
``FEDERATION_TEST_STRICT=1`` (CI, ``.ci/run``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from moderation.conftest import COLLECTIVE, PASSWORD, Factory
from moderation.test_browser import (  # noqa: F401 - fixtures
    CHROMIUM,
    Bridge,
    LoopThread,
    _listening_socket,
    browser,
    loop_thread,
)

from federation.app import create_app
from federation.db.moderation import ModeratorAccount, Reply, ReplyState
from federation.db.social import Block, BlockKind
from federation.ingest import tokens
from federation.ingest.sources import add_feed
from federation.moderation import accounts
from federation.settings import Settings
from federation.web.state import DIRECTORY

ROOT = Path(__file__).parents[2]
AXE_DIR = ROOT / ".test-tools" / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
STRICT = bool(os.environ.get("FEDERATION_TEST_STRICT"))

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}

#: What axe reports, trimmed: serious and critical violations only.
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.help} -- ` +
         v.nodes.slice(0, 4).map(n => n.target.join(" ") + ": " + n.failureSummary).join(" | "));
}"""


#: The contrast of each text field's border with the background behind it (WCAG 1.4.11, 3:1
#: for what shows a control's bounds; axe checks text only).
FIELD_CONTRAST = """() => {
  const rgb = (color) => color.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const luminance = (color) => {
    const [r, g, b] = rgb(color).map(c => c / 255)
      .map(c => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const behind = (element) => {
    for (let node = element.parentElement; node; node = node.parentElement) {
      const color = getComputedStyle(node).backgroundColor;
      if (!color.startsWith("rgba(0, 0, 0, 0)")) return color;
    }
    return "rgb(255, 255, 255)";
  };
  return [...document.querySelectorAll("input[type=text]")].map(field => {
    const [a, b] = [luminance(getComputedStyle(field).borderTopColor), luminance(behind(field))];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
}"""


def _unavailable(reason: str) -> None:
    if STRICT:
        pytest.fail(f"{reason} (FEDERATION_TEST_STRICT=1: a missing tool is a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The axe-core script, installed from the npm registry on first use."""
    if not AXE_SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("npm is missing: cannot install axe-core (apt-get install npm)")
        assert npm is not None
        done = subprocess.run(
            [npm, "install", "--prefix", str(AXE_DIR), "axe-core@4", "--no-save", "--no-audit",
             "--no-fund", "--no-package-lock"],
            capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0 or not AXE_SCRIPT.exists():
            _unavailable(f"npm install axe-core failed: {done.stderr[-2000:]}")
    return AXE_SCRIPT.read_text(encoding="utf-8")


@pytest.fixture
def site(database_url: str, make_settings: Callable[..., Settings],
         loop_thread: LoopThread) -> Iterator[tuple[Bridge, dict[str, int]]]:
    """The bridge on a real socket with an admin (ada), a moderator (camille) and one row of
    each kind the moderation pages list."""
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)")
    sock = _listening_socket()
    port = sock.getsockname()[1]
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{port}",
                             server={"run_worker": False})

    async def start() -> tuple[Bridge, dict[str, int]]:
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        await accounts.create_account("ada", PASSWORD, is_admin=True)
        await accounts.create_account("camille", PASSWORD)
        factory = Factory(app[DIRECTORY])
        article = await factory.article(title="Débat « Ce que la numérisation fait »")
        troll = await factory.remote("troll", "troll.example", "Troll")
        pending = await factory.reply(article, content="<p>Première réponse, bravo</p>")
        await factory.reply(article, troll, content="<p>Réponse à refuser</p>")
        for state in (ReplyState.APPROVED, ReplyState.REJECTED, ReplyState.SPAM):
            await factory.reply(article, content=f"<p>Une réponse {state}</p>", state=state)
        await factory.report(troll, [article.uri, pending.uri], content="spam, encore")
        await Block.create(kind=BlockKind.DOMAIN, value="spam.example", reason="spam",
                           created_by="ada")
        await tokens.create_token("spip", [COLLECTIVE], directory=app[DIRECTORY])
        await add_feed(app[DIRECTORY], COLLECTIVE, "https://site.example/backend.php")
        ids = {"reply": pending.id, "troll": troll.id}
        assert await Reply.filter(state=ReplyState.PENDING).count() == 2
        return Bridge(f"http://127.0.0.1:{port}", app, runner, loop_thread), ids

    bridge, ids = loop_thread.call(start())
    yield bridge, ids
    loop_thread.call(bridge.runner.cleanup())


async def _login(page: Any, username: str) -> None:
    await page.goto("/admin/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit].primary")


def _pages(ids: dict[str, int]) -> list[tuple[str, int]]:
    """(path, expected status) of every admin page an administrator sees."""
    reply, troll = ids["reply"], ids["troll"]
    return [
        ("/admin/", 200), ("/admin/approved", 200), ("/admin/rejected", 200),
        ("/admin/spam", 200), ("/admin/reports", 200), ("/admin/blocks", 200),
        ("/admin/log", 200), (f"/admin/thread/{reply}", 200), ("/admin/notifications", 200),
        ("/admin/syndication", 200), ("/admin/federation", 200), ("/admin/followers", 200),
        ("/admin/feeds", 200), ("/admin/following", 200), ("/admin/tokens", 200),
        ("/admin/deliveries", 200), ("/admin/actors", 200), ("/admin/actors/new", 200),
        (f"/admin/actors/{COLLECTIVE}", 200), (f"/admin/actors/{COLLECTIVE}/retire", 200),
        (f"/admin/block?kind=actor&remote={troll}", 200),
        (f"/admin/block?kind=domain&remote={troll}", 200),
        # error pages: an unknown reply, an unknown block kind
        ("/admin/thread/999999", 404), (f"/admin/block?kind=dance&remote={troll}", 400),
    ]


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_admin_page_passes_axe(browser, site, axe_source, width, language):
    bridge, ids = site
    found: dict[str, list[str]] = {}

    async def check(page: Any, path: str, status: int) -> None:
        response = await page.goto(path)
        assert response is not None and response.status == status, (path, response.status)
        await audit(page, path)

    async def expired_form(page: Any) -> None:
        """The page of a refused form (its CSRF token no longer matches): 403."""
        await page.goto("/admin/")
        await page.evaluate(
            "() => document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'x')")
        async with page.expect_navigation() as navigation:
            await page.locator(f"#reply-{ids['reply']} button[name=one]").first.click()
        assert (await navigation.value).status == 403
        await audit(page, "POST /admin/replies (expired form)")

    async def audit(page: Any, path: str) -> None:
        await page.evaluate(axe_source)
        violations = await page.evaluate(RUN_AXE)
        if violations:
            found[path] = violations
        assert await page.get_attribute("html", "lang") == language, path
        # The skip link is the first thing a keyboard reaches, and it leads to the content.
        first = await page.evaluate("""() => {
            const first = document.querySelector('a[href], button, select, textarea, '
                + 'input:not([type=hidden]), [tabindex]:not([tabindex="-1"])');
            return [first.className, first.getAttribute("href"),
                    document.getElementById("main") !== null];
        }""")
        assert first == ["skip", "#main", True], (path, first)

    async def scenario() -> None:
        for username, pages in (
                ("ada", _pages(ids)),
                ("camille", [("/admin/federation", 403), ("/admin/actors", 403)])):
            context = await browser.new_context(base_url=bridge.url, viewport=WIDTHS[width])
            page = await context.new_page()
            await ModeratorAccount.filter(username=username).update(language=language)
            await check(page, f"/admin/login?lang={language}", 200)
            await _login(page, username)
            for path, status in pages:
                await check(page, path, status)
            if username == "ada":
                await expired_form(page)
            await context.close()

    bridge.call(scenario())
    assert not found, "\n".join(f"{path}:\n  " + "\n  ".join(v) for path, v in found.items())


@pytest.fixture
def home(database_url: str, make_settings: Callable[..., Settings],
         loop_thread: LoopThread) -> Iterator[Bridge]:
    """The bridge on a real socket, as a newcomer finds it: no account, the configured
    collectives (a summary, a page link) on its home page."""
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)")
    sock = _listening_socket()
    port = sock.getsockname()[1]
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{port}",
                             server={"run_worker": False})

    async def start() -> Bridge:
        runner = web.AppRunner(create_app(settings))
        await runner.setup()
        await web.SockSite(runner, sock).start()
        return Bridge(f"http://127.0.0.1:{port}", runner.app, runner, loop_thread)

    bridge = loop_thread.call(start())
    yield bridge
    loop_thread.call(bridge.runner.cleanup())


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_public_home_page_passes_axe(browser, home, axe_source, width, language):
    """``/`` and the pages of its follow form (an instance that is not a host name: 400 with
    the form again; a collective that is not listed: 404), with the skip link first."""
    found: dict[str, list[str]] = {}
    pages = [(f"/?lang={language}", 200),
             (f"/follow?actor={COLLECTIVE}&instance=not+an+instance&lang={language}", 400),
             (f"/follow?actor=nobody&instance=mastodon.social&lang={language}", 404)]

    async def scenario() -> None:
        context = await browser.new_context(base_url=home.url, viewport=WIDTHS[width])
        page = await context.new_page()
        for path, status in pages:
            response = await page.goto(path)
            assert response is not None and response.status == status, (path, response)
            await page.evaluate(axe_source)
            violations = await page.evaluate(RUN_AXE)
            if violations:
                found[path] = violations
            assert await page.get_attribute("html", "lang") == language, path
            await page.keyboard.press("Tab")
            focused = await page.evaluate(
                "() => [document.activeElement.className, document.activeElement.getAttribute("
                "'href'), document.getElementById('main') !== null]")
            if focused != ["skip", "#main", True]:  # a keyboard reaches the skip link first
                found.setdefault(path, []).append(f"first Tab stop: {focused}")
            for ratio in await page.evaluate(FIELD_CONTRAST):  # axe does not check this one
                if ratio < 3:
                    found.setdefault(path, []).append(f"field border contrast {ratio:.2f}:1")
        await context.close()

    home.call(scenario())
    assert not found, "\n".join(f"{path}:\n  " + "\n  ".join(v) for path, v in found.items())


def test_axe_finds_what_it_must(browser, site, axe_source):
    """The check can fail: a text field without a label and a page without its language are
    serious violations for axe."""
    bridge, _ = site

    async def scenario() -> list[str]:
        context = await browser.new_context(base_url=bridge.url)
        page = await context.new_page()
        await page.goto("/admin/login")
        await page.evaluate("""() => {
            const field = document.createElement("input");
            field.type = "text";
            document.querySelector("main").appendChild(field);
            document.documentElement.removeAttribute("lang");
        }""")
        await page.evaluate(axe_source)
        violations = await page.evaluate(RUN_AXE)
        await context.close()
        return [str(v).split(" ", 1)[0] for v in violations]

    found = bridge.call(scenario())
    assert "label" in found and "html-has-lang" in found, found
