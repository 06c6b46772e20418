"""kill -9 of `federation serve` under inbox load (SQLite): every activity answered 2xx ends
stored and processed.

Before (issue 10, item 2), the de-duplication claim was committed before the listener wrote
the reply: a process killed in between had answered nothing, the sender's retry was told 202
"duplicate", and the reply was lost (2 of 3,000 in the fault campaign). Now the activity itself
is stored (a job) before its 202, and the job engine processes what the dead process left once
the job's lease expires (the test moves the engine's clock past it: no sleeping).
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from federation.db.content import ContentObject, ObjectKind
from federation.db.jobs import Job, JobState
from federation.db.lifecycle import open_database
from federation.db.moderation import Reply
from federation.identity.directory import ActorDirectory, open_vault
from federation.inbox.processor import PROCESSING_LEASE
from federation.jobs.kinds import INBOX_ACTIVITY
from federation.settings import Settings
from tests.config_toml import update_config
from tests.inbox.conftest import (  # noqa: F401 (fixtures)
    ARTICLE,
    BRIDGE,
    Bridge,
    PeerActor,
    alice,
    create,
    make_peer,
    note,
    peer,
    peer_keys,
    sign_headers,
)
from tests.serve import Served, config_port

pytestmark = pytest.mark.slow

ACTIVITIES = 600
CONCURRENCY = 16
#: 2xx answers before the kill (the load is then well under way).
KILL_AFTER = 150


def inbox_load_config(ready_config: Path) -> Path:
    """The ready configuration, with loopback fetches allowed and no limit on replies."""
    return update_config(ready_config, allow_loopback_fetch=True,
                         inbox={"limits": {"replies_per_hour": 1000000}})


async def seed_article(database_url: str, settings: Settings) -> None:
    """The actors synced and the article the replies answer."""
    async with open_database(database_url):
        directory = ActorDirectory(settings, open_vault(settings.data_dir))
        await directory.sync()
        await ContentObject.create(
            actor_id=directory.get("halte-au-controle-numerique").db_id, kind=ObjectKind.ARTICLE,
            source="push", source_id="4521", uri=ARTICLE, document={"id": ARTICLE, "type": "Article"},
            content_hash="0" * 64, published_at=datetime.now(UTC))


async def post_signed(session: aiohttp.ClientSession, port: int, activity: dict[str, Any],
                      signer: PeerActor) -> tuple[int | None, str | None]:
    """The status and ``Retry-After`` of one signed POST to the inbox (``None``: no answer
    came, the server died or went away)."""
    body = json.dumps(activity).encode()
    headers = {"Content-Type": "application/activity+json", "Host": "bridge.example",
               **sign_headers("cavage", signer, BRIDGE + "/inbox", body)}
    try:
        async with session.post(f"http://127.0.0.1:{port}/inbox", data=body,
                                headers=headers) as response:
            await response.read()
            return response.status, response.headers.get("Retry-After")
    except (TimeoutError, aiohttp.ClientError, OSError):
        return None, None


async def engine(make_settings: Callable[..., Settings], database_url: str,
                 aiohttp_client: Any) -> Bridge:
    """An application on the database whose job engine a test runs (no serve process)."""
    from federation.app import create_app

    app = create_app(make_settings(database_url, allow_loopback_fetch=True,
                                   server={"run_worker": False},
                                   inbox={"limits": {"replies_per_hour": 1_000_000}}))
    return Bridge(await aiohttp_client(app), app)


async def assert_engine_stores_every_one(bridge: Bridge, sent: list[dict[str, Any]]) -> int:
    """The engine, its clock past the processing lease, takes up what serve left: every
    activity ``sent`` ends a stored reply and no inbox job is left; the replies stored."""
    later = datetime.now(UTC) + PROCESSING_LEASE * 2
    await bridge.run_jobs(clock=lambda: later)
    stored = set(await Reply.all().values_list("uri", flat=True))
    lost = sorted(a["id"] for a in sent if a["object"]["id"] not in stored)
    assert not lost, f"{len(lost)} acknowledged activities lost: {lost[:5]}"
    assert await Reply.all().count() == len(sent)
    assert await Job.filter(kind=INBOX_ACTIVITY.name).exclude(state=JobState.DONE).count() == 0
    return len(stored)


async def test_kill_9_of_serve_under_inbox_load_loses_no_acknowledged_activity(
        tmp_path: Path, database_url: str, ready_config: Path, settings: Settings,
        make_settings: Callable[..., Settings], aiohttp_client: Any, peer: Any,
        alice: PeerActor) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("kill -9 under inbox load is the SQLite scenario (one serve per database)")
    config = inbox_load_config(ready_config)
    port = config_port(config)
    await seed_article(database_url, settings)
    activities = [create(alice, note(alice, n), n) for n in range(ACTIVITIES)]
    answers: dict[str, int | None] = {}

    first = Served(config, port, tmp_path / "serve-1.log")
    await first.start()
    server = first.running()
    killed = asyncio.Event()
    queue = iter(activities)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        first = next(queue)  # alice's key is fetched once, then cached (as a known sender)
        answers[first["id"]] = (await post_signed(session, port, first, alice))[0]
        assert answers[first["id"]] == 202

        async def sender() -> None:
            for activity in queue:
                if killed.is_set():
                    return
                status, _ = await post_signed(session, port, activity, alice)
                answers[activity["id"]] = status
                if not killed.is_set() and sum(
                        1 for s in answers.values() if s and 200 <= s < 300) >= KILL_AFTER:
                    server.send_signal(signal.SIGKILL)
                    killed.set()

        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
        await server.wait()
        assert server.returncode == -signal.SIGKILL
        acknowledged = {uri for uri, status in answers.items() if status and 200 <= status < 300}
        assert KILL_AFTER <= len(acknowledged) < ACTIVITIES
        assert not [s for s in answers.values() if s is not None and not 200 <= s < 300]

        # the senders retry what got no 2xx, on a new serve
        second = Served(config, port, tmp_path / "serve-2.log")
        await second.start()
        try:
            for activity in activities:
                if activity["id"] not in acknowledged:
                    status, _ = await post_signed(session, port, activity, alice)
                    assert status == 202, status
                    acknowledged.add(activity["id"])
        finally:
            await second.stop()
    assert len(acknowledged) == ACTIVITIES

    # the job engine (of any serve or worker) takes up what the dead process left
    await assert_engine_stores_every_one(
        await engine(make_settings, database_url, aiohttp_client), activities)
