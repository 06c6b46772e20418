"""Every listing: a table with column headers, or `--json` (one document, same fields); the
follow commands under one noun (`following list|add|remove|policy|relay …`), the older
spellings kept; reply excerpts in `moderation list`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from federation.cli import build_parser
from federation.cli.followers import cmd_followers
from federation.cli.syndication import cmd_follow, cmd_follow_policy, cmd_following, cmd_unfollow
from federation.db.lifecycle import open_database
from tests.cli.conftest import run_cli

LISTINGS = [
    (["actors", "list"], "actors"),
    (["moderators", "list"], "moderators"),
    (["blocks", "list"], "blocks"),
    (["moderation", "list"], "replies"),
    (["moderation", "log"], "decisions"),
    (["moderation", "reports"], "reports"),
    (["tokens", "list"], "tokens"),
    (["feeds", "list"], "feeds"),
    (["followers", "halte-au-controle-numerique"], "followers"),
    (["following"], "following"),
    (["following", "list"], "following"),
    (["following", "relay", "list"], "following"),
    (["relay", "list"], "following"),
    (["syndication", "list"], "items"),
]


def _seed(database_url: str) -> None:
    """A pending reply from a remote author, to list."""
    from federation.db.actors import Actor
    from federation.db.moderation import Reply
    from federation.db.social import RemoteActor

    async def run() -> None:
        async with open_database(database_url):
            author = await RemoteActor.create(
                uri="https://social.example/users/alice", domain="social.example",
                inbox="https://social.example/users/alice/inbox", username="alice",
                acct="alice@social.example", name="Alice", fetched_at=datetime.now(UTC))
            actor = await Actor.get(identifier="halte-au-controle-numerique")
            await Reply.create(uri="https://social.example/notes/1", author=author,
                               local_actor=actor,
                               content_html="<p>Merci pour cet <b>article</b> sur la "
                               "vidéosurveillance algorithmique, très utile pour notre "
                               "réunion de jeudi soir à la Bourse du travail.</p>")

    asyncio.run(run())


@pytest.mark.parametrize("command, name", LISTINGS, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else v)
def test_every_listing_speaks_json(tmp_path: Path, ready_config: Path, command: list[str],
                                   name: str) -> None:
    result = run_cli("--config", str(ready_config), *command, "--json", cwd=tmp_path)
    assert result.returncode == 0, result
    document: dict[str, Any] = json.loads(result.stdout)
    assert list(document) == [name] and isinstance(document[name], list)


def test_tables_have_headers_and_replies_their_excerpt(tmp_path: Path, ready_config: Path,
                                                       database_url: str) -> None:
    _seed(database_url)
    actors = run_cli("--config", str(ready_config), "actors", "list", cwd=tmp_path)
    assert actors.stdout.splitlines()[0].split() == ["IDENTIFIER", "HANDLE", "TYPE", "ROLE",
                                                     "ID"]
    assert "@halteaucontrolenumerique@bridge.example" in actors.stdout
    replies = run_cli("--config", str(ready_config), "moderation", "list", cwd=tmp_path)
    assert replies.returncode == 0, replies
    header, row = replies.stdout.splitlines()[:2]
    assert header.split() == ["ID", "RECEIVED", "AUTHOR", "ANSWERS", "EXCERPT"]
    assert "@alice@social.example" in row and "Merci pour cet article sur la" in row
    assert row.rstrip().endswith("…")  # an excerpt, not the whole text
    full = json.loads(run_cli("--config", str(ready_config), "moderation", "list", "--json",
                              cwd=tmp_path).stdout)["replies"][0]
    assert full["text"].endswith("Bourse du travail.")
    assert full["author"] == "@alice@social.example"


def test_follow_commands_under_one_noun_and_the_old_spellings() -> None:
    parser = build_parser()
    pairs = [
        (["following", "add", "@a@b.example"], ["follow", "@a@b.example"], cmd_follow),
        (["following", "remove", "3"], ["unfollow", "3"], cmd_unfollow),
        (["following", "policy", "3", "store"], ["follow-policy", "3", "store"],
         cmd_follow_policy),
        (["following", "relay", "list"], ["relay", "list"], cmd_following),
    ]
    for new, old, handler in pairs:
        new_args, old_args = parser.parse_args(new), parser.parse_args(old)
        assert new_args.handler is handler and old_args.handler is handler
        same = {k: v for k, v in vars(old_args).items() if k != "command"}
        assert same.items() <= vars(new_args).items()  # the same arguments, same defaults
    assert parser.parse_args(["following"]).handler is cmd_following
    assert parser.parse_args(["followers", "x"]).handler is cmd_followers
