"""docs/admin.md's inventory is complete: every command of the CLI (with its verbs) has a row
naming the admin page that does the same (a page that exists) or why it is for the command line
only; every site-management page is in the table."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

from federation.app import create_app
from federation.cli import build_parser
from federation.settings import settings_from_mapping
from tests.conftest import base_config

DOC = Path(__file__).parents[1] / "docs" / "admin.md"
ROW = re.compile(r"^\| `federation ([a-z0-9 -]+)` \| ([^|]+) \|", re.MULTILINE)
MANAGE_PAGES = {"/admin/federation", "/admin/followers", "/admin/feeds", "/admin/following",
                "/admin/tokens", "/admin/deliveries"}


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield " ".join(prefix)
        return
    for action in subparsers:
        for name, child in action.choices.items():
            yield from _commands(child, (*prefix, name))


def _table() -> dict[str, str]:
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    table = {command.strip(): page.strip() for command, page in rows}
    assert len(table) == len(rows), "a command has two rows"
    return table


def _admin_paths(tmp_path: Path) -> set[str]:
    app = create_app(settings_from_mapping(base_config("sqlite://:memory:", tmp_path)))
    return {route.resource.canonical for route in app.router.routes()
            if route.method == "GET" and route.resource is not None
            and route.resource.canonical.startswith("/admin")}


def test_every_command_has_a_row():
    commands = set(_commands(build_parser()))
    assert {"followers", "feeds poll", "relay subscribe", "deliveries"} <= commands
    missing = sorted(commands - set(_table()))
    assert not missing, f"commands missing from docs/admin.md's inventory: {missing}"
    stale = sorted(set(_table()) - commands)
    assert not stale, f"rows of docs/admin.md for commands that do not exist: {stale}"


def test_every_row_names_an_existing_page_or_a_reason(tmp_path):
    paths = _admin_paths(tmp_path)
    for command, page in _table().items():
        if page.startswith("CLI only:"):
            assert len(page) > len("CLI only: ") + 10, f"{command}: say why"
            continue
        named = re.findall(r"`(/admin[^`]*)`", page)
        assert named, f"{command}: neither a page nor 'CLI only: reason' ({page!r})"
        for path in named:
            assert path.split("?")[0] in paths, f"{command}: {path} is no admin page"


def test_every_site_management_page_is_in_the_inventory(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    assert MANAGE_PAGES <= _admin_paths(tmp_path)
    for path in MANAGE_PAGES:
        assert f"`{path}`" in text, path
    listed = {page for page in _table().values() if page.startswith("`/admin/")}
    assert MANAGE_PAGES - {"/admin/federation"} <= {p.strip("`") for p in listed}


MODERATION_API = Path(__file__).parents[1] / "docs" / "openapi-moderation.yaml"


def test_every_moderation_api_route_is_documented_and_every_documented_one_exists(tmp_path):
    """The moderation JSON API's routes and docs/openapi-moderation.yaml's operations are the
    same set (method and path): an operation added on one side only fails here."""
    import yaml

    app = create_app(settings_from_mapping(base_config("sqlite://:memory:", tmp_path)))
    served = {(route.method.lower(), route.resource.canonical) for route in app.router.routes()
              if route.resource is not None and route.method not in ("HEAD", "*")
              and route.resource.canonical.startswith("/api/v1/moderation")}
    spec = yaml.safe_load(MODERATION_API.read_text(encoding="utf-8"))
    documented = {(method, path) for path, item in spec["paths"].items()
                  for method in item if method in ("get", "post", "put", "patch", "delete")}
    assert {("post", "/api/v1/moderation/decisions/{decision_id}/undo"),
            ("put", "/api/v1/moderation/reports/{report_id}/note")} <= served
    assert served == documented, (sorted(served - documented), sorted(documented - served))
