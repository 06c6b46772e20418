"""Delivery commands: ``worker`` (run delivery workers alone), ``deliveries`` (the queue per host)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from dataclasses import asdict, dataclass

from tortoise.functions import Count

from federation.cli.context import opened, settings_from
from federation.db.delivery import DeliveryJob, DeliveryState, HostHealth
from federation.delivery.worker import DeliveryWorker
from federation.remote.client import ClientPolicy, HardenedClient


def register(subparsers: argparse._SubParsersAction) -> None:
    worker = subparsers.add_parser(
        "worker", help="run a delivery worker (without the web server)",
        description="Deliver queued activities until interrupted (SIGINT/SIGTERM: in-flight "
        "requests finish, the rest are given back). Several workers, on one machine or many, "
        "may share a PostgreSQL database; use one worker with SQLite.",
    )
    worker.add_argument("--concurrency", type=int, default=None,
                        help="requests in flight at once (default: delivery.concurrency)")
    worker.set_defaults(handler=cmd_worker)

    queue = subparsers.add_parser(
        "deliveries", help="show the delivery queue per remote host",
        description="Per host: pending deliveries, how many of them already failed, whether "
        "the host is set aside, deliveries done, and the last error.",
    )
    queue.add_argument("--limit", type=int, default=50, help="hosts shown (most pending first)")
    queue.add_argument("--json", action="store_true", help="print JSON lines")
    queue.set_defaults(handler=cmd_deliveries)


async def cmd_worker(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with opened(settings, sync=False) as directory:
        policy = ClientPolicy(allow_loopback=settings.allow_loopback_fetch)
        async with HardenedClient(policy) as client:
            worker = DeliveryWorker(settings, directory, client, concurrency=args.concurrency)
            print(f"delivery worker {worker.owner} running; Ctrl-C to stop")
            await worker.run_forever(stop)
    return 0


@dataclass
class HostLine:
    """One host's line in ``federation deliveries``."""

    host: str
    pending: int = 0
    failing: int = 0
    delivered: int = 0
    failed: int = 0
    set_aside: bool = False
    last_error: str = ""


async def queue_by_host(limit: int) -> list[HostLine]:
    """The queue summarised per host, most pending first."""
    lines: dict[str, HostLine] = {}
    counts = await DeliveryJob.annotate(n=Count("id")).group_by("host", "state").values_list(
        "host", "state", "n"
    )
    for host, state, n in counts:
        line = lines.setdefault(host, HostLine(host))
        if state in (DeliveryState.PENDING, DeliveryState.SENDING):
            line.pending += n
        elif state == DeliveryState.DELIVERED:
            line.delivered += n
        else:
            line.failed += n
    failing = await DeliveryJob.filter(
        state__in=[DeliveryState.PENDING, DeliveryState.SENDING], last_error__isnull=False
    ).annotate(n=Count("id")).group_by("host").values_list("host", "n")
    for host, n in failing:
        lines.setdefault(host, HostLine(host)).failing = n
    for health in await HostHealth.filter(host__in=list(lines)):
        line = lines[health.host]
        line.set_aside = health.unavailable
        line.last_error = health.last_error or ""
    ordered = sorted(lines.values(), key=lambda line: (-line.pending, -line.failing, line.host))
    return ordered[:limit]


async def cmd_deliveries(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with opened(settings, sync=False):
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
              f"{line.last_error[:60]}")
    return 0
