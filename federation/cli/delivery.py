"""Delivery commands: ``worker`` (delivery, feed polling and the moderation webhook without
the web server), ``deliveries`` (the queue per host, :mod:`federation.delivery.hosts` as
``/admin/deliveries``; ``--retry``/``--drop HOST``; ``--purge`` deletes finished rows past
their retention), ``status`` (how the background loops of the running processes are doing)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from federation.cli.context import check_loopback_fetch, opened, services_for, settings_from

# The services, the ORM and the client are imported by the commands that use them:
# `federation --help` imports none of them.
if TYPE_CHECKING:
    from federation.web.loops import Loops


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = subparsers.add_parser(
        "worker", help="run a delivery worker, the feed poller and the moderation webhook (without the web server)",
        description="Deliver queued activities and poll due feeds until interrupted "
        "(SIGINT/SIGTERM: in-flight requests finish, the rest are given back). Several "
        "workers, on one machine or many, may share a PostgreSQL database; use one worker "
        "with SQLite. With `serve --no-worker`, run one `federation worker` so that feeds "
        "are polled and the moderation webhook (if configured) is called.",
    )
    worker.add_argument("--concurrency", type=int, default=None,
                        help="requests in flight at once (default: delivery.concurrency)")
    worker.add_argument("--no-feeds", dest="feeds", action="store_false",
                        help="do not poll feeds (another worker or `serve` polls them)")
    worker.set_defaults(handler=cmd_worker)

    queue = subparsers.add_parser(
        "deliveries", help="show the delivery queue per remote host",
        description="Per host: pending deliveries, how many of them already failed, whether "
        "the host is set aside, deliveries done, and the last error.",
    )
    queue.add_argument("--limit", type=int, default=50, help="hosts shown (most pending first)")
    queue.add_argument("--json", action="store_true", help="print JSON lines")
    queue.add_argument("--purge", action="store_true",
                       help="delete now the finished deliveries, done fanouts and idle healthy "
                       "hosts older than delivery.retention_days (workers do it hourly)")
    queue.add_argument("--retry", metavar="HOST",
                       help="make HOST's pending deliveries due now and forget its failures "
                       "(it is no longer set aside)")
    queue.add_argument("--drop", metavar="HOST",
                       help="abandon HOST's pending deliveries (they are never sent)")
    queue.set_defaults(handler=cmd_deliveries)

    status = subparsers.add_parser(
        "status", help="how the background loops of the running processes are doing",
        description="Read the status every `serve` and `federation worker` using this "
        "data_dir writes every 15 s: per process and loop, running or waiting to restart, "
        "restarts, the last error, the last success. Exit 0 when a process reported in the "
        "last 60 s and all its loops run, 1 otherwise (a healthcheck). The database is not "
        "opened: it works while the database is away.",
    )
    status.add_argument("--json", action="store_true", help="print JSON lines (one per process)")
    status.set_defaults(handler=cmd_status)


async def cmd_worker(args: argparse.Namespace) -> int:
    from federation.heap import settle_after_start
    from federation.web.loops import Loops

    settings = settings_from(args)
    await check_loopback_fetch(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    from federation.web.metrics import metrics_listener

    async with services_for(settings, sync=False) as services, metrics_listener(services):
        loops = Loops(services, feeds=args.feeds, concurrency=args.concurrency,
                      process="worker")
        assert loops.delivery is not None and loops.jobs is not None
        print(f"delivery worker {loops.delivery.owner} running"
              f"{', polling feeds' if args.feeds else ''}"
              f"{', sending moderation webhooks' if settings.moderation.webhook_url else ''}"
              f"; job worker {loops.jobs.owner}; Ctrl-C to stop")
        settle_after_start()
        await run_worker(loops, stop)
    return 0


async def run_worker(loops: Loops, stop: asyncio.Event) -> None:
    """Run the process's loops (the same list as ``serve``'s, :mod:`federation.web.loops`),
    supervised, until ``stop`` is set; then stop them gracefully."""
    async with loops.running():
        await stop.wait()


def cmd_status(args: argparse.Namespace) -> int:
    from federation.jobs import status as status_files

    settings = settings_from(args)
    now = datetime.now(UTC)
    processes = status_files.read_all(settings.data_dir, now)
    for process in processes:
        document = process.document
        if args.json:
            print(json.dumps({**document, "age_seconds": round(process.age.total_seconds(), 1),
                              "stale": process.stale}, ensure_ascii=False))
            continue
        print(f"{document.get('process')} pid {document.get('pid')}: written "
              f"{_ago(process.age)} ago{' (stale: gone or hung)' if process.stale else ''}")
        for loop in document.get("loops", []):
            state = "running" if loop.get("running") else "restarting"
            line = (f"  {loop.get('name', '?'):16} {state:10} restarts "
                    f"{loop.get('restarts', 0):<4} last success "
                    f"{_since(loop.get('last_success_at'), now)}")
            if loop.get("last_error"):
                line += (f"  last error {_since(loop.get('last_error_at'), now)}: "
                         f"{loop['last_error']}")
            print(line)
    problem = status_files.verdict(processes)
    if problem:
        print(f"federation: {problem}", file=sys.stderr)
        return 1
    return 0


def _ago(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _since(moment: str | None, now: datetime) -> str:
    if not moment:
        return "never"
    try:
        return f"{_ago(now - datetime.fromisoformat(moment))} ago"
    except (TypeError, ValueError):
        return "?"


async def cmd_deliveries(args: argparse.Namespace) -> int:
    from federation.delivery.hosts import drop_host, queue_by_host, retry_host
    from federation.delivery.retention import purge_finished

    settings = settings_from(args)
    async with opened(settings, sync=False):
        if args.retry:
            count = await retry_host(args.retry)
            print(f"{count} pending delivery(ies) to {args.retry} due now", file=sys.stderr)
        if args.drop:
            count = await drop_host(args.drop)
            print(f"{count} pending delivery(ies) to {args.drop} abandoned", file=sys.stderr)
        if args.purge:
            report = await purge_finished(datetime.now(UTC),
                                          timedelta(days=settings.delivery.retention_days))
            if args.json:
                print(json.dumps({"purged": asdict(report)}))
            else:
                print(f"purged {report.deliveries} delivery(ies), {report.fanouts} fanout(s), "
                      f"{report.hosts} host(s) finished more than "
                      f"{settings.delivery.retention_days} day(s) ago")
        lines = await queue_by_host(args.limit)
    if args.json:
        for line in lines:
            print(json.dumps(asdict(line), ensure_ascii=False))
        return 0
    if not lines:
        print("no deliveries yet")
        return 0
    print(f"{'host':40} {'pending':>8} {'failing':>8} {'aside':>5} {'delivered':>9} "
          f"{'failed':>6}  last error")
    for line in lines:
        print(f"{line.host[:40]:40} {line.pending:8} {line.failing:8} "
              f"{'yes' if line.set_aside else '':>5} {line.delivered:9} {line.failed:6}  "
              f"{line.last_error[:200]}")
    return 0
