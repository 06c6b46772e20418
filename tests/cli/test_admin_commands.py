"""The commands that give the CLI what the admin pages do (docs/admin.md): `followers remove`,
`follow-policy`, `deliveries --retry/--drop`, `feeds poll ID`, `blocks list|remove` — through
the same services as the pages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from federation.cli import main
from federation.db.content import OutboxActivity
from federation.db.delivery import DeliveryJob, DeliveryState, FanoutJob, HostHealth
from federation.db.lifecycle import open_database
from federation.db.moderation import Decision
from federation.db.social import (
    Block,
    BlockKind,
    Follower,
    Following,
    FollowState,
    RemoteActor,
    SyndicationPolicy,
)
from federation.identity.directory import ActorDirectory
from federation.settings import load_settings
from federation.signing.keys import KeyVault

BOB = "https://peer.example/users/bob"
SISTER = "https://sister.example/actors/halte"


def _with_db(config: Any, work: Callable[[ActorDirectory], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        settings = load_settings(config, env={})
        async with open_database(settings.effective_database_url):
            directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
            await directory.load()
            return await work(directory)

    return asyncio.run(run())


def _migrated(write_config, tmp_path, monkeypatch) -> Any:
    monkeypatch.chdir(tmp_path)
    config = write_config()
    assert main(["-c", str(config), "migrate"]) == 0
    return config


def test_followers_remove_queues_a_reject_and_forgets_the_follower(
        write_config, tmp_path, capsys, monkeypatch):
    config = _migrated(write_config, tmp_path, monkeypatch)

    async def add(directory: ActorDirectory) -> None:
        remote = await RemoteActor.create(uri=BOB, domain="peer.example", username="bob",
                                          inbox=f"{BOB}/inbox", fetched_at=datetime.now(UTC))
        await Follower.create(actor_id=directory.get("changer-de-cap").db_id, remote=remote,
                              state=FollowState.ACCEPTED, follow_activity_uri=f"{BOB}#f")

    _with_db(config, add)
    assert main(["-c", str(config), "followers", "remove", "changer-de-cap", BOB]) == 0
    assert "Reject is queued" in capsys.readouterr().out

    async def read(_: ActorDirectory) -> tuple[bool, list[str]]:
        return (await Follower.exists(),
                list(await OutboxActivity.all().values_list("type", flat=True)))

    assert _with_db(config, read) == (False, ["Reject"])
    assert main(["-c", str(config), "followers", "remove", "changer-de-cap", BOB]) == 1
    assert "does not follow" in capsys.readouterr().err


def test_follow_policy_changes_the_policy_and_sends_nothing(
        write_config, tmp_path, capsys, monkeypatch):
    config = _migrated(write_config, tmp_path, monkeypatch)

    async def add(directory: ActorDirectory) -> int:
        row = await Following.create(actor_id=directory.site_actor.db_id, target_uri=SISTER,
                                     state=FollowState.REJECTED, follow_activity_uri="x#f")
        return row.id

    row_id = _with_db(config, add)
    assert main(["-c", str(config), "follow-policy", str(row_id), "announce"]) == 0
    assert "rejected" in capsys.readouterr().out

    async def read(_: ActorDirectory) -> tuple[str, int]:
        return str((await Following.get(id=row_id)).policy), await OutboxActivity.all().count()

    assert _with_db(config, read) == (SyndicationPolicy.ANNOUNCE, 0)
    assert main(["-c", str(config), "follow-policy", "4242", "store"]) == 1
    assert "do not follow" in capsys.readouterr().err


def _queued(config: Any, host: str) -> int:
    """A pending delivery to ``host`` that already failed, its host set aside."""

    async def add(directory: ActorDirectory) -> int:
        actor = directory.get("halte-au-controle-numerique")
        activity = await OutboxActivity.create(uri=f"{directory.uris.base_url}/activities/1",
                                               actor_id=actor.db_id, type="Create", document={})
        fanout = await FanoutJob.create(activity=activity, sender=actor.identifier, audience={})
        later = datetime.now(UTC) + timedelta(days=1)
        job = await DeliveryJob.create(fanout=fanout, activity=activity, host=host,
                                       inbox_url=f"https://{host}/inbox", attempts=3,
                                       next_attempt_at=later, last_error="HTTP 503")
        await HostHealth.create(host=host, unavailable=True, set_aside_until=later,
                                failure_days=["2026-01-01"], last_error="HTTP 503")
        return job.id

    return int(_with_db(config, add))


def test_deliveries_retry_and_drop(write_config, tmp_path, capsys, monkeypatch):
    config = _migrated(write_config, tmp_path, monkeypatch)
    job_id = _queued(config, "social.example")
    assert main(["-c", str(config), "deliveries", "--json"]) == 0
    assert '"set_aside": true' in capsys.readouterr().out
    assert main(["-c", str(config), "deliveries", "--retry", "Social.Example"]) == 0
    assert "1 pending delivery(ies) to Social.Example due now" in capsys.readouterr().err

    async def read(_: ActorDirectory) -> tuple[str, bool, bool]:
        job = await DeliveryJob.get(id=job_id)
        health = await HostHealth.get(host="social.example")
        return str(job.state), job.next_attempt_at <= datetime.now(UTC), health.unavailable

    assert _with_db(config, read) == (DeliveryState.PENDING, True, False)
    assert main(["-c", str(config), "deliveries", "--drop", "social.example"]) == 0
    assert _with_db(config, read)[0] == DeliveryState.ABANDONED
    assert main(["-c", str(config), "deliveries", "--drop", "nowhere.example"]) == 1
    assert "no delivery to nowhere.example" in capsys.readouterr().err
    assert main(["-c", str(config), "deliveries", "--retry", "two words"]) == 1


def test_blocks_list_and_remove_are_audited(write_config, tmp_path, capsys, monkeypatch):
    config = _migrated(write_config, tmp_path, monkeypatch)

    async def add(_: ActorDirectory) -> int:
        block = await Block.create(kind=BlockKind.DOMAIN, value="troll.example",
                                   reason="spam", created_by="camille")
        return block.id

    block_id = _with_db(config, add)
    assert main(["-c", str(config), "blocks", "list"]) == 0
    assert "troll.example" in capsys.readouterr().out
    assert main(["-c", str(config), "blocks", "remove", str(block_id), "--as", "ada"]) == 0

    async def read(_: ActorDirectory) -> tuple[bool, list[str]]:
        return await Block.exists(), list(await Decision.all().values_list("moderator", flat=True))

    assert _with_db(config, read) == (False, ["ada"])
    assert main(["-c", str(config), "blocks", "remove", str(block_id)]) == 1
    assert "no such block" in capsys.readouterr().err


def test_feeds_poll_an_unknown_id_is_an_error(write_config, tmp_path, capsys, monkeypatch):
    config = _migrated(write_config, tmp_path, monkeypatch)
    assert main(["-c", str(config), "feeds", "poll", "42"]) == 1
    assert "no feed 42" in capsys.readouterr().err
