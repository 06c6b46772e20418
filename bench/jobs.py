"""Job engine claim: the cost of one claim as the due backlog grows.

``.venv/bin/python bench/jobs.py [--backlogs 1000,10000,100000] [--keys 200] [--claims 100]
[--limit 8] [--per-key 4] [--case spread|hung] [--database-url URL]``

For each backlog, a fresh database (a SQLite file, or the PostgreSQL database given, emptied
first) holds that many due jobs of one kind:

- ``spread``: queued round-robin over ``--keys`` keys, one second apart (many senders);
- ``hung``: all of them on one key that is at its cap (``--per-key`` jobs running: a hung
  host), and 5 newer due jobs on each of ``--keys`` - 1 other keys.

Then ``--claims`` claims of ``--limit`` jobs (cap ``--per-key``, as ``inbox.activity``) are
made one after the other, each claimed job finished (done) before the next claim, as a worker
draining the queue does. Printed per backlog: wall time and CPU time per claim (median and
mean) — CPU of this process (SQLite runs in it) plus, on PostgreSQL, of the server processes
serving this database (``time.process_time`` and ``/proc/<pid>/schedstat``, so other work on the machine does
not count) —
and the load average when the backlog's claims started. PostgreSQL runs ``ANALYZE`` after the
backlog is written (autovacuum would).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchdb import reset_if_postgres

from federation.db.jobs import Job, JobState
from federation.db.lifecycle import migrate_database, open_database
from federation.jobs import store
from federation.jobs.graph import ONE_SHOT, Event

KIND = "inbox.activity"
LEASE = timedelta(minutes=5)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by (single-threaded) process ``pid``, in nanoseconds' detail
    (``/proc/<pid>/schedstat``; ``/proc/<pid>/stat`` counts in 10 ms ticks)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


async def server_pids() -> list[int]:
    """PostgreSQL: the server processes serving this database (our connections)."""
    connection = Job._meta.db
    if connection.capabilities.dialect != "postgres":
        return []
    rows = await connection.execute_query_dict(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return [int(row["pid"]) for row in rows]


def cpu_of(pids: list[int]) -> float:
    """CPU seconds of this process (all threads: SQLite's too) and of ``pids``."""
    total = time.process_time()
    for pid in pids:
        try:
            total += server_cpu(pid)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


async def fill(case: str, backlog: int, keys: int, per_key: int) -> None:
    start = NOW - timedelta(seconds=backlog + 3600)
    if case == "spread":
        rows = [(f"k{n % keys}.example", start + timedelta(seconds=n), JobState.PENDING)
                for n in range(backlog)]
    else:
        rows = [("hung.example", start + timedelta(seconds=n), JobState.PENDING)
                for n in range(backlog)]
        rows += [("hung.example", start, JobState.RUNNING)] * per_key
        rows += [(f"k{n}.example", NOW - timedelta(seconds=10 + i), JobState.PENDING)
                 for n in range(1, keys) for i in range(5)]
    for chunk in range(0, len(rows), 5000):
        await Job.bulk_create([
            Job(kind=KIND, key=key, state=state, payload={"n": 1}, next_attempt_at=at,
                lease_owner="hung/1" if state is JobState.RUNNING else None,
                lease_expires_at=NOW + timedelta(days=1) if state is JobState.RUNNING else None)
            for key, at, state in rows[chunk:chunk + 5000]], batch_size=1000)
    if Job._meta.db.capabilities.dialect == "postgres":
        await Job._meta.db.execute_script("ANALYZE jobs")


async def measure(args: argparse.Namespace, url: str, backlog: int) -> None:
    await reset_if_postgres(url)
    await migrate_database(url)
    async with open_database(url):
        await fill(args.case, backlog, args.keys, args.per_key)
        tokens = store.LeaseTokens("bench")
        pids = await server_pids()
        load = os.getloadavg()[0]
        walls, cpus, claimed = [], [], 0
        for _ in range(args.claims):
            cpu, wall = cpu_of(pids), time.perf_counter()
            jobs = await store.claim(KIND, tokens.next(), NOW, LEASE, args.limit,
                                     per_key=args.per_key)
            walls.append(time.perf_counter() - wall)
            cpus.append(cpu_of(pids) - cpu)
            claimed += len(jobs)
            for job in jobs:
                await store.finish(job, ONE_SHOT, Event.SUCCEED, NOW)
        print(f"backlog {backlog:>7,} ({args.case}, {args.keys} keys): load average {load:.1f}; "
              f"{args.claims} claims took {claimed} jobs; per claim: wall median "
              f"{statistics.median(walls) * 1000:.2f} ms (mean {statistics.mean(walls) * 1000:.2f}),"
              f" CPU median {statistics.median(cpus) * 1000:.2f} ms "
              f"(mean {statistics.mean(cpus) * 1000:.2f})", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlogs", default="1000,10000,100000",
                        help="due jobs, comma-separated")
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--claims", type=int, default=100)
    parser.add_argument("--limit", type=int, default=8, help="jobs per claim (a worker's room)")
    parser.add_argument("--per-key", type=int, default=4)
    parser.add_argument("--case", choices=("spread", "hung"), default="spread")
    parser.add_argument("--database-url", default=None,
                        help="default: a fresh SQLite file; a PostgreSQL database is emptied first")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU, "
          f"Python {platform.python_version()}, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}; claims of {args.limit}, "
          f"cap {args.per_key} per key; code: {Path(store.__file__).resolve().parents[2]}")
    for backlog in (int(b) for b in args.backlogs.split(",")):
        with tempfile.TemporaryDirectory() as workdir:
            url = args.database_url or f"sqlite://{workdir}/bench.sqlite3"
            asyncio.run(measure(args, url, backlog))
    return 0


if __name__ == "__main__":
    sys.exit(main())
