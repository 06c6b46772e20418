"""Fanout throughput: one article to N followers on H hosts, delivered by one worker process.

Run: ``.venv/bin/python bench/fanout.py [--followers 10000] [--hosts 2000] [--shared]
[--database-url URL] [--ports 4] [--concurrency 256] [--signing-processes N] [--runs R]
[--large]``; ``--large`` is the 100,000 followers on 20,000 hosts case.

A separate receiver process serves ``--ports`` aiohttp apps on 127.0.0.1; every "host"
``hN.bench.test`` is mapped to one of them by a resolver given to the HardenedClient, so
thousands of hosts share a few real sockets. Receivers verify every signature (cavage, with the
sender's public key parsed once and cached, ``cryptography`` underneath) and the digest.

Prints, per run: the load average when it started, deliveries/s, total time (``send_activity``
to the last delivery recorded as delivered), CPU time per delivery of the worker process, of
its signing processes and of the receivers (read from ``/proc``, so other engineers' load on
the machine does not inflate it), peak RSS of each, and the worker's peak of open sockets
(counted in ``/proc/<pid>/fd`` every 0.25 s by a monitor process, so counting costs the worker
nothing). The followers are written by a child process, and the worker's peak RSS is counted
from the moment the fanout is sent (``/proc/self/clear_refs``), so it is the worker's own. The worker process waits for the
receivers' count before it reads the database, so the bench's polling costs it next to nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing
import os
import platform
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchdb import reset_if_postgres

from federation.db.delivery import DeliveryJob, DeliveryState
from federation.db.lifecycle import migrate_database, open_database
from federation.db.social import Follower, FollowState, RemoteActor
from federation.delivery.outbox import Audience, activity_uri, send_activity
from federation.delivery.worker import DeliveryWorker
from federation.heap import settle_after_start
from federation.identity.directory import ActorDirectory
from federation.remote.client import ClientPolicy, HardenedClient
from federation.settings import Settings, settings_from_mapping
from federation.signing.cavage import verify_request
from federation.signing.keys import KeyVault, load_public_key_pem

SENDER = "collectif"
#: Whether this process settled its heap already (the first run does, as a server's start).
SETTLED: list[bool] = []


class BenchResolver(AbstractResolver):
    """Every ``*.bench.test`` name resolves to 127.0.0.1."""

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[dict[str, Any]]:
        if not host.endswith(".bench.test"):
            raise OSError(f"unknown bench host {host}")
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        return None


def process_cpu(pid: int | str = "self") -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads_cpu() -> dict[int, float]:
    """CPU seconds used so far by each thread of this process (``/proc/self/task``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    result = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        result[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return result


def peak_rss_mib(pid: int | str = "self") -> float:
    """Peak resident memory (VmHWM) of process ``pid``, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def count_sockets(pid: int) -> int:
    """Open sockets of process ``pid`` (its ``/proc/<pid>/fd`` entries that are sockets)."""
    count = 0
    directory = f"/proc/{pid}/fd"
    for name in os.listdir(directory):
        try:
            if os.readlink(f"{directory}/{name}").startswith("socket:"):
                count += 1
        except OSError:  # closed meanwhile
            continue
    return count


def run_socket_monitor(pid: int, peak: Any, stop: Any) -> None:
    """Monitor process: the peak count of ``pid``'s open sockets, sampled every 0.25 s."""
    while not stop.wait(0.25):
        try:
            peak.value = max(peak.value, count_sockets(pid))
        except OSError:
            return


def reset_peak_rss() -> None:
    """Start counting this process's peak RSS (VmHWM) afresh (Linux: ``clear_refs`` 5)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def run_receivers(ports: list[int], key_pem: str, ready: Any, counts: Any) -> None:
    """Receiver process: verify and count every delivery on every port."""
    public_key = load_public_key_pem(key_pem)  # parsed once: the cache

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify_request("POST", request.path_qs, request.headers, public_key, body=body)
        except Exception:  # count any refusal
            with counts.get_lock():
                counts[1] += 1
            return web.Response(status=401)
        with counts.get_lock():
            counts[0] += 1
        return web.Response(status=202)

    async def main() -> None:
        runners = []
        for port in ports:
            app = web.Application()
            app.router.add_post("/{tail:.*}", handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
            runners.append(runner)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


async def populate(directory: ActorDirectory, followers: int, hosts: int, ports: list[int],
                   shared: bool) -> None:
    now = datetime.now(UTC)
    remotes = []
    for n in range(followers):
        host = f"h{n % hosts}.bench.test:{ports[n % hosts % len(ports)]}"
        remotes.append(RemoteActor(
            uri=f"http://{host}/users/u{n}", domain=host.split(":")[0],
            inbox=f"http://{host}/users/u{n}/inbox",
            shared_inbox=f"http://{host}/inbox" if shared else None, fetched_at=now))
    await RemoteActor.bulk_create(remotes, batch_size=1000)
    ids = await RemoteActor.all().values_list("id", flat=True)
    actor_id = directory.get(SENDER).db_id
    await Follower.bulk_create(
        [Follower(actor_id=actor_id, remote_id=i, state=FollowState.ACCEPTED,
                  follow_activity_uri=f"urn:follow:{i}") for i in ids], batch_size=1000)


def bench_settings(args: argparse.Namespace, url: str, workdir: Path) -> Settings:
    return settings_from_mapping({
        "base_url": "https://bridge.example", "database_url": url, "data_dir": str(workdir),
        "allow_loopback_fetch": True,
        "site": {"name": "Bench", "home_page": "https://site.example/"},
        "site_actor": {"identifier": "site", "username": "site", "name": "Site"},
        "collectives": [{"identifier": SENDER, "username": SENDER, "name": "Collectif"}],
        "delivery": {"concurrency": args.concurrency, "batch_size": args.batch,
                     "signing_processes": args.signing_processes,
                     **({"max_connections": args.max_connections} if args.max_connections else {})},
    })


def run_populate(args: argparse.Namespace, url: str, workdir: Path, ports: list[int]) -> None:
    """Child process: the followers are written here, not in the worker's process."""

    async def main() -> None:
        async with open_database(url):
            directory = ActorDirectory(bench_settings(args, url, workdir),
                                       KeyVault.load_or_create(workdir))
            await directory.sync()
            await populate(directory, args.followers, args.hosts, ports, args.shared)

    asyncio.run(main())


async def bench(args: argparse.Namespace, ports: list[int], key_ready: Any,
                counts: Any) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="fanout-bench-"))
    url = args.database_url or f"sqlite://{workdir / 'bench.sqlite3'}"
    settings = bench_settings(args, url, workdir)
    await reset_if_postgres(url)
    await migrate_database(url)
    filler = multiprocessing.Process(target=run_populate, args=(args, url, workdir, ports))
    filler.start()
    await asyncio.to_thread(filler.join)
    if filler.exitcode != 0:
        raise SystemExit("writing the followers failed")
    async with open_database(url):
        directory = ActorDirectory(settings, KeyVault.load_or_create(workdir))
        await directory.sync()
        sender = directory.get(SENDER)
        key_ready(sender.rsa_public_pem)
        policy = ClientPolicy(allow_loopback=True, limit=settings.delivery.max_connections,
                              limit_per_host=settings.delivery.per_host_concurrency)
        async with HardenedClient(policy, resolver=BenchResolver()) as client:
            worker = DeliveryWorker(settings, directory, client, poll_interval=0.05)
            article = {"id": "https://bridge.example/objects/article/1", "type": "Article",
                       "name": "Débat", "content": "<p>" + "Texte intégral. " * 120 + "</p>"}
            activity = {"@context": "https://www.w3.org/ns/activitystreams",
                        "id": activity_uri(directory, "create"), "type": "Create",
                        "actor": sender.uri, "object": article,
                        "to": ["https://www.w3.org/ns/activitystreams#Public"]}
            stop = asyncio.Event()
            receivers_pid = key_ready.pid  # type: ignore[attr-defined]
            peak_sockets, monitor_stop = multiprocessing.Value("l", 0), multiprocessing.Event()
            monitor = multiprocessing.Process(target=run_socket_monitor,
                                              args=(os.getpid(), peak_sockets, monitor_stop))
            monitor.start()
            if not SETTLED:  # as `serve` and `worker` do once they have started: once
                settle_after_start()  # (again, it would freeze the last run's garbage too)
                SETTLED.append(True)
            else:
                gc.collect()
            reset_peak_rss()
            cpu_before, receivers_before = process_cpu(), process_cpu(receivers_pid)
            threads_before = threads_cpu()
            started = time.perf_counter()
            await send_activity(activity, sender=sender, audience=Audience(followers_of=SENDER))
            task = asyncio.create_task(worker.run_forever(stop))
            expected = args.shared and args.hosts or args.followers
            while True:
                await asyncio.sleep(0.02)
                if task.done():
                    task.result()
                if counts[0] + counts[1] < expected:
                    continue
                if not await DeliveryJob.exclude(state=DeliveryState.DELIVERED).exists():
                    break
            elapsed = time.perf_counter() - started
            worker_rss = peak_rss_mib()
            monitor_stop.set()
            await asyncio.to_thread(monitor.join)
            total = await DeliveryJob.all().count()
            cpu = process_cpu() - cpu_before
            main_thread = threading.get_native_id()
            others_cpu = sum(spent - threads_before.get(tid, 0.0)
                             for tid, spent in threads_cpu().items() if tid != main_thread)
            receivers_cpu = process_cpu(receivers_pid) - receivers_before
            signer_pids = worker._signer.pids()
            signers_cpu = sum(process_cpu(pid) for pid in signer_pids)
            signers_rss = max((peak_rss_mib(pid) for pid in signer_pids), default=0.0)
            receivers_rss = peak_rss_mib(receivers_pid)
            connector = client._ensure_session().connector
            connections = getattr(connector, "connections_made", 0)
            spills = getattr(worker, "spills", 0)
            stop.set()
            await task
    return {"deliveries": float(total or 0), "seconds": elapsed, "cpu": cpu,
            "others_cpu": others_cpu, "signers_cpu": signers_cpu, "signers": len(signer_pids), "signers_rss": signers_rss,
            "receivers_cpu": receivers_cpu, "receivers_rss": receivers_rss,
            "worker_rss": worker_rss, "sockets": peak_sockets.value,
            "connections": connections, "spills": spills}


def run_once(args: argparse.Namespace) -> tuple[dict[str, Any], int, int]:
    """One bench run in fresh receivers; returns the figures and the receivers' counts."""
    ports = free_ports(args.ports)
    ready, counts = multiprocessing.Event(), multiprocessing.Array("l", 2)
    receivers: list[multiprocessing.Process] = []

    def start_receivers(key_pem: str) -> None:
        process = multiprocessing.Process(target=run_receivers, args=(ports, key_pem, ready, counts),
                                          daemon=True)
        process.start()
        receivers.append(process)
        if not ready.wait(10):
            raise SystemExit("receivers did not start")
        start_receivers.pid = process.pid  # type: ignore[attr-defined]

    try:
        result = asyncio.run(bench(args, ports, start_receivers, counts))
    finally:
        for process in receivers:
            process.terminate()
            process.join()
    return result, counts[0], counts[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=2_000)
    parser.add_argument("--shared", action="store_true", help="followers use per-host shared inboxes")
    parser.add_argument("--ports", type=int, default=4, help="real receiver sockets")
    parser.add_argument("--large", action="store_true",
                        help="the 100,000 followers on 20,000 hosts case")
    parser.add_argument("--max-connections", type=int, default=0,
                        help="[delivery] max_connections (0: the setting's default)")
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--signing-processes", type=int, default=0,
                        help="[delivery] signing_processes (0: sign in the worker process)")
    parser.add_argument("--runs", type=int, default=1, help="repeat, then print best and median")
    parser.add_argument("--database-url", default=None,
                        help="default: a fresh SQLite file; a PostgreSQL database is emptied first")
    args = parser.parse_args()
    if args.large:
        args.followers, args.hosts = 100_000, 20_000
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU, "
          f"Python {platform.python_version()}, {'PostgreSQL' if args.database_url else 'SQLite'}; "
          f"followers {args.followers} on {args.hosts} hosts "
          f"({'shared' if args.shared else 'personal'} inboxes), concurrency {args.concurrency}, "
          f"batch {args.batch}, signing processes {args.signing_processes}")
    rates, ok = [], True
    for run in range(1, args.runs + 1):
        load = os.getloadavg()[0]
        result, verified, refused = run_once(args)
        n = max(result["deliveries"], 1)
        rate = result["deliveries"] / result["seconds"]
        rates.append((rate, result["seconds"], load))
        ok = ok and refused == 0 and verified >= result["deliveries"]
        worker_ms = result["cpu"] / n * 1000
        signers_ms = result["signers_cpu"] / n * 1000
        print(f"run {run}: load average at start {load:.1f}; {int(result['deliveries'])} deliveries "
              f"({verified} verified, {refused} refused) in {result['seconds']:.2f} s = {rate:.0f}/s; "
              f"CPU per delivery: worker {worker_ms:.2f} ms (database "
              f"thread(s) {result['others_cpu'] / n * 1000:.2f} ms) + signing {signers_ms:.2f} ms "
              f"({result['signers']} process(es)) = {worker_ms + signers_ms:.2f} ms, receivers "
              f"{result['receivers_cpu'] / n * 1000:.2f} ms; peak RSS: worker "
              f"{result['worker_rss']:.0f} MiB, signing "
              f"{result['signers_rss']:.0f} MiB each, receivers {result['receivers_rss']:.0f} MiB; "
              f"peak open sockets: worker {result['sockets']}; connections opened "
              f"{result['connections']} ({result['spills']} second slots)")
    if len(rates) > 1:
        ordered = sorted(rates, reverse=True)
        best, median = ordered[0], ordered[len(ordered) // 2]
        print(f"best {best[0]:.0f}/s ({best[1]:.2f} s, load {best[2]:.1f}); "
              f"median {median[0]:.0f}/s ({median[1]:.2f} s, load {median[2]:.1f})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
