"""`federation followers`: list followers and pending requests, accept or reject a request."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from federation.cli import main
from federation.db.content import OutboxActivity
from federation.db.lifecycle import open_database
from federation.db.social import Follower, FollowState, RemoteActor
from federation.identity.directory import ActorDirectory
from federation.settings import load_settings
from federation.signing.keys import KeyVault

ALICE = "https://peer.example/users/alice"


def _prepare(config) -> None:
    assert main(["-c", str(config), "migrate"]) == 0

    async def add() -> None:
        settings = load_settings(config, env={})
        async with open_database(settings.effective_database_url):
            directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
            await directory.sync()
            actor = directory.get("changer-de-cap")
            for name, state in (("alice", FollowState.PENDING), ("bob", FollowState.ACCEPTED)):
                remote = await RemoteActor.create(
                    uri=f"https://peer.example/users/{name}", domain="peer.example", username=name,
                    inbox="https://peer.example/inbox", fetched_at=datetime.now(UTC))
                await Follower.create(actor_id=actor.db_id, remote=remote, state=state,
                                      follow_activity_uri=f"{remote.uri}#follows/1")
            remote = await RemoteActor.create(  # a server on a non-default port
                uri="https://peer.example:9210/users/carol", domain="peer.example",
                username="carol", inbox="https://peer.example:9210/inbox",
                fetched_at=datetime.now(UTC))
            await Follower.create(actor_id=actor.db_id, remote=remote,
                                  state=FollowState.ACCEPTED,
                                  follow_activity_uri=f"{remote.uri}#follows/1")

    asyncio.run(add())


def _state_and_answers(config) -> tuple[str, list[str]]:
    async def read() -> tuple[str, list[str]]:
        settings = load_settings(config, env={})
        async with open_database(settings.effective_database_url):
            follower = await Follower.get(remote__uri=ALICE)
            answers = await OutboxActivity.all().values_list("type", flat=True)
            return follower.state, list(answers)

    return asyncio.run(read())


def test_followers_lists_accepted_and_pending(write_config, tmp_path, capsys, monkeypatch):
    """`followers ACTOR` lists accepted followers; --pending lists the requests."""
    monkeypatch.chdir(tmp_path)
    config = write_config()
    _prepare(config)
    capsys.readouterr()
    assert main(["-c", str(config), "followers", "changer-de-cap"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert out.splitlines()[0].split() == ["HANDLE", "SINCE", "ID"]
    assert "users/bob" in out and "users/alice" not in out
    assert "2 follower(s)" in captured.err  # the count beside the table, not in it
    carol = next(line for line in out.splitlines() if "carol" in line)
    assert carol.split()[0] == "@carol@peer.example:9210"  # the port is part of the handle
    assert main(["-c", str(config), "followers", "changer-de-cap", "--pending"]) == 0
    captured = capsys.readouterr()
    assert "users/alice" in captured.out and "@alice@peer.example" in captured.out
    assert "1 pending" in captured.err


def test_followers_accept_sends_accept(write_config, tmp_path, capsys, monkeypatch):
    """`followers accept ACTOR REMOTE` accepts the request and queues an Accept."""
    monkeypatch.chdir(tmp_path)
    config = write_config()
    _prepare(config)
    assert main(["-c", str(config), "followers", "accept", "changer-de-cap", ALICE]) == 0
    assert _state_and_answers(config) == (FollowState.ACCEPTED, ["Accept"])


def test_followers_reject_sends_reject(write_config, tmp_path, monkeypatch):
    """`followers reject ACTOR REMOTE` rejects the request and queues a Reject."""
    monkeypatch.chdir(tmp_path)
    config = write_config()
    _prepare(config)
    assert main(["-c", str(config), "followers", "reject", "changer-de-cap", ALICE]) == 0
    assert _state_and_answers(config) == (FollowState.REJECTED, ["Reject"])


def test_followers_unknown_remote_is_an_error(write_config, tmp_path, capsys, monkeypatch):
    """Deciding for someone who does not follow the actor fails with a message, exit code 1."""
    monkeypatch.chdir(tmp_path)
    config = write_config()
    _prepare(config)
    assert main(["-c", str(config), "followers", "accept", "changer-de-cap",
                 "https://peer.example/users/nobody"]) == 1
    assert "does not follow" in capsys.readouterr().err
    assert main(["-c", str(config), "followers", "accept", "changer-de-cap"]) == 2
    out, err = capsys.readouterr()
    assert "usage: federation followers accept|reject" in err and out == ""  # usage on stderr
