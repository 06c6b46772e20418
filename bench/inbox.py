"""Inbox throughput: signed activities one server process verifies and stores per second.

Run: ``.venv/bin/python bench/inbox.py [--activities 3000] [--actors 20] [--concurrency 32]
[--scheme cavage|rfc9421] [--kind reply|like] [--database-url URL] [--count-statements]``.

The bridge runs alone in a child process (``create_app``, one event loop, default SQLite in a
temporary directory). The parent serves the remote actors' documents on 127.0.0.1 and sends
the activities from pre-serialised HTTP/1.1 requests on keep-alive connections (a wrk-like
load generator, so that it takes little of the shared CPU). Every activity is signed (RSA-2048) before timing starts; each
actor sends one activity first so that its key is fetched and cached (the figure is for known
actors). ``reply``: a ``Create(Note)`` replying to one of our articles — verified, de-duplicated
and stored as a pending ``Reply``; ``like``: a ``Like`` of that article (an ``Interaction``). Each actor goes round robin over
500 articles, so every like is a new one (``--activities`` up to 500 × ``--actors``).
Prints activities/s, the server's CPU per activity (and the PostgreSQL backends' CPU per
activity), and checks that every row was stored; ``--count-statements`` prints the database
round trips per activity, by statement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import re
import resource
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchdb import reset_if_postgres

from federation.db.content import ContentObject, ObjectKind
from federation.db.lifecycle import migrate_database, open_database
from federation.db.moderation import Interaction, Reply
from federation.identity.directory import ActorDirectory
from federation.settings import settings_from_mapping
from federation.signing.cavage import sign_request
from federation.signing.keys import KeyVault, generate_rsa_key, public_key_to_pem
from federation.signing.rfc9421 import sign_request_rfc9421

BRIDGE = "https://bridge.example"
ARTICLE = f"{BRIDGE}/objects/article/"
#: Articles replied to and liked, round robin (an actor likes an article once).
ARTICLES = 500
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def config(database_url: str, data_dir: Path) -> dict[str, Any]:
    return {
        "base_url": BRIDGE, "database_url": database_url, "data_dir": str(data_dir),
        "allow_loopback_fetch": True, "server": {"run_worker": False},
        # every actor is on 127.0.0.1: the per-host flood limits would refuse most of the load
        "inbox": {"limits": {"replies_per_hour": 1_000_000, "interactions_per_hour": 1_000_000}},
        "site": {"name": "Bench", "home_page": "https://site.example/"},
        "site_actor": {"identifier": "site", "username": "site", "name": "Site"},
        "collectives": [{"identifier": "collectif", "username": "collectif", "name": "Collectif"}],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Round trips counted by ``--count-statements`` (in the bridge process), by statement.
ROUND_TRIPS: dict[str, int] = {}


def count_round_trips() -> None:
    """Count what the bridge sends to the database, wrapping the drivers' lowest calls: on
    PostgreSQL each asyncpg protocol call (a prepared statement's execution, a simple query
    such as ``BEGIN`` or the pool's reset query) is one round trip; on SQLite each call queued
    to aiosqlite's thread is one hand-off (the statement runs in that thread)."""
    import aiosqlite.core
    import asyncpg.connection

    def note(text: str) -> None:
        key = " ".join(text.split())[:90]
        ROUND_TRIPS[key] = ROUND_TRIPS.get(key, 0) + 1

    execute, pg_execute = asyncpg.connection.Connection.execute, asyncpg.connection.Connection._execute

    async def counted_execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:  # a simple query (no arguments): one round trip, not via _execute
            note(query)
        return await execute(self, query, *args, **kwargs)

    async def counted_pg(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        note(query)
        return await pg_execute(self, query, *args, **kwargs)

    queue = aiosqlite.core.Connection._execute

    async def counted_sqlite(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        note(args[0] if args and isinstance(args[0], str) else getattr(fn, "__name__", str(fn)))
        return await queue(self, fn, *args, **kwargs)

    asyncpg.connection.Connection.execute = counted_execute  # type: ignore[method-assign]
    asyncpg.connection.Connection._execute = counted_pg  # type: ignore[method-assign]
    aiosqlite.core.Connection._execute = counted_sqlite  # type: ignore[method-assign]


def run_bridge(mapping: dict[str, Any], port: int, profile: str = "", statements: str = "") -> None:
    """The child process: the bridge alone on its event loop (under cProfile with ``profile``;
    counting its database round trips into the file ``statements``)."""
    import cProfile
    import logging

    from federation.app import create_app

    logging.basicConfig(level=logging.WARNING)
    if statements:
        count_round_trips()
    app = create_app(settings_from_mapping(mapping))
    if statements:
        async def reset(request: web.Request) -> web.Response:
            ROUND_TRIPS.clear()
            return web.Response(text="")

        async def dump_counts(request: web.Request) -> web.Response:
            await asyncio.to_thread(Path(statements).write_text, json.dumps(ROUND_TRIPS))
            return web.Response(text="")

        app.router.add_post("/bench/reset", reset)
        app.router.add_post("/bench/dump", dump_counts)
    if profile:
        profiler = cProfile.Profile()

        async def dump(_: web.Application) -> None:
            profiler.disable()
            profiler.dump_stats(profile)

        app.on_shutdown.append(dump)
        profiler.enable()
    # SIGTERM from the parent: aiohttp shuts down cleanly (open connections closed, no traceback)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None,
                handle_signals=True)


async def prepare(mapping: dict[str, Any]) -> None:
    settings = settings_from_mapping(mapping)
    await reset_if_postgres(settings.effective_database_url)
    await migrate_database(settings.effective_database_url)
    async with open_database(settings.effective_database_url):
        directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
        await directory.sync()
        for number in range(ARTICLES):
            uri = f"{ARTICLE}{number}"
            await ContentObject.create(
                actor_id=directory.get("collectif").db_id, kind=ObjectKind.ARTICLE, source="push",
                source_id=str(number), uri=uri, document={"id": uri, "type": "Article",
                                                          "content": "<p>texte</p>" * 200},
                content_hash="0" * 64, published_at=datetime.now(UTC))


async def count_rows(mapping: dict[str, Any], kind: str) -> int:
    settings = settings_from_mapping(mapping)
    async with open_database(settings.effective_database_url):
        return await (Reply if kind == "reply" else Interaction).all().count()


def activity(actor: str, number: int, kind: str, round_: int) -> dict[str, Any]:
    article = f"{ARTICLE}{round_ % ARTICLES}"
    if kind == "like":
        return {"id": f"{actor}#likes/{number}", "type": "Like", "actor": actor, "object": article}
    note = {"id": f"{actor}/statuses/{number}", "type": "Note", "attributedTo": actor,
            "inReplyTo": article, "to": [PUBLIC], "published": "2026-11-28T12:00:00Z",
            "content": "<p>Merci pour cet article, <a href=\"https://peer.example/\">voir ici</a>.</p>"}
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{note['id']}/activity",
            "type": "Create", "actor": actor, "object": note, "to": [PUBLIC]}


def signed(body: bytes, actor: str, key: Any, scheme: str) -> dict[str, str]:
    headers = {"Content-Type": "application/activity+json", "Host": "bridge.example"}
    if scheme == "rfc9421":
        headers.update(sign_request_rfc9421("POST", f"{BRIDGE}/inbox", {}, body, actor + "#main-key", key))
    else:
        headers.update(sign_request("POST", f"{BRIDGE}/inbox", {}, body, actor + "#main-key", key))
    return headers


async def peer_server(keys: list[Any]) -> tuple[web.AppRunner, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    documents = {}
    for index, key in enumerate(keys):
        uri = f"{base}/users/u{index}"
        documents[f"/users/u{index}"] = json.dumps({
            "id": uri, "type": "Person", "preferredUsername": f"u{index}", "inbox": uri + "/inbox",
            "publicKey": {"id": uri + "#main-key", "owner": uri, "publicKeyPem": public_key_to_pem(key)}})

    async def get(request: web.Request) -> web.Response:
        return web.Response(text=documents[request.path], content_type="application/activity+json")

    app = web.Application()
    app.router.add_get("/users/{name}", get)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, base


def raw_request(body: bytes, headers: dict[str, str]) -> bytes:
    """One HTTP/1.1 keep-alive POST to ``/inbox``, serialised once before timing."""
    lines = ["POST /inbox HTTP/1.1", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def send_all(port: int, requests: list[bytes], concurrency: int) -> list[int]:
    """Send pre-serialised requests on ``concurrency`` keep-alive connections (a wrk-like load
    generator: no HTTP client library, so that it takes as little of the shared CPU as it can)."""
    pending = iter(requests)
    statuses: list[int] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in pending:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                statuses.append(int(head[9:12]))
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                await reader.readexactly(int(length.group(1)) if length else 0)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return statuses


async def wait_until_up(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise SystemExit("the bridge did not start")


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu(database_url: str) -> dict[int, float]:
    """CPU time of each PostgreSQL backend serving the bench's database (by process title,
    ``postgres: [cluster:] <user> <database> …``; empty for SQLite, which runs in the bridge process)."""
    if not database_url.startswith("postgres"):
        return {}
    name = database_url.rsplit("/", 1)[1].split("?")[0]
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                title = cmdline.read().replace(b"\0", b" ").decode(errors="replace").split()
            if title[:1] == ["postgres:"] and name in title[1:5]:
                found[int(pid)] = cpu_of(int(pid))
        except OSError:
            continue
    return found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=3000)
    parser.add_argument("--actors", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--scheme", choices=["cavage", "rfc9421"], default="cavage")
    parser.add_argument("--kind", choices=["reply", "like"], default="reply")
    parser.add_argument("--database-url", default="",
                        help="default: SQLite in a temporary directory; a PostgreSQL database is emptied first")
    parser.add_argument("--profile", default="", help="write the server's cProfile stats here")
    parser.add_argument("--count-statements", action="store_true",
                        help="print the database round trips per activity, by statement")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        database_url = args.database_url or f"sqlite://{data_dir / 'bench.sqlite3'}"
        mapping = config(database_url, data_dir)
        await prepare(mapping)
        keys = [generate_rsa_key() for _ in range(args.actors)]
        runner, base = await peer_server(keys)
        actors = [f"{base}/users/u{i}" for i in range(args.actors)]
        requests = []
        for number in range(args.activities + args.actors):
            index = number % args.actors
            body = json.dumps(activity(actors[index], number, args.kind, number // args.actors)).encode()
            requests.append(raw_request(body, signed(body, actors[index], keys[index], args.scheme)))
        warmup, timed = requests[: args.actors], requests[args.actors:]

        port = free_port()
        counts = data_dir / "statements.json" if args.count_statements else None
        process = multiprocessing.get_context("spawn").Process(
            target=run_bridge, args=(mapping, port, args.profile, str(counts or "")))
        process.start()
        try:
            await wait_until_up(port)
            assert set(await send_all(port, warmup, 4)) == {202}, "warm-up refused"
            if counts:
                await send_all(port, [raw_request(b"", {"Host": "x"}).replace(b"/inbox", b"/bench/reset")], 1)
            cpu_before, started = cpu_of(process.pid), time.perf_counter()
            own_before = cpu_of(os.getpid())
            database_before = database_cpu(database_url)
            statuses = await send_all(port, timed, args.concurrency)
            elapsed, cpu = time.perf_counter() - started, cpu_of(process.pid) - cpu_before
            own = cpu_of(os.getpid()) - own_before
            database = sum(cpu - database_before.get(pid, 0.0)
                           for pid, cpu in database_cpu(database_url).items())
            if counts:
                await send_all(port, [raw_request(b"", {"Host": "x"}).replace(b"/inbox", b"/bench/dump")], 1)
        finally:
            process.terminate()
            process.join()
            await runner.cleanup()
        stored = await count_rows(mapping, args.kind)
        refused = sum(1 for status in statuses if status != 202)
        engine = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
        print(f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load avg {os.getloadavg()[0]:.1f}, {engine}, {args.scheme}, {args.kind}")
        print(f"{len(timed)} activities in {elapsed:.2f} s: {len(timed) / elapsed:.0f} activities/s, "
              f"server CPU {1000 * cpu / len(timed):.2f} ms/activity, refused {refused}, "
              f"rows stored {stored} (expected {args.activities + args.actors}); "
              f"load generator CPU {1000 * own / len(timed):.2f} ms/activity"
              + (f"; PostgreSQL backends' CPU {1000 * database / len(timed):.2f} ms/activity"
                 if engine == "PostgreSQL" else ""))
        if counts:
            found = json.loads(counts.read_text())
            print(f"database round trips per activity: {sum(found.values()) / len(timed):.2f}")
            for text, number in sorted(found.items(), key=lambda item: -item[1]):
                print(f"  {number / len(timed):6.3f}  {text}")
        print(f"parent peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")


if __name__ == "__main__":
    asyncio.run(main())
