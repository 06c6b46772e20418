"""Fixtures of the publishing tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config_toml import config_toml


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    """A configuration file on the test's database (the site actor and one collective)."""
    path = tmp_path / "federation.toml"
    path.write_text(config_toml(database_url=database_url), encoding="utf-8")
    return path
