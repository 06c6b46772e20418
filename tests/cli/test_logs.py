"""The process log: text or JSON lines (`[log] format`), and an import that shows its progress
bar instead of one INFO line per item."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import run_cli
from tests.config_toml import update_config


def test_json_log_is_one_object_per_line_with_stable_fields(tmp_path: Path,
                                                             ready_config: Path) -> None:
    config = ready_config
    update_config(config, log={"format": "json"})
    result = run_cli("--config", str(config), "keys", "rotate", "site", cwd=tmp_path)
    assert result.returncode == 0, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, result
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    for entry in entries:
        assert set(entry) >= {"time", "level", "logger", "message"}
        assert entry["time"].endswith("+00:00")
    assert {"level": "INFO", "logger": "federation.identity.directory",
            "message": "rotated the keys of actor site"}.items() <= next(
        e for e in entries if "rotated" in e["message"]).items()


def test_text_log_stays_the_default(tmp_path: Path, ready_config: Path) -> None:
    result = run_cli("--config", str(ready_config), "keys", "rotate", "site", cwd=tmp_path)
    assert result.returncode == 0, result
    assert " INFO federation.identity.directory: rotated the keys of actor site" in result.stderr


def test_unknown_log_format_is_a_configuration_error(tmp_path: Path, ready_config: Path) -> None:
    update_config(ready_config, log={"format": "xml"})
    result = run_cli("--config", str(ready_config), "check-config", cwd=tmp_path)
    assert result.returncode == 2 and "log.format" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_shows_progress_not_one_line_per_item(tmp_path: Path, ready_config: Path) -> None:
    """History imported without delivery: no per-item INFO lines over the progress bar, and
    nothing is said to be "queued" (it is recorded, not delivered); -v shows the details."""
    history = [{"type": "article", "id": str(n), "title": f"Ancien {n}",
                "published": f"2020-01-{n:02d}T10:00:00+01:00", "content_html": "<p>x</p>"}
               for n in range(1, 13)]
    (tmp_path / "history.json").write_text(json.dumps(history), encoding="utf-8")
    args = ("--config", str(ready_config), "import", "--actor", "halte-au-controle-numerique",
            "--file", str(tmp_path / "history.json"))
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result
    assert "12 created" in result.stdout
    assert "import: 100%" in result.stderr  # the progress bar
    assert "published article" not in result.stderr
    assert "queued activity" not in result.stderr
    history = [dict(item, id=str(int(item["id"]) + 100)) for item in history]
    (tmp_path / "history.json").write_text(json.dumps(history), encoding="utf-8")
    verbose = run_cli("-v", *args, cwd=tmp_path)
    assert verbose.returncode == 0, verbose
    assert verbose.stderr.count("published article") == 12
    assert "queued activity" not in verbose.stderr
    assert verbose.stderr.count("not delivered") == 12
