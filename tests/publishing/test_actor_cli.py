"""`federation actors create|edit|retire|import-config` and `moderators admin`: what the admin
does at /admin/actors, from the command line (the same service, the same rules)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from federation.cli import main
from federation.db.actors import Actor
from federation.db.content import OutboxActivity
from federation.db.moderation import ModeratorAccount
from tests.conftest import on_database


@pytest.fixture
def config(config: Path) -> Path:
    """The publishing tests' configuration, its database migrated."""
    assert main(["--config", str(config), "migrate"]) == 0
    return config


def _run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def test_create_edit_retire_from_the_command_line(config, database_url, tmp_path, capsys):
    """create (with an avatar, re-encoded), edit (an Update queued), retire (refused without
    --yes; then a Delete queued and the actor listed as retired)."""
    avatar = tmp_path / "avatar.png"
    Image.new("RGB", (900, 900), (1, 2, 3)).save(avatar)
    assert _run(config, "actors", "create", "velo", "--name", "Vélo", "--field",
                "Site=https://site.example/velo", "--approve-follows", "--avatar",
                str(avatar)) == 0
    assert "created @velo@bridge.example" in capsys.readouterr().out
    assert _run(config, "actors", "show", "velo") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["manuallyApprovesFollowers"] is True
    assert document["icon"]["url"].startswith("https://bridge.example/media/")
    [stored] = list((tmp_path / "data" / "media").iterdir())
    with Image.open(stored) as image:
        assert image.size == (400, 400)

    assert _run(config, "actors", "edit", "velo", "--summary", "Atelier") == 0
    assert "Update queued" in capsys.readouterr().out
    assert _run(config, "actors", "edit", "velo", "--summary", "Atelier") == 0
    assert "nothing changed" in capsys.readouterr().out
    assert on_database(database_url, lambda: OutboxActivity.filter(type="Update").count()) == 1

    assert _run(config, "actors", "retire", "velo") == 1
    assert "--yes" in capsys.readouterr().err
    assert _run(config, "actors", "retire", "velo", "--yes") == 0
    assert on_database(database_url, lambda: OutboxActivity.filter(type="Delete").count()) == 1
    assert _run(config, "actors", "list") == 0
    assert "velo" in [line.split()[0] for line in capsys.readouterr().out.splitlines()
                      if "retired" in line]
    assert _run(config, "actors", "create", "velo", "--name", "Encore") == 1
    assert "already used" in capsys.readouterr().err


def test_bad_input_is_a_message_and_an_exit_code(config, tmp_path, capsys):
    """A bad username, a missing or non-image file: one line, exit code 1, nothing created."""
    not_image = tmp_path / "x.png"
    not_image.write_bytes(b"hello")
    for args, words in ((["create", "Velo", "--name", "V"], "never change"),
                        (["create", "velo", "--name", "V", "--avatar", str(tmp_path / "no")],
                         "cannot read"),
                        (["create", "velo", "--name", "V", "--avatar", str(not_image)],
                         "not an image"),
                        (["create", "velo", "--name", "V", "--field", "oops"], "NAME=VALUE")):
        assert _run(config, "actors", *args) == 1, args
        assert words in capsys.readouterr().err
    assert not (tmp_path / "data" / "media").exists()


def test_import_config_publishes_the_file(config, database_url, capsys):
    """After an edit, check-config notes the difference; import-config publishes the file's
    profile again (an Update queued)."""
    assert _run(config, "actors", "edit", "halte-au-controle-numerique", "--name", "Autre") == 0
    assert _run(config, "check-config") == 0
    assert "differs from the database for name" in capsys.readouterr().out
    assert _run(config, "actors", "import-config") == 0
    assert "halte-au-controle-numerique: Update queued (name)" in capsys.readouterr().out
    assert on_database(database_url, lambda: Actor.get(identifier="halte-au-controle-numerique")
                  ).profile["name"] == "Halte au contrôle numérique"


def test_moderators_admin_gives_and_takes_the_role(config, database_url, capsys,
                                                   monkeypatch):
    """`moderators add --admin` makes an administrator; `moderators admin NAME --revoke`
    takes the role back; the help no longer says the flag gives no rights."""
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery staple\n"))
    assert _run(config, "moderators", "add", "ada", "--admin") == 0
    assert on_database(database_url, lambda: ModeratorAccount.get(username="ada")).is_admin
    assert _run(config, "moderators", "admin", "ada", "--revoke") == 0
    assert not on_database(database_url, lambda: ModeratorAccount.get(username="ada")).is_admin
    with pytest.raises(SystemExit):
        _run(config, "moderators", "add", "--help")
    assert "no extra rights" not in capsys.readouterr().out
