"""The tested set is the deployed set: one lock (with hashes) for production, the same pins in
the test lock, and — under `make test` — exactly those versions installed."""

from __future__ import annotations

import os
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)==([^\s\\;]+)")


def _pins(name: str) -> dict[str, str]:
    pins = {}
    lines = (ROOT / "requirements" / name).read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        match = PIN.match(line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
            following = lines[index + 1] if index + 1 < len(lines) else ""
            assert "--hash=sha256:" in following, f"{name}: {line} has no hash"
    return pins


def test_test_lock_pins_every_production_package_at_the_same_version():
    production, test = _pins("main.txt"), _pins("test.txt")
    assert production and set(production) <= set(test)
    assert {k: (v, test[k]) for k, v in production.items() if test[k] != v} == {}


def test_no_verifier_caps_a_production_library():
    """bovine (cryptography<46, pyld<3) lives in its own lock and virtualenv, never in the
    test set: what is tested is what is deployed."""
    assert "bovine" not in _pins("test.txt")
    assert "bovine" in _pins("verifiers.txt")


def test_dockerfile_installs_the_production_lock():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements/main.txt" in dockerfile
    assert "pip install --no-deps" in dockerfile


@pytest.mark.skipif(not os.environ.get("FEDERATION_TEST_LOCKED"),
                    reason="`make test` (FEDERATION_TEST_LOCKED) checks the installed set")
def test_installed_versions_are_the_locked_ones():
    """`make test` runs on exactly the test lock (a stale virtualenv would not)."""
    wrong = {}
    for name, pinned in _pins("test.txt").items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            wrong[name] = (pinned, None)
            continue
        if installed != pinned:
            wrong[name] = (pinned, installed)
    assert wrong == {}
