"""Two `federation worker` processes polling the same feeds on one PostgreSQL database: no feed
is ever fetched by both at once, and every feed is polled.

The feeds are served by a loopback server that records each GET (start and end, on this
process's monotonic clock) and holds each answer for a moment, so that two polls of one feed
would overlap if two workers took it together. Between rounds the test makes every feed due
again (its ``next_poll_at`` and its job's ``next_attempt_at``), until each feed was polled
``ROUNDS`` times and both workers held feed leases. Before the job engine, every worker polled
every due feed: each feed was fetched twice per round, at the same moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from federation.db.actors import Actor
from federation.db.ingest import Feed, FeedKind
from federation.db.jobs import Job, JobState
from federation.db.lifecycle import open_database
from federation.jobs.kinds import FEED
from federation.settings import Settings
from tests.cli.conftest import clean_env
from tests.cli.test_worker_processes import POLL, Worker, until
from tests.config_toml import update_config

pytestmark = pytest.mark.slow

ACTOR = "halte-au-controle-numerique"
#: Feed servers (each its own host: the feed kind runs at most 2 jobs per host at once).
SERVERS = 3
FEEDS_PER_SERVER = 3
#: How long the feed server holds each answer (seconds).
HOLD = 0.5
ROUNDS = 3
#: Rounds at most before both workers must have held a feed's lease.
MAX_ROUNDS = 12
JOB_OWNER = re.compile(r"job worker (\S+); ")
RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Feed {n}</title><link>https://site.example/</link>
<description>feed {n}</description>
<item><title>Article {n}</title><link>https://site.example/spip.php?article{n}</link>
<guid>https://site.example/spip.php?article{n}</guid>
<pubDate>Sat, 05 Oct 2024 10:00:00 GMT</pubDate><description>Texte {n}</description></item>
</channel></rss>"""


@dataclass
class FeedHost:
    """Serves ``/feeds/<n>``; notes each GET's (start, end), holding each answer ``HOLD`` s."""

    gets: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list))
    base_url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        await asyncio.sleep(HOLD)
        n = request.match_info["n"]
        self.gets[f"{self.base_url}/feeds/{n}"].append((started, time.monotonic()))
        return web.Response(body=RSS.format(n=n).encode(), content_type="application/rss+xml")


async def _start(tmp_path: Path, config: Path, name: str) -> Worker:
    stdout, stderr = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    files = [stdout.open("wb"), stderr.open("wb")]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "federation", "--config", str(config), "worker",
        cwd=tmp_path, env=clean_env(), stdin=asyncio.subprocess.DEVNULL,
        stdout=files[0], stderr=files[1])
    return Worker(name, process, stdout, stderr, files)


async def _job_owner(worker: Worker) -> str:
    found: list[str] = []

    async def printed() -> bool:
        found[:] = JOB_OWNER.findall(worker.stdout.read_text(errors="replace"))
        return bool(found)

    await until(printed, f"worker {worker.name} to start", worker)
    return found[0]


async def test_two_worker_processes_never_poll_one_feed_at_once(
        tmp_path: Path, database_url: str, ready_config: Path, settings: Settings) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("one worker per SQLite database is the documented rule: concurrent "
                    "worker processes need PostgreSQL")
    update_config(ready_config, allow_loopback_fetch=True)
    hosts = [FeedHost() for _ in range(SERVERS)]
    workers: list[Worker] = []
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(open_database(database_url))
        for host in hosts:
            app = web.Application()
            app.router.add_get("/feeds/{n}", host.handle)
            server = await stack.enter_async_context(TestServer(app, host="127.0.0.1"))
            host.base_url = f"http://127.0.0.1:{server.port}"
        actor = await Actor.get(identifier=ACTOR)
        now = datetime.now(UTC)
        urls = [f"{host.base_url}/feeds/{n}" for host in hosts for n in range(FEEDS_PER_SERVER)]
        for url in urls:
            await Feed.create(actor=actor, url=url, kind=FeedKind.RSS, interval_seconds=60,
                              next_poll_at=now)
        try:
            workers = [await _start(tmp_path, ready_config, f"worker-{n}") for n in range(2)]
            owners = {await _job_owner(worker) for worker in workers}
            assert len(owners) == 2
            holders: set[str] = set()

            def gets(url: str) -> int:
                return sum(len(host.gets[url]) for host in hosts)

            for round_ in range(1, MAX_ROUNDS + 1):
                async def polled(round_: int = round_) -> bool:
                    running = await Job.filter(kind=FEED.name, state=JobState.RUNNING)
                    holders.update((job.lease_owner or "").split("/", 1)[0] for job in running)
                    return not running and all(gets(url) >= round_ for url in urls)

                await until(polled, f"round {round_} of polls", *workers)
                if round_ >= ROUNDS and holders == owners:
                    break
                now = datetime.now(UTC)  # every feed due again
                await Feed.all().update(next_poll_at=now)
                await Job.filter(kind=FEED.name, state=JobState.PENDING).update(
                    next_attempt_at=now)
                await asyncio.sleep(POLL)
            assert [await worker.stop() for worker in workers] == [0, 0]
            feeds = await Feed.all()
            jobs = await Job.filter(kind=FEED.name).order_by("ref")
        finally:
            for worker in workers:
                await worker.close()

    assert holders == owners, "both workers polled feeds"
    assert sorted(job.ref for job in jobs) == sorted(str(feed.id) for feed in feeds)  # one each
    assert {(feed.failures, feed.primed) for feed in feeds} == {(0, True)}
    for host in hosts:
        for url, times in host.gets.items():
            times.sort()
            overlapping = [(a, b) for a, b in zip(times, times[1:], strict=False) if b[0] < a[1]]
            assert not overlapping, f"{url} was fetched twice at once: {overlapping}"
    assert all(gets(url) >= ROUNDS for url in urls)
