"""The layering of docs/architecture.md, enforced on the imports of every module (ast).

protocol/, signing/ (pure) → db/ → remote/ → services (with the job engine, jobs/) → services.py
(the composition root) → web/ → app → cli/ (the entry point: ``serve`` builds the app). A
service's own HTTP handlers (``federation.<service>.web``) belong to the web layer. A lower layer
never imports a higher one; protocol/ and signing/ import no I/O library either.

Within the service layer each service has a rank (``SERVICE_RANKS``): a service imports only
services of a lower rank, so no two services import each other, and no two parts of the
package import each other at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "federation"
SERVICES = ("jobs", "identity", "inbox", "delivery", "publishing", "ingest", "moderation",
            "syndication")

#: Layer of each top-level part of the package; a module may import its own layer and below.
LAYERS: dict[str, int] = {
    "errors": 0, "settings": 0, "logs": 0, "metrics": 0, "__init__": 0, "i18n": 0, "heap": 0,
    "protocol": 1, "signing": 1, "ratelimit": 1,
    "db": 2,
    "remote": 3,
    **{name: 4 for name in SERVICES},
    "services": 5,
    "web": 6,
    "app": 7,
    "cli": 8, "__main__": 8,
}
#: The order within the service layer: a service imports only services of a lower rank (the
#: listeners that combine the inbox's with syndication's are composed in ``services.py``).
SERVICE_RANKS: dict[str, int] = {
    "jobs": 0, "identity": 0,
    "delivery": 1,
    "publishing": 2, "moderation": 2,
    "ingest": 3, "inbox": 3,
    "syndication": 4,
}
PURE = ("protocol", "signing", "ratelimit")
IO_LIBRARIES = ("aiohttp", "tortoise", "asyncpg", "aiosqlite", "requests", "httpx", "urllib.request",
                "socket", "asyncio")


def _part(module: str) -> str:
    """``federation.web.actors`` → ``web``; ``federation.moderation.web.admin`` → ``web``."""
    parts = module.split(".")
    if len(parts) > 2 and parts[1] in SERVICES and parts[2] == "web":
        return "web"
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module imported by ``path`` (absolute names), with its line."""
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            if name in ("federation",) or (node.level and not node.module):
                found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_every_part_has_a_layer():
    parts = {_part(_module_name(p)) for p in _modules()}
    assert parts <= set(LAYERS), parts - set(LAYERS)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_lower_layers_never_import_higher_ones(path):
    own = _part(_module_name(path))
    violations = []
    for line, name in _imports(path):
        if not name.startswith("federation.") and name != "federation":
            continue
        target = _part(name)
        if target in LAYERS and LAYERS[target] > LAYERS[own]:
            violations.append(f"line {line}: {own} (layer {LAYERS[own]}) imports {name} "
                              f"(layer {LAYERS[target]})")
    assert not violations, violations


@pytest.mark.parametrize("path", [p for p in _modules() if _part(_module_name(p)) in PURE],
                         ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_protocol_and_signing_are_pure(path):
    """No database, network, event loop or service import in protocol/ and signing/."""
    forbidden = []
    for line, name in _imports(path):
        if any(name == lib or name.startswith(lib + ".") for lib in IO_LIBRARIES):
            forbidden.append(f"line {line}: {name}")
        if name.startswith("federation.") and _part(name) not in (*PURE, "errors"):
            forbidden.append(f"line {line}: {name}")
    assert not forbidden, forbidden


@pytest.mark.parametrize("path", sorted((PACKAGE / "jobs").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_the_job_engine_imports_no_other_service(path):
    """jobs/ is under every service that runs on it: it never imports one of them."""
    found = [f"line {line}: {name}" for line, name in _imports(path)
             if name.startswith("federation.") and _part(name) in SERVICES
             and _part(name) != "jobs"]
    assert not found, found


def test_every_service_has_a_rank():
    assert set(SERVICE_RANKS) == set(SERVICES)


@pytest.mark.parametrize("path", [p for p in _modules() if _part(_module_name(p)) in SERVICES],
                         ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_a_service_imports_only_lower_ranked_services(path):
    """inbox (rank 3) never imports syndication (rank 4), which is built on it; two services
    of one rank never import each other. (A service's own ``web/`` handlers are the web layer.)"""
    own = _part(_module_name(path))
    found = [f"line {line}: {own} (rank {SERVICE_RANKS[own]}) imports {name} "
             f"(rank {SERVICE_RANKS[_part(name)]})"
             for line, name in _imports(path)
             if name.startswith("federation.") and _part(name) in SERVICES
             and _part(name) != own and SERVICE_RANKS[_part(name)] >= SERVICE_RANKS[own]]
    assert not found, found


def _import_graph() -> dict[str, set[str]]:
    """Part → the other parts it imports (``federation.<service>.web`` counted as ``web``)."""
    graph: dict[str, set[str]] = {}
    for path in _modules():
        own = _part(_module_name(path))
        targets = graph.setdefault(own, set())
        targets.update(_part(name) for _, name in _imports(path)
                       if name.startswith("federation.") and _part(name) != own)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle between parts (``[]`` when there is none): depth-first search."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"inbox": {"syndication"}, "syndication": {"inbox", "jobs"}}) == [
        "inbox", "syndication", "inbox"]
    assert _cycle({"inbox": {"jobs"}, "syndication": {"inbox"}}) == []


def test_no_import_cycle_between_parts():
    """No two parts of the package import each other, directly or through others (a service's
    ``web/`` handlers excepted: they are the web layer)."""
    assert _cycle(_import_graph()) == []
