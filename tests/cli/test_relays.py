"""`federation relay list`: a relay that refused our subscription says so."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from federation.cli import main
from federation.db.lifecycle import open_database
from federation.db.social import Following, FollowState
from federation.identity.directory import ActorDirectory
from federation.settings import load_settings
from federation.signing.keys import KeyVault

RELAY = "https://relay.example/actor"


def test_relay_list_shows_a_rejected_subscription_and_why(write_config, tmp_path, capsys,
                                                           monkeypatch):
    """A rejected relay is listed `rejected`, held by the instance actor, with a line on stderr
    saying that the relay's own rules refused us."""
    monkeypatch.chdir(tmp_path)
    config = write_config()
    assert main(["-c", str(config), "migrate"]) == 0

    async def add() -> None:
        settings = load_settings(config, env={})
        async with open_database(settings.effective_database_url):
            directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
            await directory.sync()
            await Following.create(actor_id=directory.instance_actor.db_id, target_uri=RELAY,
                                   is_relay=True, state=FollowState.REJECTED,
                                   follow_activity_uri="https://bridge.example/activities/f1",
                                   decided_at=datetime.now(UTC))
            await Following.create(actor_id=directory.site_actor.db_id,
                                   target_uri="https://sister.example/users/a",
                                   state=FollowState.REJECTED,
                                   follow_activity_uri="https://bridge.example/activities/f2")

    asyncio.run(add())
    capsys.readouterr()
    assert main(["-c", str(config), "relay", "list"]) == 0
    captured = capsys.readouterr()
    header, line = captured.out.splitlines()
    assert header.split() == ["ID", "ACTOR", "STATE", "POLICY", "RELAY", "FOLLOWED"]
    assert line.split()[1:3] == ["(instance)", "rejected"] and line.split()[4] == "yes"
    assert line.split()[-1] == RELAY
    assert f"relay {RELAY} REJECTED our subscription" in captured.err
    assert "sister.example" not in captured.err
