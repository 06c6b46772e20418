"""Handles are verified both ways: host A's WebFinger names an actor, and the actor's own host
must vouch for the same ``acct:`` (FEP-2c59). Two real loopback peers: host A (the handle's
host, no actors) and host B (the actor's)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from federation.db.content import OutboxActivity
from federation.db.social import Following, RemoteActor
from federation.errors import BadRequest, RemoteBadResponse
from federation.remote.actors import RemoteActorStore
from federation.syndication import subscriptions
from federation.web.state import CLIENT
from tests.conftest import base_config

from .conftest import BRIDGE, Peer, trust_bridge


def _store(bridge: Any) -> RemoteActorStore:
    return RemoteActorStore(bridge.app[CLIENT], local_origin=BRIDGE)


def _host(peer: Peer) -> str:
    return peer.base.removeprefix("http://")


def _jrd(subject: str, href: str) -> tuple[int, str, bytes]:
    answer = {"subject": subject,
              "links": [{"rel": "self", "type": "application/activity+json", "href": href}]}
    return 200, "application/jrd+json", json.dumps(answer).encode()


@pytest.fixture
async def host_a(make_peer: Any) -> Peer:
    """The handle's host: its WebFinger names alice on host B (the peer)."""
    return await make_peer()


def _point(host_a: Peer, actor_uri: str) -> str:
    handle = f"alice@{_host(host_a)}"
    host_a.serve("/.well-known/webfinger", _jrd(f"acct:{handle}", actor_uri))
    return handle


async def _nothing_written() -> bool:
    return (await Following.all().count(), await RemoteActor.all().count(),
            await OutboxActivity.all().count()) == (0, 0, 0)


async def test_handle_whose_actor_host_does_not_answer_is_refused(bridge, peer, alice, host_a):
    """Host A points @alice@A at an actor on host B; B's WebFinger does not know acct:alice@A:
    refused, nothing written, no Follow queued."""
    handle = _point(host_a, alice.uri)
    with pytest.raises(RemoteBadResponse, match="not confirmed by 127.0.0.1"):
        await subscriptions.follow(bridge.directory, _store(bridge), f"@{handle}")
    assert await _nothing_written()
    assert peer.gets[-1] == f"/.well-known/webfinger?resource=acct:{handle}"


async def test_handle_that_the_actor_host_points_elsewhere_is_refused(bridge, peer, alice,
                                                                     host_a, peer_keys):
    """B answers for acct:alice@A, but with another of its actors: refused."""
    peer.actor("mallory", peer_keys[1])
    handle = _point(host_a, alice.uri)
    peer.serve("/.well-known/webfinger", _jrd(f"acct:{handle}", f"{peer.base}/users/mallory"))
    with pytest.raises(RemoteBadResponse, match="to another actor"):
        await subscriptions.follow(bridge.directory, _store(bridge), handle)
    assert await _nothing_written()


async def test_handle_confirmed_by_the_actor_host_is_followed_and_shown(bridge, peer, alice,
                                                                        host_a):
    """B answers acct:alice@A with alice: followed; the row keeps the confirmed handle, which
    is what every listing shows (not preferredUsername@B)."""
    trust_bridge(bridge, peer)
    handle = _point(host_a, alice.uri)
    peer.serve("/.well-known/webfinger", _jrd(f"acct:{handle}", alice.uri))
    result = await subscriptions.follow(bridge.directory, _store(bridge), f"acct:{handle}")
    assert result.sent and result.row.target_uri == alice.uri
    remote = await RemoteActor.get(uri=alice.uri)
    assert remote.acct == handle and remote.handle == f"@{handle}"
    await result.row.fetch_related("remote", "actor")
    assert subscriptions.describe(result.row)["handle"] == f"@{handle}"
    # unfollow by the confirmed handle finds the row without asking anyone
    gets = len(peer.gets) + len(host_a.gets)
    assert (await subscriptions.find_following(bridge.directory, f"@{handle}")).id == result.row.id
    assert len(peer.gets) + len(host_a.gets) == gets


async def test_webfinger_property_of_the_actor_confirms_without_a_second_query(
        bridge, peer, peer_keys, host_a):
    """FEP-2c59: the actor document (fetched from B) names alice@A in ``webfinger``: that is
    B's word, no WebFinger query to B."""
    handle = f"alice@{_host(host_a)}"
    alice = peer.actor("alice", peer_keys[0], webfinger=handle)
    _point(host_a, alice.uri)
    result = await subscriptions.follow(bridge.directory, _store(bridge), handle)
    assert result.row.target_uri == alice.uri
    assert not any(path.startswith("/.well-known/") for path in peer.gets)
    assert (await RemoteActor.get()).acct == handle


@pytest.mark.parametrize("claim", ["alice@elsewhere.example", "mallory@{a}", 5, "not a handle"])
async def test_webfinger_property_naming_another_handle_is_refused(bridge, peer, peer_keys,
                                                                   host_a, claim):
    """The actor names another handle (or nonsense) in ``webfinger``: refused, no fallback."""
    claim = claim.format(a=_host(host_a)) if isinstance(claim, str) else claim
    alice = peer.actor("alice", peer_keys[0], webfinger=claim)
    handle = _point(host_a, alice.uri)
    peer.serve("/.well-known/webfinger", _jrd(f"acct:{handle}", alice.uri))  # never asked
    with pytest.raises(RemoteBadResponse, match="names another handle"):
        await subscriptions.follow(bridge.directory, _store(bridge), handle)
    assert await _nothing_written()
    assert not any(path.startswith("/.well-known/") for path in peer.gets)


async def test_handle_on_the_actor_host_needs_one_query(bridge, peer, alice):
    """@alice@B answered by B itself: B is the actor's host, one WebFinger query is enough."""
    host = _host(peer)
    peer.serve("/.well-known/webfinger", _jrd(f"acct:alice@{host}", alice.uri))
    result = await subscriptions.follow(bridge.directory, _store(bridge), f"alice@{host}")
    assert result.row.target_uri == alice.uri
    assert sum(path.startswith("/.well-known/") for path in peer.gets) == 1
    assert (await RemoteActor.get()).acct == f"alice@{host}"


async def test_handle_confirmed_again_moves_to_its_new_actor(bridge, peer, peer_keys, alice):
    """A handle is shown for one actor only: confirmed for another, the old row loses it."""
    host = _host(peer)
    bob = peer.actor("bob", peer_keys[1])
    for actor in (alice, bob):
        peer.serve("/.well-known/webfinger", _jrd(f"acct:alice@{host}", actor.uri))
        await _store(bridge).fetch_handle(f"alice@{host}")
    rows = {row.uri: row.acct for row in await RemoteActor.all()}
    assert rows == {alice.uri: None, bob.uri: f"alice@{host}"}


async def test_handle_naming_our_own_actor_is_refused(bridge, host_a):
    """Host A pointing a handle at one of our actors: refused before any fetch."""
    _point(host_a, f"{BRIDGE}/actors/site")
    with pytest.raises(BadRequest, match="our own"):
        await subscriptions.follow(bridge.directory, _store(bridge), f"alice@{_host(host_a)}")
    assert await _nothing_written()


def _toml(mapping: dict[str, Any]) -> str:
    """Enough TOML for a configuration mapping (JSON strings are TOML basic strings)."""
    lines, tables = [], []
    for key, value in mapping.items():
        if isinstance(value, dict):
            tables.append(f"[{key}]\n" + _toml(value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            tables += [f"[[{key}]]\n" + _toml(item) for item in value]
        else:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines + tables) + "\n"


@pytest.fixture
def settings_file(bridge: Any, database_url: str, tmp_path: Path) -> Path:
    """The bridge's own configuration (same database and keys), loopback fetches allowed."""
    config = base_config(database_url, tmp_path / "data", allow_loopback_fetch=True)
    for collective in config["collectives"]:
        collective.pop("fields", None)
    path = tmp_path / "cli.toml"
    path.write_text(_toml(config), encoding="utf-8")
    return path


async def test_cli_follow_of_an_unconfirmed_handle_is_a_message_and_exit_1(
        bridge, peer, alice, host_a, settings_file: Path) -> None:
    """`federation follow @alice@A` (A pointing at B, B not confirming): one line naming the
    reason on stderr, exit 1, no traceback, nothing written."""
    handle = _point(host_a, alice.uri)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "federation", "--config", str(settings_file), "follow",
        f"@{handle}", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("FEDERATION_")})
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1, (out, err)
    message = err.decode()
    assert "Traceback" not in message and f"{handle} is not confirmed" in message
    assert await _nothing_written()
