"""The content commands: demo (idempotent, undelivered), publish, import, tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from federation.cli import main
from federation.db.content import ContentObject, ObjectKind, OutboxActivity
from federation.db.delivery import FanoutJob
from federation.db.ingest import ApiToken
from tests.conftest import on_database


def test_demo_is_idempotent_and_not_delivered(config: Path, database_url: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """`federation demo` twice: one article and one event, two Creates, no delivery queued."""
    assert main(["--config", str(config), "demo"]) == 0
    assert main(["--config", str(config), "demo"]) == 0
    output = capsys.readouterr().out
    assert output.count("created") == 2 and output.count("unchanged") == 2

    async def check() -> tuple[list[str], int, int, dict[str, Any]]:
        kinds = sorted(str(o.kind) for o in await ContentObject.all())
        event = await ContentObject.get(kind=ObjectKind.EVENT)
        return kinds, await OutboxActivity.all().count(), await FanoutJob.all().count(), \
            event.document

    kinds, activities, fanouts, event = on_database(database_url, check)
    assert kinds == ["article", "event"] and activities == 2 and fanouts == 0
    assert event["summary"] == ("<p>jeudi 9 juin 2022, 18:00–20:00 (Europe/Paris) — la Cale, "
                                "16 rue Royet, Saint-Étienne</p>")


def test_publish_import_and_tokens(config: Path, database_url: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """publish queues delivery; import records without delivering; tokens are stored hashed."""
    item = {"type": "article", "actor": "halte-au-controle-numerique", "id": "1",
            "title": "Un article", "published": "2024-10-04T10:00:00+02:00",
            "content_html": "<p>Texte.</p>"}
    (tmp_path / "item.json").write_text(json.dumps(item), encoding="utf-8")
    assert main(["--config", str(config), "publish", str(tmp_path / "item.json")]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["status"] == "created"

    history = [{"type": "article", "id": str(n), "title": f"Ancien {n}",
                "published": f"2020-01-0{n}T10:00:00+01:00", "content_html": "<p>x</p>"}
               for n in range(2, 5)]
    (tmp_path / "history.json").write_text(json.dumps(history), encoding="utf-8")
    assert main(["--config", str(config), "import", "--actor", "halte-au-controle-numerique",
                 "--file", str(tmp_path / "history.json")]) == 0
    assert "3 created" in capsys.readouterr().out

    bad = [{"type": "article", "id": "9", "title": ""}]
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    assert main(["--config", str(config), "import", "--actor", "halte-au-controle-numerique",
                 "--file", str(tmp_path / "bad.json")]) == 1

    assert main(["--config", str(config), "tokens", "create", "spip"]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert secret.startswith("fed_")
    assert main(["--config", str(config), "tokens", "revoke", "spip"]) == 0

    async def check() -> tuple[int, int, ApiToken]:
        return (await OutboxActivity.all().count(), await FanoutJob.all().count(),
                await ApiToken.get(name="spip"))

    activities, fanouts, token = on_database(database_url, check)
    assert activities == 4 and fanouts == 1  # only the published item is delivered
    assert secret not in token.token_hash and token.revoked_at is not None


@pytest.mark.parametrize("body", [
    b'{"type": "article", "actor": "halte-au-controle-numerique", "id": "1", "title": "Un \\ud800",'
    b' "published": "2024-10-04T10:00:00+02:00", "content_html": "<p>\\udc00</p>"}',
    '{"type": "article", "actor": "halte-au-controle-numerique", "id": "1", "title": "Un",'
    ' "published": "2024-10-04T10:00:00+02:00", "content_html": "<p>\\u0000</p>"}'.encode("utf-16"),
])
def test_publish_of_text_no_database_holds_is_one_line_and_exit_1(
        config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: bytes) -> None:
    """A file with a lone surrogate or a NUL (here hidden in UTF-16) is refused as the push API
    refuses it: one line on stderr and exit 1, no traceback (nh3 failed on the surrogate)."""
    (tmp_path / "item.json").write_bytes(body)
    assert main(["--config", str(config), "publish", str(tmp_path / "item.json")]) == 1
    error = capsys.readouterr().err
    assert "Traceback" not in error and ("surrogate" in error or "UTF-8" in error)
