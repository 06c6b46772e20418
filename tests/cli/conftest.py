"""Helpers for command-line tests: run ``python -m federation`` in a subprocess."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.config_toml import BASE_URL, CAP, HALTE, SITE, SITE_ACTOR, config_toml
from tests.serve import clean_env, free_port


def valid_toml(*, base_url: str = BASE_URL, database_url: str = "", port: int = 8080,
               **top_level: Any) -> str:
    """The command-line tests' configuration: the site with its language, time zone and links,
    the two collectives (the first with a profile field), served on ``port``; ``top_level``:
    further top-level keys."""
    return config_toml(
        base_url=base_url, database_url=database_url, port=port, **top_level,
        site={**SITE, "language": "fr", "timezone": "Europe/Paris"},
        site_actor={**SITE_ACTOR, "url": "https://site.example/"},
        collectives=[{**HALTE, "url": "https://site.example/halte-au-controle-numerique",
                      "fields": [{"name": "Site", "value": "https://site.example/halte"}]},
                     CAP])


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 60) -> Result:
    """``python -m federation ARGS`` in ``cwd`` with a clean environment."""
    completed = subprocess.run(
        [sys.executable, "-m", "federation", *args], cwd=cwd, env=env or clean_env(),
        capture_output=True, text=True, timeout=timeout,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a configuration file (valid by default) and return its path."""

    def write(text: str | None = None, name: str = "federation.toml", **kwargs: object) -> Path:
        path = tmp_path / name
        path.write_text(valid_toml(**kwargs) if text is None else text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def ready_config(tmp_path: Path, database_url: str, settings: Any) -> Path:
    """A configuration on a migrated database whose actors already have keys.

    The keys come from the test key pool (made in-process), so the commands under test do not
    spend seconds generating RSA keys. The data directory is shared with ``settings``.
    """
    from federation.db.lifecycle import open_database
    from federation.identity.directory import ActorDirectory, open_vault

    async def sync() -> None:
        async with open_database(database_url):
            await ActorDirectory(settings, open_vault(settings.data_dir)).sync()

    assert settings.data_dir == tmp_path / "data"
    asyncio.run(sync())
    path = tmp_path / "federation.toml"
    path.write_text(valid_toml(database_url=database_url, port=free_port()), encoding="utf-8")
    return path


