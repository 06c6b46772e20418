"""The Dockerfile, checked without Docker: its shape, and its install steps run for real.

The builder stage's COPY and RUN instructions are replayed in a temporary directory (absolute
paths mapped under it): a fresh virtualenv, ``pip wheel --no-deps`` of the repository, ``pip
install`` of the wheel with its dependencies. The installed ``federation`` must then answer
``--help``, validate the example configuration shipped in the image, and find its package data.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[int, str, str]]:
    """(stage index, instruction, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stage = -1
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stage += 1
        found.append((stage, instruction.upper(), arguments.strip()))
    return found


def _stage(index: int) -> list[tuple[str, str]]:
    return [(i, a) for s, i, a in _instructions() if s == index]


def test_dockerfile_shape():
    """Multi-stage, slim runtime, non-root, volumes, port, curl-free healthcheck, serve command."""
    froms = [a for _, i, a in _instructions() if i == "FROM"]
    assert len(froms) == 2 and froms[0] == "${PYTHON_IMAGE} AS builder"
    assert froms[1] == "${PYTHON_IMAGE}"  # one base, pinnable by digest with --build-arg
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim") in _stage(-1)
    runtime = _stage(1)
    labels = " ".join(a for i, a in runtime if i == "LABEL")
    for label in ("title", "description", "licenses", "version"):
        assert f"org.opencontainers.image.{label}=" in labels
    assert 'org.opencontainers.image.licenses="AGPL-3.0-or-later"' in labels
    users = [a for i, a in runtime if i == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(i == "COPY" and a.startswith("--from=builder /opt/federation") for i, a in runtime)
    [volume] = [json.loads(a) for i, a in runtime if i == "VOLUME"]
    assert set(volume) == {"/etc/federation", "/var/lib/federation"}
    assert ("EXPOSE", "8080") in runtime
    [healthcheck] = [a for i, a in runtime if i == "HEALTHCHECK"]
    assert "urllib.request" in healthcheck and "curl" not in healthcheck
    assert "/readyz" in healthcheck
    assert "wget" not in healthcheck
    [cmd] = [json.loads(a) for i, a in runtime if i == "CMD"]
    assert cmd == ["federation", "--config", "/etc/federation/federation.toml", "serve"]
    assert not any(i == "RUN" and "pip" in a for i, a in runtime)  # nothing built at runtime


def test_dockerignore_keeps_secrets_and_junk_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "data", "**/secret.key", "config/federation.toml"):
        assert entry in ignored


@pytest.mark.slow
def test_builder_install_steps_work_in_a_fresh_virtualenv(tmp_path: Path):
    """The builder's RUN commands, replayed: the wheel installs with its dependencies and runs."""
    root = tmp_path / "image"
    src = root / "src"
    src.mkdir(parents=True)

    def mapped(path: str) -> str:
        return str(root / path.lstrip("/")) if path.startswith("/") else path

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FEDERATION_", "VIRTUAL_ENV", "PYTHONPATH"))}
    workdir = src
    ran = []
    for instruction, arguments in _stage(0):
        if instruction == "ENV":
            for assignment in shlex.split(arguments):
                name, _, value = assignment.partition("=")
                if name != "PIP_NO_CACHE_DIR":  # the test may use the local wheel cache
                    env[name] = value
        elif instruction == "WORKDIR":
            workdir = Path(mapped(arguments))
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "COPY":
            *sources, destination = shlex.split(arguments)
            target = Path(mapped(destination)) if destination.startswith("/") \
                else workdir / destination
            for source in sources:
                origin = ROOT / source
                if origin.is_dir():
                    shutil.copytree(origin, target, ignore=shutil.ignore_patterns(
                        "__pycache__", "*.pyc"))
                elif destination.endswith("/"):
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy(origin, target / origin.name)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(origin, target)
        elif instruction == "RUN":
            command = re.sub(r"(?<![\w.])(/(?:opt|wheels|src)\b[^\s]*)",
                             lambda m: mapped(m.group(1)), arguments)
            command = re.sub(r"^python\b", shlex.quote(sys.executable), command)
            result = subprocess.run(command, shell=True, cwd=workdir, env=env,
                                    capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])
            ran.append(command)
    assert any("pip wheel --no-deps" in c for c in ran)
    assert any("--require-hashes -r requirements/main.txt" in c for c in ran)

    venv = root / "opt" / "federation"
    federation = venv / "bin" / "federation"
    run_env = {**env, "FEDERATION_DATA_DIR": str(tmp_path / "data")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(federation), *args], cwd=tmp_path, env=run_env,
                              capture_output=True, text=True, timeout=60)

    help_text = run("--help")
    assert help_text.returncode == 0 and "check-config" in help_text.stdout
    example = venv / "share" / "federation" / "federation.example.toml"
    check = run("--config", str(example), "check-config")
    assert check.returncode == 0, check.stderr
    assert "valid" in check.stdout

    # Package data travelled with the wheel: the demo template and the bundled contexts.
    demo = tmp_path / "demo" / "federation.toml"
    assert run("--config", str(demo), "init").returncode == 0
    assert run("--config", str(demo), "check-config").returncode == 0
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "from federation.protocol.jsonld import known_contexts, bundled_context\n"
         "print(len([bundled_context(u) for u in known_contexts()]))"],
        cwd=tmp_path, env=run_env, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert int(probe.stdout) >= 10
    assert str(ROOT) not in probe.stdout
    # ... and the interface's gettext catalogues (read from the installed package).
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "from federation.i18n import languages, translator, LOCALE_DIR\n"
         "print(languages(), translator('en')('logout'), LOCALE_DIR)"],
        cwd=tmp_path, env=run_env, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith("('fr', 'en') Log out ")
    assert str(ROOT) not in probe.stdout
