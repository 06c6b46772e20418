"""The systemd units shipped in config/systemd/: well-formed, hardened, and their ExecStart is a
command line our CLI accepts (parsed by the real parser)."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from federation.cli import build_parser

ROOT = Path(__file__).parents[1]
UNITS = sorted((ROOT / "config" / "systemd").glob("*.service"))


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def test_there_is_a_web_unit_and_a_worker_unit():
    assert [u.name for u in UNITS] == ["federation-worker.service", "federation.service"]


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_is_hardened_and_runs_a_real_command(path: Path):
    unit = _unit(path)
    service = unit["Service"]
    assert service["User"] == "federation" and service["Restart"] == "on-failure"
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert service[key] == "true"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/federation"
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == "/opt/federation/bin/federation"
    args = build_parser().parse_args(argv[1:])  # exits (SystemExit) on a wrong command line
    assert args.command in ("serve", "worker")
    if args.command == "serve":
        assert args.no_worker  # the worker has its own unit
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_deploy_doc_points_at_the_units():
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for unit in UNITS:
        assert f"config/systemd/{unit.name}" in text


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_systemd_itself_finds_nothing_wrong(path: Path, tmp_path: Path):
    """`systemd-analyze verify` (the program path replaced by one that exists here): no unknown
    key, no value it cannot parse."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / path.name
    unit.write_text(path.read_text(encoding="utf-8").replace(
        "/opt/federation/bin/federation", shutil.which("true") or "/bin/true"), encoding="utf-8")
    result = subprocess.run([tool, "verify", "--man=no", str(unit)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    bad = tmp_path / "bad.service"
    bad.write_text("[Service]\nExecStart=/bin/true\nRestart=sometimes\n", encoding="utf-8")
    check = subprocess.run([tool, "verify", "--man=no", str(bad)], capture_output=True,
                           text=True, timeout=60)
    assert "restart specifier" in check.stderr  # the check can fail
