"""Public reads: requests/s of each public GET against the server's own ceiling.

Run: ``.venv/bin/python bench/reads.py [--duration 10] [--connections 32] [--rounds 2]
[--read-cache-seconds S] [--database-url URL] [--only NAME]`` (needs ``wrk``:
``apt-get install -y wrk``).

The bridge runs alone in a child process (``create_app``, one event loop, no worker loops,
default SQLite in a temporary directory) with 40 published articles of ~9 KB (an outbox page of
20 items is ~175 KB, as in issue 13), 5 of them pinned, 50 accepted followers, 20 approved
replies to one article. A second child serves the ceiling: a minimal aiohttp app answering a
fixed body of the same size and content type as each bridge answer. For each public GET the
two are measured back to back (ceiling, then bridge, ``--rounds`` times) with
``wrk -t1 -c32 -d10s`` and ``Accept: application/activity+json``. The servers are pinned to
CPU 0 and wrk to CPU 1 (``taskset``) when the machine has two CPUs or more, so the load
generator does not take the server's core. Each line prints the load average at its start:
on a shared machine, read the ratio (bridge / ceiling, measured within seconds of each
other), not the absolute rates. ``--read-cache-seconds 0`` measures the code without its read
cache (the "before" of docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchdb import reset_if_postgres

from federation.db.content import ContentObject, ObjectKind
from federation.db.lifecycle import migrate_database
from federation.db.moderation import Reply, ReplyKind, ReplyState
from federation.db.social import Follower, FollowState, RemoteActor
from federation.ingest.payloads import parse_item
from federation.services import open_services
from federation.settings import settings_from_mapping

BRIDGE = "https://bridge.example"
ACTOR = "collectif"
AP = "application/activity+json"


def config(database_url: str, data_dir: Path, cache_seconds: float | None) -> dict[str, Any]:
    server: dict[str, Any] = {"run_worker": False}
    if cache_seconds is not None:  # None: the setting's default (and code older than it)
        server["read_cache_seconds"] = cache_seconds
    return {
        "base_url": BRIDGE, "database_url": database_url, "data_dir": str(data_dir),
        "server": server,
        "site": {"name": "Bench", "home_page": "https://site.example/"},
        "site_actor": {"identifier": "site", "username": "site", "name": "Site"},
        "collectives": [{"identifier": ACTOR, "username": ACTOR, "name": "Collectif"}],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def run_bridge(mapping: dict[str, Any], port: int, cpu: int | None) -> None:
    import logging

    from federation.app import create_app

    pin(cpu)
    logging.basicConfig(level=logging.WARNING)
    app = create_app(settings_from_mapping(mapping))
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def run_ceiling(port: int, cpu: int | None, bodies: dict[str, tuple[bytes, str]]) -> None:
    """The minimal app: ``/<name>`` answers a fixed body with the bridge's content type."""
    pin(cpu)

    async def fixed(request: web.Request) -> web.Response:
        body, content_type = bodies[request.match_info["name"]]
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/{name}", fixed)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def prepare(mapping: dict[str, Any]) -> dict[str, str]:
    """The site's content; the public GETs to measure, by name."""
    settings = settings_from_mapping(mapping)
    await reset_if_postgres(settings.effective_database_url)
    await migrate_database(settings.effective_database_url)
    paragraph = "<p>" + "Texte d'un article publié par le collectif, assez long. " * 12 + "</p>"
    async with open_services(settings) as services:
        actor = services.directory.get(ACTOR)
        first = ""
        for number in range(40):
            published = await services.publisher.upsert(parse_item({
                "type": "article", "actor": ACTOR, "id": f"a{number}",
                "title": f"Article {number}", "url": f"https://site.example/article{number}",
                "published": (datetime(2026, 1, 1, tzinfo=UTC)
                              + timedelta(hours=number)).isoformat(),
                "content_html": paragraph * 5,
            }))
            first = first or published.object_uri
            if number < 5:
                await services.publisher.pin(ACTOR, ObjectKind.ARTICLE, "push", f"a{number}", True)
        target = await ContentObject.get(uri=first)
        for number in range(50):
            uri = f"https://h{number}.example/users/u{number}"
            remote = await RemoteActor.create(uri=uri, domain=f"h{number}.example",
                                              inbox=f"{uri}/inbox", username=f"u{number}",
                                              fetched_at=datetime.now(UTC))
            await Follower.create(actor_id=actor.db_id, remote=remote,
                                  state=FollowState.ACCEPTED, follow_activity_uri=f"{uri}/follow")
            if number < 20:
                await Reply.create(uri=f"{uri}/statuses/1", kind=ReplyKind.REPLY, author=remote,
                                   target=target, is_public=True, state=ReplyState.APPROVED,
                                   published_at=datetime.now(UTC))
    path = first.removeprefix(BRIDGE)
    activity = (await services_activity(settings, first)).removeprefix(BRIDGE)
    return {
        "actor": f"/actors/{ACTOR}",
        "webfinger": f"/.well-known/webfinger?resource=acct:{ACTOR}@bridge.example",
        "nodeinfo": "/nodeinfo/2.1",
        "object": path,
        "activity": activity,
        "outbox page (20)": f"/actors/{ACTOR}/outbox?page=1",
        "followers": f"/actors/{ACTOR}/followers",
        "featured": f"/actors/{ACTOR}/featured",
        "replies page": f"{path}/replies?page=1",
    }


async def services_activity(settings: Any, object_uri: str) -> str:
    from federation.db.content import OutboxActivity
    from federation.db.lifecycle import open_database

    async with open_database(settings.effective_database_url):
        row = await OutboxActivity.filter(object_uri=object_uri, type="Create").first()
        assert row is not None
        return row.uri


def fetch(port: int, path: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     headers={"Accept": AP, "Host": "bridge.example"})
    with urllib.request.urlopen(request) as response:  # loopback only
        return response.status, response.read(), response.headers["Content-Type"]


def wrk(url: str, args: argparse.Namespace, cpu: int | None) -> float:
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s",
               "-H", f"Accept: {AP}", "-H", "Host: bridge.example", url]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} errors\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert match, output
    return float(match.group(1))


async def wait_until_up(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--read-cache-seconds", type=float, default=None,
                        help="default: the setting's default; 0: no read cache")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--only", action="append", default=[], help="measure only these GETs")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, wrk_cpu = (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        database_url = args.database_url or f"sqlite://{data_dir / 'bench.sqlite3'}"
        mapping = config(database_url, data_dir, args.read_cache_seconds)
        paths = await prepare(mapping)
        if args.only:
            paths = {name: path for name, path in paths.items() if name in args.only}
        spawn = multiprocessing.get_context("spawn")
        port = free_port()
        bridge = spawn.Process(target=run_bridge, args=(mapping, port, server_cpu))
        bridge.start()
        ceiling = None
        try:
            await wait_until_up(port)
            bodies = {}
            for name, path in paths.items():
                status, body, content_type = await asyncio.to_thread(fetch, port, path)
                assert status == 200, (name, status)
                bodies[str(len(bodies))] = (body, content_type)
            ceiling_port = free_port()
            ceiling = spawn.Process(target=run_ceiling, args=(ceiling_port, server_cpu, bodies))
            ceiling.start()
            await wait_until_up(ceiling_port)
            engine = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
            print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
                  f" {engine}, read_cache_seconds {args.read_cache_seconds}, servers on CPU "
                  f"{server_cpu}, wrk on CPU {wrk_cpu}, wrk -t1 -c{args.connections} "
                  f"-d{args.duration}s")
            print(f"{'GET':<18} {'bytes':>7} {'ceiling/s':>10} {'bridge/s':>9} {'ratio':>6}  load")
            for index, (name, path) in enumerate(paths.items()):
                size = len(bodies[str(index)][0])
                for _ in range(args.rounds):
                    load = os.getloadavg()[0]
                    top = await asyncio.to_thread(
                        wrk, f"http://127.0.0.1:{ceiling_port}/{index}", args, wrk_cpu)
                    ours = await asyncio.to_thread(
                        wrk, f"http://127.0.0.1:{port}{path}", args, wrk_cpu)
                    print(f"{name:<18} {size:>7} {top:>10.0f} {ours:>9.0f} {top / ours:>5.2f}×"
                          f"  {load:.1f}", flush=True)
        finally:
            for process in (bridge, ceiling):
                if process is not None:
                    process.terminate()
                    process.join(10)
    print(json.dumps({"finished": datetime.now(UTC).isoformat(timespec="seconds")}))


if __name__ == "__main__":
    asyncio.run(main())
