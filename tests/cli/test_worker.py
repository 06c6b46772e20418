"""`federation worker` polls feeds and calls the moderation webhook beside the delivery worker;
`deliveries --purge` purges."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from federation.cli.delivery import run_worker
from federation.db.jobs import Job, JobState
from federation.db.lifecycle import open_database
from federation.moderation.webhook import enqueue, verify_signature
from federation.services import open_services
from federation.settings import Settings
from federation.web.loops import Loops
from tests.cli.conftest import clean_env, run_cli
from tests.config_toml import update_config

SECRET = "a-long-shared-secret-for-tests"
#: Upper bound for waiting on the worker process (polling, not timing).
PATIENCE = 30


def test_worker_help_shows_no_feeds(tmp_path: Path) -> None:
    """`federation worker --help` documents feed polling and --no-feeds."""
    result = run_cli("worker", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--no-feeds" in result.stdout and "feeds" in result.stdout


def test_deliveries_help_shows_purge(tmp_path: Path) -> None:
    """`federation deliveries --help` documents --purge."""
    result = run_cli("deliveries", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "--purge" in result.stdout


async def test_serve_and_worker_run_one_list_of_loops(tmp_path: Path, database_url: str,
                                                    make_settings: Callable[..., Settings]) -> None:
    """`federation worker` and `serve` build the same loops (delivery, jobs, key refresh); the
    job worker runs the purges, the webhook when configured, and feeds unless --no-feeds;
    `serve --no-worker` keeps only the key refresh. Started, they run as named, supervised
    tasks and stop with the block."""
    settings = make_settings(database_url, site={
        "name": "S", "home_page": "https://site.example/", "language": "en",
        "timezone": "America/Montreal", "recurring_events_days": 30})
    hooked = settings.model_copy(update={"moderation": settings.moderation.model_copy(
        update={"webhook_url": "https://site.example/hook", "webhook_secret": SECRET})})
    async with open_services(settings) as services:
        loops = Loops(dataclasses.replace(services, settings=hooked))
        assert [loop.name for loop in loops.loops] == [
            "delivery-worker", "job-worker", "key-refresh", "status-file"]
        assert loops.jobs is not None and set(loops.jobs.kinds) == {
            "inbox.activity", "inbox.purge", "delivery.purge", "jobs.purge",
            "moderation.webhook", "ingest.feed"}
        no_feeds = Loops(services, feeds=False)
        assert no_feeds.jobs is not None and "ingest.feed" not in no_feeds.jobs.kinds
        assert "moderation.webhook" not in no_feeds.jobs.kinds
        idle = Loops(services, work=False)
        assert [loop.name for loop in idle.loops] == ["key-refresh", "status-file"]
        stop = asyncio.Event()
        names: set[str] = set()

        async def note_and_stop() -> None:
            async with asyncio.timeout(PATIENCE):
                while not all(s.running for s in loops.statuses.all()):
                    await asyncio.sleep(0.01)
            names.update(task.get_name() for task in asyncio.all_tasks())
            stop.set()

        await asyncio.gather(run_worker(loops, stop), note_and_stop())
    assert {"delivery-worker", "job-worker", "key-refresh", "status-file"} <= names
    assert not any(t.get_name() == "job-worker" for t in asyncio.all_tasks())
    assert [s.name for s in loops.statuses.all() if s.running] == []


def test_deliveries_purge(tmp_path: Path, ready_config: Path) -> None:
    """`federation deliveries --purge --json` reports what it deleted (nothing on a new queue)."""
    result = run_cli("--config", str(ready_config), "deliveries", "--purge", "--json",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0]) == {
        "purged": {"deliveries": 0, "fanouts": 0, "hosts": 0}}


async def test_worker_process_calls_the_moderation_webhook(tmp_path: Path, database_url: str,
                                                           ready_config: Path, settings: Settings) -> None:
    """With `serve --no-worker`, the decisions' webhook calls are sent by `federation worker`:
    a call queued before the worker starts reaches the site, signed, and is marked sent; the
    worker then stops cleanly on SIGTERM."""
    received: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        signed = verify_signature(SECRET, request.headers["X-Federation-Timestamp"], body,
                                  request.headers["X-Federation-Signature"], now=int(time.time()))
        received.append({"signed": signed, **json.loads(body)})
        arrived.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app, host="127.0.0.1") as site:
        url = str(site.make_url("/hook"))
        update_config(ready_config, allow_loopback_fetch=True,
                      moderation={"webhook_url": url, "webhook_secret": SECRET})
        hooked = settings.model_copy(update={"moderation": settings.moderation.model_copy(
            update={"webhook_url": url, "webhook_secret": SECRET})})
        async with open_database(database_url):
            queued = await enqueue(hooked, "reply.approve", {"reply": {"uri": "https://peer.example/n/1"}})
            assert queued is not None
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "federation", "--config", str(ready_config), "worker",
            cwd=tmp_path, env=clean_env(), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            await asyncio.wait_for(arrived.wait(), PATIENCE)
        finally:
            process.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(process.communicate(), PATIENCE)
    assert process.returncode == 0, stderr.decode()
    assert "sending moderation webhooks" in stdout.decode()
    assert received == [{"signed": True, "id": queued.id, "event": "reply.approve",
                         "reply": {"uri": "https://peer.example/n/1"}}]
    async with open_database(database_url):
        row = await Job.get(id=queued.id)
    assert (row.state, row.attempts) == (JobState.DONE, 1)


async def test_worker_client_signs_its_gets_as_the_site_actor(make_settings, database_url) -> None:
    """`federation worker` fetches actor documents with GETs signed by the site actor, as
    `serve` does — one client, built by open_services (servers in authorized-fetch mode refuse
    unsigned ones; it used to send them unsigned), verified here by httpsig; feeds are still
    fetched unsigned."""
    from federation.signing.httpsig_compat import httpsig_verify_request

    seen: list[dict[str, str]] = []

    async def actor(request: web.Request) -> web.Response:
        seen.append({"path": request.path_qs, **request.headers})
        return web.json_response({"id": str(request.url)}, content_type="application/activity+json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", actor)
    settings = make_settings(database_url, allow_loopback_fetch=True)
    async with (TestServer(app, host="127.0.0.1") as peer,
                open_services(settings) as services):
        site = services.directory.get(settings.site_actor.identifier)
        await services.client.get(str(peer.make_url("/users/a")))
        await services.client.get(str(peer.make_url("/feed.xml")), sign=False)
    signed, feed = seen
    assert f'keyId="{site.key_id}"' in signed["Signature"]
    assert httpsig_verify_request("GET", signed["path"], signed, site.rsa_public_pem)
    assert "Signature" not in feed


def test_import_of_a_calendar_uses_the_site_horizon(make_settings, tmp_path: Path) -> None:
    """`federation import` expands recurring events over `site.recurring_events_days`, as the
    poller does (it used a fixed 60 days)."""
    from federation.cli.publishing import _parse_feed_bytes
    from tests.ingest.conftest import fixture_bytes

    calendar = fixture_bytes("permanence.ics", RULE="RRULE:FREQ=WEEKLY", START="20240101T180000",
                             END="20240101T200000", MORE="", MODIFIED="20240820T080000Z")

    def weekly(days: int) -> int:
        settings = make_settings(f"sqlite://{tmp_path / 'unused.sqlite3'}",
                                 site={"name": "S", "home_page": "https://site.example/",
                                       "recurring_events_days": days})
        items = _parse_feed_bytes(calendar, "ical", settings, "halte-au-controle-numerique")
        return sum(1 for item in items if item.source_id.startswith("permanence@"))

    assert weekly(14) in (2, 3) and weekly(60) >= 8
