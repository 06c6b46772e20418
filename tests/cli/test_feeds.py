"""`federation feeds add|list|remove`: bad URLs and intervals refused, a feed can be removed."""

from __future__ import annotations

import pytest

from federation.cli import main

ACTOR = "halte-au-controle-numerique"


def test_feeds_add_list_remove(write_config, tmp_path, capsys, monkeypatch) -> None:
    """A feed is added, listed, removed by its id (then no longer listed); a removed or unknown
    id, and ids no row can have, are a message and exit 1."""
    monkeypatch.chdir(tmp_path)
    config = str(write_config())
    assert main(["-c", config, "migrate"]) == 0
    capsys.readouterr()
    assert main(["-c", config, "feeds", "add", "https://site.example/backend.php",
                 "--actor", ACTOR]) == 0
    feed_id = capsys.readouterr().out.split("feed ", 1)[1].split(":", 1)[0]
    assert main(["-c", config, "feeds", "list"]) == 0
    assert "https://site.example/backend.php" in capsys.readouterr().out
    assert main(["-c", config, "feeds", "remove", feed_id]) == 0
    assert "no longer polled" in capsys.readouterr().out
    assert main(["-c", config, "feeds", "list"]) == 0
    assert "backend.php" not in capsys.readouterr().out
    for missing in (feed_id, "99999999999", "²", "abc"):
        assert main(["-c", config, "feeds", "remove", missing]) == 1
        assert "no feed" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["http://[::1", "--actor", ACTOR], "not an http(s) URL"),
    (["ftp://site.example/feed", "--actor", ACTOR], "not an http(s) URL"),
    (["https://site.example/feed", "--actor", ACTOR, "--interval", "30"], "--interval"),
    (["https://site.example/feed", "--actor", ACTOR, "--interval", "99999999999"], "--interval"),
])
def test_feeds_add_refuses_what_it_cannot_poll(write_config, tmp_path, capsys, monkeypatch,
                                               args, message) -> None:
    monkeypatch.chdir(tmp_path)
    config = str(write_config())
    assert main(["-c", config, "migrate"]) == 0
    capsys.readouterr()
    assert main(["-c", config, "feeds", "add", *args]) == 1
    assert message in capsys.readouterr().err
