"""Configuration files (``federation.toml``) for tests that run the ``federation`` command.

Every test that writes a configuration file builds it here, from a mapping, so the sections and
the way they are written exist once; a test names only what it varies. In-process tests build
``Settings`` from ``tests.conftest.base_config`` instead. (The release fixture,
``tests/fixtures/releases/make_fixture.py``, keeps its own text on purpose: it runs with an old
release's code.)

The text keeps the usual layout — top-level keys, then ``[server]``, ``[site]``, ``[site_actor]``,
each ``[[collectives]]`` with its ``[[collectives.fields]]``, then any further section — with one
``key = value`` a line, so a test may still edit a line by replacing it (``'port = 8080'``).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

BASE_URL = "https://bridge.example"
SITE: Mapping[str, Any] = {"name": "Le Numéro Zéro", "home_page": "https://site.example/"}
SITE_ACTOR: Mapping[str, Any] = {
    "identifier": "site", "username": "lenumerozero", "name": "Le Numéro Zéro"}
HALTE: Mapping[str, Any] = {
    "identifier": "halte-au-controle-numerique", "username": "halteaucontrolenumerique",
    "name": "Halte au contrôle numérique"}
CAP: Mapping[str, Any] = {
    "identifier": "changer-de-cap", "username": "changerdecap", "name": "Collectif Changer de cap"}


def config_toml(*, base_url: str = BASE_URL, database_url: str = "", port: int | None = None,
                server: Mapping[str, Any] | None = None, site: Mapping[str, Any] = SITE,
                site_actor: Mapping[str, Any] = SITE_ACTOR,
                collectives: Sequence[Mapping[str, Any]] = (HALTE,),
                sections: Mapping[str, Mapping[str, Any]] | None = None,
                **top_level: Any) -> str:
    """A ``federation.toml`` with ``data_dir = "data"`` (beside the file).

    ``database_url``: written when given (else the SQLite file in the data directory);
    ``port``: a ``[server]`` section on 127.0.0.1 (with ``server``'s further keys), none when
    ``None``; ``sections``: further tables by name (``{"smtp": {...}}``, nested tables as nested
    mappings); ``top_level``: further top-level keys (``allow_loopback_fetch=True``).
    """
    config: dict[str, Any] = {"base_url": base_url, "data_dir": "data"}
    if database_url:
        config["database_url"] = database_url
    config.update(top_level)
    if port is not None:
        config["server"] = {"host": "127.0.0.1", "port": port, **(server or {})}
    elif server:
        raise ValueError("server keys without a port")
    config.update(site=site, site_actor=site_actor, collectives=list(collectives))
    config.update(sections or {})
    return toml_text(config)


def update_config(path: Path, **changes: Any) -> Path:
    """Rewrite the configuration file at ``path`` with ``changes`` to its top level (a mapping
    for a table: ``inbox={"limits": {...}}``; an existing table is updated key by key)."""
    config = _merged(tomllib.loads(path.read_text(encoding="utf-8")), changes)
    path.write_text(toml_text(config), encoding="utf-8")
    return path


def _merged(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    for key, value in new.items():
        both = isinstance(value, dict) and isinstance(old.get(key), dict)
        merged[key] = _merged(old[key], value) if both else value
    return merged


def toml_text(mapping: Mapping[str, Any]) -> str:
    """``mapping`` as TOML: strings, booleans, numbers and lists of them; tables as mappings,
    arrays of tables as lists of mappings."""
    return "\n".join(_table(mapping, ())) + "\n"


def _table(mapping: Mapping[str, Any], path: tuple[str, ...], array: bool = False) -> list[str]:
    lines = []
    if path:
        header = ".".join(path)
        lines = ["", f"[[{header}]]" if array else f"[{header}]"]
    tables = []
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_value(value)}")
    if not array and path and len(lines) == 2:
        lines = []  # a table holding only tables: its own header is not needed
    for key, value in tables:
        if isinstance(value, Mapping):
            lines += _table(value, (*path, key))
        else:
            for item in value:
                lines += _table(item, (*path, key), array=True)
    return lines


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"no TOML for {value!r}")
