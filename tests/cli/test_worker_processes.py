"""`federation worker` processes sharing one queue: no job sent twice at once (PostgreSQL, SKIP
LOCKED), a killed worker's jobs taken up after their lease, a stopped worker's jobs given back,
in-flight requests finished on SIGTERM.

Real ``python -m federation worker --no-feeds`` processes deliver to loopback inboxes served by
the test; the inboxes verify every signature with the ``httpsig`` package (not our code). A
``Gate`` shared by the inboxes holds requests while closed, so the tests know which worker holds
what (read from the queue's lease owners and the workers' output), without relying on timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from federation.db.delivery import DeliveryJob, DeliveryState
from federation.db.lifecycle import open_database
from federation.delivery.outbox import Audience, activity_uri, send_activity
from federation.identity.directory import ActorDirectory, open_vault
from federation.settings import Settings
from tests.cli.conftest import clean_env
from tests.config_toml import update_config
from tests.delivery.conftest import Peer, Received

pytestmark = pytest.mark.slow

SENDER = "halte-au-controle-numerique"
#: Upper bound on every wait (polling): only reached when something is broken.
PATIENCE = 30.0
POLL = 0.05
#: The shortest lease the settings allow (``delivery.lease_seconds``).
LEASE_SECONDS = 10
#: Requests a worker has in flight per host (``delivery.per_host_concurrency``, the default).
PER_HOST = 2
SQLITE_SKIP = ("one worker per SQLite database is the documented rule (`federation worker "
               "--help`): concurrent worker processes need PostgreSQL")
CRASH_SKIP = ("SQLite: the crash scenario waits out the 10 s minimum lease, so it runs once, on "
              "PostgreSQL (the lease code is shared; tests/delivery/test_leases.py covers both "
              "databases in one process)")
DELIVERED_LINE = re.compile(r"delivery (\d+) of activity \d+ to \S+, attempt \d+: delivered")
OWNER_LINE = re.compile(r"delivery worker (\S+) running")


@dataclass
class Gate:
    """Shared by the inboxes: while closed, requests wait (and are noted in ``held``).

    Opened with ``abandon``, the requests it held get no 2xx (their sender is dead: the
    delivery is lost and must be sent again); otherwise they are accepted.
    """

    opened: asyncio.Event = field(default_factory=asyncio.Event)
    held: list[tuple[str, str]] = field(default_factory=list)
    abandon: bool = False

    def open(self, *, abandon: bool = False) -> None:
        self.abandon = abandon
        self.opened.set()


@dataclass
class Inbox(Peer):
    """A loopback server whose every path is an inbox; verified by httpsig (``Peer._verify``)."""

    gate: Gate = field(default_factory=Gate)
    delay: float = 0.0
    received_at: dict[str, datetime] = field(default_factory=dict)

    async def respond(self, request: web.Request, body: bytes, key_id: str) -> web.StreamResponse:
        if not self.gate.opened.is_set():
            self.gate.held.append((self.host, request.path))
            await self.gate.opened.wait()
            if self.gate.abandon:
                return web.Response(status=503)
        await asyncio.sleep(self.delay)
        self.received.append(Received(request.path, request.host, key_id, json.loads(body)["id"]))
        self.received_at.setdefault(request.path, datetime.now(UTC))
        return web.Response(status=202)


@dataclass
class Worker:
    """A ``federation worker`` process; its stdout and stderr go to files (no pipe to fill)."""

    name: str
    process: asyncio.subprocess.Process
    stdout: Path
    stderr: Path
    files: list[IO[bytes]]

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def check_alive(self) -> None:
        if self.process.returncode is not None:
            raise AssertionError(f"worker {self.name} exited with {self.process.returncode}:\n"
                                 f"{self.output()[-3000:]}")

    async def owner(self) -> str:
        """The lease owner the worker printed at start (its tokens are ``<owner>/<n>``)."""
        found: list[str] = []

        async def printed() -> bool:
            self.check_alive()
            found[:] = OWNER_LINE.findall(self.stdout.read_text(errors="replace"))
            return bool(found)

        await until(printed, f"worker {self.name} to start", self)
        return found[0]

    def delivered(self) -> set[int]:
        """Ids of the deliveries this worker logged as delivered (``-v``: debug lines)."""
        ids = [int(n) for n in DELIVERED_LINE.findall(self.stderr.read_text(errors="replace"))]
        assert len(ids) == len(set(ids)), f"worker {self.name} delivered a job twice"
        return set(ids)

    async def stop(self, signum: signal.Signals = signal.SIGTERM) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signum)
        return await asyncio.wait_for(self.process.wait(), PATIENCE)

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        for file in self.files:
            file.close()


async def until(condition: Callable[[], Awaitable[bool]], what: str, *workers: Worker) -> None:
    """Poll ``condition`` until true (bounded by PATIENCE); a worker that dies fails at once."""
    try:
        async with asyncio.timeout(PATIENCE):
            while True:
                for worker in workers:
                    worker.check_alive()
                if await condition():
                    return
                await asyncio.sleep(POLL)
    except TimeoutError:
        outputs = "\n".join(f"--- {w.name}:\n{w.output()[-2000:]}" for w in workers)
        raise AssertionError(f"timed out waiting for {what}\n{outputs}") from None


@dataclass
class Bench:
    """Config, database, local actors and inboxes of one test; starts worker processes."""

    tmp_path: Path
    config: Path
    directory: ActorDirectory
    gate: Gate
    inboxes: list[Inbox] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    async def send(self, per_inbox_server: int) -> set[tuple[str, str]]:
        """Queue one activity to ``per_inbox_server`` inboxes on each server; return them."""
        targets = {(i.host, f"/users/{n}/inbox") for i in self.inboxes
                   for n in range(per_inbox_server)}
        sender = self.directory.get(SENDER)
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": activity_uri(self.directory, "Create"), "type": "Create",
            "actor": sender.uri, "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {"id": "https://bridge.example/objects/article/1", "type": "Article",
                       "name": "Débat « numérisation »"},
        }
        audience = Audience(inboxes=tuple(sorted(f"http://{h}{p}" for h, p in targets)))
        await send_activity(activity, sender=sender, audience=audience)
        return targets

    async def start(self, name: str, *options: str) -> Worker:
        stdout, stderr = self.tmp_path / f"{name}.out", self.tmp_path / f"{name}.err"
        files = [stdout.open("wb"), stderr.open("wb")]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "federation", "--config", str(self.config), *options,
            "worker", "--no-feeds", cwd=self.tmp_path, env=clean_env(),
            stdin=asyncio.subprocess.DEVNULL, stdout=files[0], stderr=files[1])
        worker = Worker(name, process, stdout, stderr, files)
        self.workers.append(worker)
        return worker

    def received(self) -> list[tuple[str, str]]:
        return [(i.host, r.path) for i in self.inboxes for r in i.received]

    def refused(self) -> list[str]:
        return [r for i in self.inboxes for r in i.refused]

    def received_at(self, host: str, path: str) -> datetime:
        return next(i.received_at[path] for i in self.inboxes if i.host == host)


@contextlib.asynccontextmanager
async def bench(tmp_path: Path, ready_config: Path, database_url: str, settings: Settings,
                servers: int, delay: float = 0.0) -> AsyncIterator[Bench]:
    """``servers`` inbox servers, the config with loopback deliveries and the shortest lease."""
    update_config(ready_config, allow_loopback_fetch=True, delivery={
        "lease_seconds": LEASE_SECONDS, "per_host_concurrency": PER_HOST})
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(open_database(database_url))
        directory = ActorDirectory(settings, open_vault(settings.data_dir))
        await directory.load()
        keys = {a.key_id: a.rsa_public_pem for a in directory.all()}
        gate = Gate()
        setup = Bench(tmp_path, ready_config, directory, gate)
        for _ in range(servers):
            inbox = Inbox(keys, gate=gate, delay=delay)
            app = web.Application()
            app.router.add_post("/{tail:.*}", inbox.handle)
            server = await stack.enter_async_context(TestServer(app, host="127.0.0.1"))
            inbox.base_url = f"http://127.0.0.1:{server.port}"
            setup.inboxes.append(inbox)
        try:
            yield setup
        finally:
            gate.open(abandon=True)  # no handler left waiting when the servers close
            for worker in setup.workers:
                await worker.close()


async def count(state: DeliveryState) -> int:
    return await DeliveryJob.filter(state=state).count()


async def jobs() -> dict[tuple[str, str], DeliveryJob]:
    """Every delivery by (host, path) of its inbox."""
    rows = await DeliveryJob.all()
    return {(urlsplit(r.inbox_url).netloc, urlsplit(r.inbox_url).path): r for r in rows}


def owner_of(row: DeliveryJob) -> str:
    return (row.lease_owner or "").split("/", 1)[0]


async def test_worker_processes_never_send_a_job_twice(tmp_path: Path, database_url: str,
                                                       ready_config: Path, settings: Settings) -> None:
    """Three worker processes drain 300 deliveries from one PostgreSQL queue together: each
    holds leases at once, each delivers some, no job is sent by two of them, every inbox
    receives the activity exactly once (signature verified by httpsig)."""
    if database_url.startswith("sqlite"):
        pytest.skip(SQLITE_SKIP)
    async with bench(tmp_path, ready_config, database_url, settings, servers=4,
                     delay=0.005) as setup:
        targets = await setup.send(75)
        workers = [await setup.start(f"worker-{n}", "-v") for n in range(3)]
        owners = {await w.owner(): w for w in workers}
        assert len(owners) == 3

        async def all_hold_leases() -> bool:  # the inboxes hold the requests meanwhile
            sending = await DeliveryJob.filter(state=DeliveryState.SENDING)
            return {owner_of(r) for r in sending} == owners.keys()

        await until(all_hold_leases, "every worker to hold leases", *workers)
        setup.gate.open()

        async def all_delivered() -> bool:
            return await count(DeliveryState.DELIVERED) == len(targets)

        await until(all_delivered, "every delivery", *workers)
        assert [await w.stop() for w in workers] == [0, 0, 0]
        rows = await DeliveryJob.all()

    assert setup.refused() == []
    received = setup.received()
    twice = sorted(k for k, n in Counter(received).items() if n > 1)
    assert not twice, f"{len(twice)} inbox(es) received the activity more than once: {twice[:5]}"
    assert set(received) == targets
    assert {(r.state, r.attempts, r.lease_owner) for r in rows} == {
        (DeliveryState.DELIVERED, 1, None)}
    by_worker = [w.delivered() for w in workers]
    assert all(by_worker), [len(ids) for ids in by_worker]  # each process delivered some
    assert sum(len(ids) for ids in by_worker) == len(rows)  # ... and none twice
    assert set().union(*by_worker) == {r.id for r in rows}


async def test_killed_worker_jobs_wait_for_their_lease_stopped_worker_gives_its_back(
        tmp_path: Path, database_url: str, ready_config: Path, settings: Settings) -> None:
    """Worker processes one after another, requests hanging: the first is killed (SIGKILL); the
    second leaves its leases alone, is stopped (SIGTERM) and after the shutdown grace gives its
    own jobs back (pending, attempt not counted) and exits 0; the third takes up the killed
    worker's jobs (their lease expired) and delivers everything: each inbox exactly once."""
    if database_url.startswith("sqlite"):
        pytest.skip(CRASH_SKIP)
    async with bench(tmp_path, ready_config, database_url, settings, servers=2) as setup:
        targets = await setup.send(10)
        per_worker = PER_HOST * len(setup.inboxes)  # requests a worker has in flight

        def held(n: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return len(setup.gate.held) >= n
            return check

        killed = await setup.start("killed")
        killed_owner = await killed.owner()
        await until(held(per_worker), "the first worker's requests", killed)
        leased = {k: r for k, r in (await jobs()).items() if r.state == DeliveryState.SENDING}
        assert {owner_of(r) for r in leased.values()} == {killed_owner}
        assert set(setup.gate.held) <= leased.keys()
        assert await killed.stop(signal.SIGKILL) == -signal.SIGKILL

        stopped = await setup.start("stopped")
        stopped_owner = await stopped.owner()
        await until(held(2 * per_worker), "the second worker's requests", stopped)
        rows = await jobs()
        given = {k for k, r in rows.items() if owner_of(r) == stopped_owner}
        assert len(given) >= per_worker and not given & leased.keys()
        assert await stopped.stop() == 0  # after the shutdown grace: its requests never end
        assert f"released {len(given)} lease(s)" in stopped.output()
        rows = await jobs()
        assert {(rows[k].state, rows[k].attempts, rows[k].lease_owner) for k in given} == {
            (DeliveryState.PENDING, 0, None)}
        for where, row in leased.items():  # the killed worker's leases are left alone
            now = rows[where]
            assert (now.state, now.lease_owner, now.lease_expires_at) == (
                DeliveryState.SENDING, row.lease_owner, row.lease_expires_at), where
        setup.gate.open(abandon=True)  # the dead workers never get their answers

        survivor = await setup.start("survivor")

        async def all_delivered() -> bool:
            return await count(DeliveryState.DELIVERED) == len(targets)

        await until(all_delivered, "every delivery", survivor)
        assert await survivor.stop() == 0
        rows = await jobs()

    assert setup.refused() == []
    assert sorted(setup.received()) == sorted(targets)  # each inbox once (held ones were lost)
    assert {r.state for r in rows.values()} == {DeliveryState.DELIVERED}
    for where, row in rows.items():  # attempts are counted at claim: the lost one stays counted
        assert row.attempts == (2 if where in leased else 1), where
    for where, row in leased.items():
        assert setup.received_at(*where) > row.lease_expires_at, where


async def test_sigterm_finishes_in_flight_requests_and_exits_0(
        tmp_path: Path, database_url: str, ready_config: Path, settings: Settings) -> None:
    """SIGTERM while requests are in flight, then they are answered: they are recorded
    delivered, no job is left leased, the others stay pending and due, the exit code is 0."""
    async with bench(tmp_path, ready_config, database_url, settings, servers=2) as setup:
        await setup.send(6)
        worker = await setup.start("worker")

        async def requests_held() -> bool:
            return len(setup.gate.held) == PER_HOST * len(setup.inboxes)

        await until(requests_held, "the worker's requests", worker)
        in_flight = set(setup.gate.held)
        worker.process.send_signal(signal.SIGTERM)
        # Lets the worker see the signal before the answers come (the usual order); the
        # assertions below hold in either order.
        await asyncio.sleep(0.3)
        setup.gate.open()
        assert await worker.stop() == 0
        assert "stopped" in worker.output()
        rows = await jobs()

    delivered = {k for k, r in rows.items() if r.state == DeliveryState.DELIVERED}
    assert in_flight <= delivered
    assert sorted(setup.received()) == sorted(delivered)
    assert setup.refused() == []
    now = datetime.now(UTC)
    for where, row in rows.items():
        if where not in delivered:
            assert (row.state, row.attempts, row.lease_owner) == (
                DeliveryState.PENDING, 0, None), where
            assert row.next_attempt_at <= now, where
