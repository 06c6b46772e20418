"""One admin shell (``federation.web.admin``) under two admin parts that never import each other.

The moderation UI and the syndication queue share the session, CSRF, forms, layout, notices,
navigation and API helpers of the shell; neither reaches into the other (ast of every module).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from federation.i18n import messages
from federation.web.admin import back_target, row_ids, selection
from federation.web.admin.i18n import translator

PACKAGE = Path(__file__).parents[2] / "federation"
PARTS = {"moderation": "federation.moderation.web", "syndication": "federation.syndication.web"}


def _imported(path: Path) -> list[str]:
    """Absolute names of what ``path`` imports (the package's modules use absolute imports)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path}: relative import"
            names += [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
    return names


@pytest.mark.parametrize(("part", "other"), [("moderation", "syndication"),
                                             ("syndication", "moderation")])
def test_an_admin_part_imports_nothing_of_the_other(part: str, other: str):
    files = sorted((PACKAGE / part / "web").rglob("*.py"))
    assert files
    forbidden = PARTS[other]
    found = [f"{path.relative_to(PACKAGE)}: {name}" for path in files for name in _imported(path)
             if name == forbidden or name.startswith(forbidden + ".")]
    assert not found, found


def test_the_shell_imports_no_admin_part():
    found = [f"{path.relative_to(PACKAGE)}: {name}"
             for path in sorted((PACKAGE / "web" / "admin").rglob("*.py"))
             for name in _imported(path)
             if any(name.startswith(module) for module in PARTS.values())]
    assert not found, found


def test_both_languages_have_every_message():
    assert messages("fr").keys() == messages("en").keys()


def test_one_catalogue_serves_the_shell_and_every_part():
    _ = translator("en")
    assert _("nav.syndication") == "Sister sites"
    assert _("nav.pending") == "Pending"
    assert _("logout") == "Log out"
    assert _("no.such.key") == "no.such.key"
    assert translator("xx")("logout") == messages("fr")["logout"] == "Se déconnecter"


class _Form(dict):
    def getall(self, key, default):
        value = self.get(key)
        return value if isinstance(value, list) else default


def test_bulk_selection_of_one_row_or_checked_rows():
    assert selection(_Form(one="approve:12", action="reject", ids=["1"])) == ("approve", ["12"])
    assert selection(_Form(action="reject", ids=["1", "2"])) == ("reject", ["1", "2"])
    assert selection(_Form()) == ("", [])
    assert row_ids([str(n) for n in range(600)], "item") == list(range(500))


def test_a_bad_row_id_is_a_400_naming_the_row():
    from federation.errors import BadRequest
    with pytest.raises(BadRequest) as caught:
        row_ids(["3", "x"], "item")
    assert caught.value.message == "bad item id" and caught.value.key == "error.bad_id"


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/admin/", "/admin/\\x",
                                  "/elsewhere", "", "/admin//evil.example"])
def test_back_goes_only_to_an_admin_page(back: str):
    assert back_target({"back": back}, "/admin/syndication") == "/admin/syndication"
    assert back_target({"back": "/admin/spam?cursor=3"}) == "/admin/spam?cursor=3"
