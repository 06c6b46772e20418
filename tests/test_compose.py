"""compose.yaml: validated by Docker Compose itself (`docker-compose config`, which needs no
daemon; Debian's docker-compose, installed by .ci/run), and its shape checked: bridge serve,
a separate worker, a one-shot migration, PostgreSQL with a volume, healthchecks."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[1]
CONFIG = "/etc/federation/federation.toml"


def _compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("FEDERATION_TEST_STRICT"):
            pytest.fail("docker-compose is not installed (.ci/run installs it)")
        pytest.skip("docker-compose is not installed")
    return subprocess.run([tool, "--file", str(ROOT / "compose.yaml"), "config"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**{k: v for k, v in os.environ.items()
                                  if k != "POSTGRES_PASSWORD"}, **env})


def _resolved() -> dict[str, Any]:
    result = _compose_config({"POSTGRES_PASSWORD": "test-password"})
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = yaml.safe_load(result.stdout)
    return document


def test_compose_file_is_valid_and_runs_bridge_worker_and_postgresql():
    services = _resolved()["services"]
    assert set(services) == {"db", "migrate", "bridge", "worker"}
    assert services["bridge"]["command"] == ["federation", "--config", CONFIG, "serve",
                                             "--no-worker"]
    assert services["worker"]["command"] == ["federation", "--config", CONFIG, "worker"]
    assert services["migrate"]["command"] == ["federation", "--config", CONFIG, "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("bridge", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}}
        # the secret and the status files are shared: one data volume for both
        assert "federation-data:/var/lib/federation:rw" in services[name]["volumes"]
        assert services[name]["environment"]["FEDERATION_DATABASE_URL"] == \
            "postgresql://federation:test-password@db:5432/federation"
    assert "postgres-data:/var/lib/postgresql/data:rw" in services["db"]["volumes"]
    assert "pg_isready" in services["db"]["healthcheck"]["test"]
    assert any("/readyz" in part for part in services["bridge"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"]["test"][-1] == "status"
    assert [str(p) for p in services["bridge"]["ports"]] == ["127.0.0.1:8080:8080/tcp"]


def test_compose_refuses_to_start_without_a_database_password():
    """No default password: without POSTGRES_PASSWORD (.env), compose stops with a message."""
    result = _compose_config({})
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr
