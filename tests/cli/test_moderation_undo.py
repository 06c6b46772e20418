"""`moderation log`, `moderation undo-decision`, `moderation reports` and `moderation note`:
the notices' undo and the reports' note of /admin/ from the command line, through the same
service functions, on each test database."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from federation.db.lifecycle import open_database
from federation.db.moderation import Decision, ReplyState
from federation.identity.directory import ActorDirectory, open_vault
from federation.moderation.service import UNDO_WINDOW
from tests.cli.conftest import Result, clean_env, run_cli
from tests.moderation.conftest import Factory

pytestmark = pytest.mark.slow


def _seed(database_url: str, settings: Any) -> tuple[int, int]:
    """A pending reply and an open report about it."""

    async def run() -> tuple[int, int]:
        async with open_database(database_url):
            directory = ActorDirectory(settings, open_vault(settings.data_dir))
            await directory.load()
            factory = Factory(directory)
            reply = await factory.reply(await factory.article())
            report = await factory.report(await factory.remote("mod", "other.example"),
                                          [reply.uri], content="Propos à vérifier")
            return reply.id, report.id

    return asyncio.run(run())


def _read(database_url: str, query: Any) -> Any:
    async def run() -> Any:
        async with open_database(database_url):
            return await query()

    return asyncio.run(run())


def test_a_decision_is_undone_from_the_command_line(tmp_path: Path, ready_config: Path,
                                                    database_url: str, settings: Any) -> None:
    """`moderation log` gives the decision's id and until when it may be undone;
    `undo-decision ID` reverses it (the reply is pending again, the undo audited under
    --as); a second undo, an unknown id: exit 1 with the reason, no traceback."""
    reply_id, _ = _seed(database_url, settings)

    def cli(*args: str) -> Result:
        return run_cli("--config", str(ready_config), *args, cwd=tmp_path)

    assert cli("moderation", "approve", str(reply_id), "--as", "camille").returncode == 0
    log = json.loads(cli("moderation", "log", "--json").stdout)["decisions"]
    [approval] = log
    assert (approval["action"], approval["moderator"]) == ("approve", "camille")
    assert (datetime.fromisoformat(approval["undo_until"])
            - datetime.fromisoformat(approval["at"])) == UNDO_WINDOW
    table = cli("moderation", "log").stdout.splitlines()
    assert table[0].split()[:4] == ["ID", "AT", "(UTC)", "MODERATOR"]

    undone = cli("moderation", "undo-decision", str(approval["id"]), "--as", "dana")
    assert undone.returncode == 0, undone
    assert f"decision {approval['id']} undone" in undone.stdout
    assert str(reply_id) in cli("moderation", "list").stdout  # pending again
    undo = _read(database_url, lambda: Decision.filter(action="undo").first())
    assert (undo.moderator, undo.cause_id) == ("dana", approval["id"])
    assert undo.to_state == ReplyState.PENDING

    again = cli("moderation", "undo-decision", str(approval["id"]))
    assert again.returncode == 1 and "already undone" in again.stderr, again
    unknown = cli("moderation", "undo-decision", "999999")
    assert unknown.returncode == 1 and "no such decision" in unknown.stderr, unknown
    for result in (again, unknown):
        assert "Traceback" not in result.stderr
    log = json.loads(cli("moderation", "log", "--json").stdout)["decisions"]
    assert [(d["action"], d["undone"], d["undo_until"]) for d in log] == [
        ("undo", False, None), ("approve", True, None)]


def test_a_report_note_is_read_and_written_from_the_command_line(
        tmp_path: Path, ready_config: Path, database_url: str, settings: Any) -> None:
    """`moderation reports` lists the open reports with their note; `note ID` prints it,
    `note ID --set TEXT` (or `-` for stdin) replaces it, audited; `--set ''` clears it; an
    unknown report: exit 1."""
    _, report_id = _seed(database_url, settings)

    def cli(*args: str, stdin: str | None = None) -> Result:
        if stdin is None:
            return run_cli("--config", str(ready_config), *args, cwd=tmp_path)
        done = subprocess.run([sys.executable, "-m", "federation", "--config",
                               str(ready_config), *args], cwd=tmp_path, env=clean_env(),
                              input=stdin, capture_output=True, text=True, timeout=60)
        return Result(done.returncode, done.stdout, done.stderr)

    reports = cli("moderation", "reports")
    assert reports.stdout.splitlines()[0].split() == ["ID", "RECEIVED", "REPORTER", "NOTE",
                                                      "COMMENT"]
    assert "@mod@other.example" in reports.stdout and "Propos à vérifier" in reports.stdout
    empty = cli("moderation", "note", str(report_id))
    assert empty.returncode == 0 and empty.stdout == "" and "no note" in empty.stderr
    saved = cli("moderation", "note", str(report_id), "--set", "Voir avec Camille",
                "--as", "dana")
    assert saved.returncode == 0, saved
    assert cli("moderation", "note", str(report_id)).stdout == "Voir avec Camille\n"
    [row] = json.loads(cli("moderation", "reports", "--json").stdout)["reports"]
    assert (row["id"], row["note"]) == (report_id, "Voir avec Camille")
    note = _read(database_url, lambda: Decision.get(action="note"))
    assert (note.moderator, note.note) == ("dana", "Voir avec Camille")

    piped = cli("moderation", "note", str(report_id), "--set", "-",
                stdin="Deux lignes\nde note\n")
    assert piped.returncode == 0, piped
    assert cli("moderation", "note", str(report_id)).stdout == "Deux lignes\nde note\n"
    too_long = cli("moderation", "note", str(report_id), "--set", "x" * 4001)
    assert too_long.returncode == 1 and "4000" in too_long.stderr
    cleared = cli("moderation", "note", str(report_id), "--set", "")
    assert cleared.returncode == 0 and "cleared" in cleared.stderr
    unknown = cli("moderation", "note", "999999", "--set", "x")
    assert unknown.returncode == 1 and "no such report" in unknown.stderr
    assert "Traceback" not in unknown.stderr + too_long.stderr
    assert cli("moderation", "reports", "--resolved").stdout == ""
