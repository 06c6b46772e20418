"""Helpers for command-line tests: run ``python -m federation`` in a subprocess."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]

VALID_TOML = """\
base_url = "{base_url}"
data_dir = "data"
{database_line}

[server]
host = "127.0.0.1"
port = {port}

[site]
name = "Le Numéro Zéro"
home_page = "https://site.example/"
language = "fr"
timezone = "Europe/Paris"

[site_actor]
identifier = "site"
username = "lenumerozero"
name = "Le Numéro Zéro"
url = "https://site.example/"

[[collectives]]
identifier = "halte-au-controle-numerique"
username = "halteaucontrolenumerique"
name = "Halte au contrôle numérique"
url = "https://site.example/halte-au-controle-numerique"

[[collectives.fields]]
name = "Site"
value = "https://site.example/halte"

[[collectives]]
identifier = "changer-de-cap"
username = "changerdecap"
name = "Collectif Changer de cap"
"""


def valid_toml(*, base_url: str = "https://bridge.example", database_url: str = "",
               port: int = 8080) -> str:
    database_line = f'database_url = "{database_url}"' if database_url else ""
    return VALID_TOML.format(base_url=base_url, database_line=database_line, port=port)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any ``FEDERATION_*`` variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDERATION_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(ROOT)  # the code under test, even when another copy is installed
    env.update(extra)
    return env


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
