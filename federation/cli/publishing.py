"""Content commands: ``publish``, ``import``, ``tokens``, ``feeds``, ``demo``.

``publish FILE`` sends one item (the push API's JSON, with ``type``, ``actor`` and ``id``) to
followers. ``import`` backfills history from a feed or a JSON file: it goes to the outbox
*without being delivered* unless ``--deliver`` is given, so followers' timelines are not
flooded with old articles. ``demo`` publishes sample content modelled on the site (never
delivered).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from federation.cli.context import opened, services_for, settings_from
from federation.cli.output import add_json_flag, emit
from federation.db.vocabulary import FeedKind
from federation.errors import (
    BadRequest,
    FederationError,
    NotFound,
    Problem,
    Unprocessable,
)
from federation.settings import Settings

# The services (ingest, publishing), the client and tqdm are imported by the commands that use
# them: `federation --help` imports none of them.
if TYPE_CHECKING:
    from federation.publishing.items import ContentItem
    from federation.publishing.service import Publisher

MAX_FILE_BYTES = 50_000_000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    publish = subparsers.add_parser(
        "publish", help="publish one article or event from a JSON file",
        description="Publish the item in FILE (the push API's JSON with \"type\", \"actor\" and "
        "\"id\"; '-' reads stdin). The same item twice changes nothing; a changed one is sent "
        "as an Update. Followers receive it through the delivery worker.",
    )
    publish.add_argument("file", metavar="FILE")
    publish.set_defaults(handler=cmd_publish)

    backfill = subparsers.add_parser(
        "import", help="backfill history from a feed or a JSON file (not delivered)",
        description="Record past articles/events in an actor's outbox. Nothing is delivered "
        "to followers unless --deliver is given. Items already imported are skipped.",
    )
    source = backfill.add_mutually_exclusive_group(required=True)
    source.add_argument("--feed", metavar="URL", help="an RSS, Atom, JSON Feed or iCal URL")
    source.add_argument("--file", metavar="PATH", help="a feed file, or a JSON list of items")
    backfill.add_argument("--actor", required=True, help="the actor's identifier")
    backfill.add_argument("--kind", choices=[k.value for k in FeedKind],
                          help="feed kind (guessed from the URL or file otherwise)")
    backfill.add_argument("--deliver", action="store_true",
                          help="also deliver to current followers (floods timelines)")
    backfill.set_defaults(handler=cmd_import)

    tokens = subparsers.add_parser("tokens", help="API tokens of the CMS clients")
    verbs = tokens.add_subparsers(dest="verb", metavar="VERB", required=True)
    create = verbs.add_parser("create", help="create a token (shown once)")
    create.add_argument("name", help="the CMS client's name")
    create.add_argument("--actor", action="append", default=[],
                        help="limit the token to this actor (repeatable)")
    create.set_defaults(handler=cmd_tokens_create)
    tokens_list = verbs.add_parser("list", help="list tokens")
    add_json_flag(tokens_list)
    tokens_list.set_defaults(handler=cmd_tokens_list)
    revoke = verbs.add_parser("revoke", help="revoke a token")
    revoke.add_argument("name")
    revoke.set_defaults(handler=cmd_tokens_revoke)

    feeds = subparsers.add_parser("feeds", help="feeds polled for the actors")
    feed_verbs = feeds.add_subparsers(dest="verb", metavar="VERB", required=True)
    add = feed_verbs.add_parser("add", help="poll a feed for an actor",
                                description="Add a feed. Its first poll records the entries "
                                "already there without delivering them; later polls deliver.")
    add.add_argument("url")
    add.add_argument("--actor", required=True)
    add.add_argument("--kind", choices=[k.value for k in FeedKind])
    add.add_argument("--interval", type=int, default=900, help="seconds between polls")
    add.set_defaults(handler=cmd_feeds_add)
    feeds_list = feed_verbs.add_parser("list", help="list feeds")
    add_json_flag(feeds_list)
    feeds_list.set_defaults(handler=cmd_feeds_list)
    remove = feed_verbs.add_parser(
        "remove", help="stop polling a feed",
        description="Stop polling a feed (its id from `feeds list`). What it published stays "
        "published; delete items one by one through the push API if needed.")
    remove.add_argument("id", help="the feed's id, from `feeds list`")
    remove.set_defaults(handler=cmd_feeds_remove)
    poll = feed_verbs.add_parser(
        "poll", help="poll feeds now",
        description="Poll the due feeds (every feed with --all, or the feeds given by id) now, "
        "each under its job's lease as a worker does: a feed a worker is polling at that "
        "moment is skipped (busy).")
    poll.add_argument("ids", nargs="*", metavar="ID", help="these feeds only (ids from "
                      "`feeds list`), due or not")
    poll.add_argument("--all", action="store_true", help="every feed, not only due ones")
    poll.set_defaults(handler=cmd_feeds_poll)

    demo = subparsers.add_parser(
        "demo", help="publish sample content (idempotent, never delivered)",
        description="Publish the debate article and event of Halte au contrôle numérique "
        "(from the site's page of 29 May 2022) so that outboxes show real objects, and three "
        "pending replies and a report from the fictitious instance demo.invalid (never "
        "contacted, no notification) so that the moderation UI can be tried at once.",
    )
    demo.set_defaults(handler=cmd_demo)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise BadRequest(f"cannot read {path}: {error.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise BadRequest(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    return data


def _json(data: bytes, path: str) -> Any:
    """The file read as the push API reads a body (UTF-8, bounded, no NUL nor lone surrogate)."""
    from federation.remote.jsonlimits import JSONLimitError, parse_json_limited

    try:
        return parse_json_limited(data)
    except JSONLimitError as error:
        raise BadRequest(f"{path} is not acceptable UTF-8 JSON: {error}") from None


def _print_problems(error: Unprocessable, where: str = "") -> None:
    for problem in error.problems:
        print(f"  {where}{problem}", file=sys.stderr)


async def cmd_publish(args: argparse.Namespace) -> int:
    from federation.ingest.payloads import parse_item

    settings = settings_from(args)
    payload = _json(_read(args.file), args.file)
    item = parse_item(payload, language=settings.site.language, timezone=settings.site.timezone)
    async with services_for(settings) as services:
        try:
            result = await services.publisher.upsert(item, republish=True)
        except Unprocessable as error:
            _print_problems(error)
            raise
    print(json.dumps(result.to_json(), ensure_ascii=False))
    return 0


def _items_from_file(data: bytes, path: str, settings: Settings, actor: str,
                     kind: str | None) -> list[ContentItem]:
    from federation.ingest.payloads import parse_item
    from federation.ingest.poller import guess_kind

    site = settings.site
    stripped = data.lstrip()
    if stripped.startswith(b"[") or (stripped.startswith(b"{") and b'"items"' not in data[:4096]
                                     and kind != "json"):
        payloads = _json(data, path)
        payloads = payloads if isinstance(payloads, list) else [payloads]
        items: list[ContentItem] = []
        problems: list[Problem] = []
        for index, payload in enumerate(payloads):
            if isinstance(payload, dict):
                payload = {"actor": actor, **payload}
            try:
                items.append(parse_item(payload, source="import", language=site.language,
                                        timezone=site.timezone))
            except Unprocessable as error:
                problems.extend(Problem(f"[{index}].{p.location}", p.message)
                                for p in error.problems)
        if problems:
            raise Unprocessable(problems, f"{path}: invalid items")
        return items
    return _parse_feed_bytes(data, kind or guess_kind(path).value, settings, actor)


def _parse_feed_bytes(data: bytes, kind: str, settings: Settings, actor: str) -> list[ContentItem]:
    """A feed's items keyed as the poller keys them (same source, same ids): a feed imported
    first and added with `feeds add` afterwards finds its entries already there."""
    from federation.ingest.feeds import parse_feed
    from federation.ingest.ical import parse_calendar

    if kind == FeedKind.ICAL.value or data.lstrip().startswith(b"BEGIN:VCALENDAR"):
        return parse_calendar(data, actor=actor, language=settings.site.language,
                              timezone=settings.site.timezone,
                              horizon=timedelta(days=settings.site.recurring_events_days))
    return parse_feed(data, actor=actor, language=settings.site.language)


async def _publish_all(publisher: Publisher, items: Iterable[ContentItem], *, deliver: bool,
                       total: int) -> dict[str, int]:
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    counts: dict[str, int] = {}
    ordered = sorted(items, key=lambda i: i.published_at or datetime.now(UTC))
    with logging_redirect_tqdm(), _per_item_lines_quiet():
        for item in tqdm(ordered, total=total, unit="item", desc="import", file=sys.stderr):
            try:
                result = await publisher.upsert(item, deliver=deliver)
                outcome = str(result.outcome)
            except FederationError as error:
                outcome = f"skipped ({error.http_status})"
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


#: The loggers that write one INFO line per published item (and per queued activity).
PER_ITEM_LOGGERS = ("federation.publishing.service", "federation.delivery.outbox")


@contextlib.contextmanager
def _per_item_lines_quiet() -> Iterator[None]:
    """During an import, one line per item would drown the progress bar (the summary counts
    them): those loggers say only warnings, unless debug messages were asked for (-v)."""
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        yield
        return
    loggers = [logging.getLogger(name) for name in PER_ITEM_LOGGERS]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, saved, strict=True):
            logger.setLevel(level)


async def cmd_import(args: argparse.Namespace) -> int:
    from federation.ingest.poller import MAX_FEED_BYTES, guess_kind

    settings = settings_from(args)
    async with services_for(settings) as services:
        publisher = services.publisher
        publisher.directory.get(args.actor)
        if args.feed:
            response = await services.client.get(args.feed, accept="*/*", sign=False,
                                                 max_bytes=MAX_FEED_BYTES)
            if response.status != 200:
                raise BadRequest(f"{args.feed} answered HTTP {response.status}")
            kind = args.kind or guess_kind(args.feed).value
            items = _parse_feed_bytes(response.body, kind, settings, args.actor)
        else:
            items = _items_from_file(_read(args.file), args.file, settings, args.actor,
                                     args.kind)
        counts = await _publish_all(publisher, items, deliver=args.deliver, total=len(items))
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing"
    print(f"imported for {args.actor}: {summary}"
          + ("" if args.deliver else " (recorded in the outbox, not delivered)"))
    return 0


async def cmd_tokens_create(args: argparse.Namespace) -> int:
    from federation.ingest.tokens import create_token

    settings = settings_from(args)
    async with opened(settings) as directory:
        token = await create_token(args.name, args.actor, directory=directory)
    print(f"token for {token.name} (shown once, keep it secret):")
    print(token.secret)
    return 0


async def cmd_tokens_list(args: argparse.Namespace) -> int:
    from federation.ingest.tokens import list_tokens

    settings = settings_from(args)
    async with opened(settings, sync=False):
        tokens = await list_tokens()
    rows = [{"name": token.name, "prefix": f"{token.prefix}…",
             "state": "revoked" if token.revoked_at else "active",
             "actors": list(token.actors) or ["all actors"],
             "last_used_at": (token.last_used_at.isoformat(timespec="minutes")
                              if token.last_used_at else "never")} for token in tokens]
    emit("tokens", rows, [("name", "name"), ("token", "prefix"), ("state", "state"),
                          ("actors", "actors"), ("last used", "last_used_at")],
         as_json=args.json, empty="(no tokens)")
    return 0


async def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    from federation.ingest.tokens import revoke_token

    settings = settings_from(args)
    async with opened(settings, sync=False):
        await revoke_token(args.name)
    print(f"revoked {args.name}")
    return 0


async def cmd_feeds_add(args: argparse.Namespace) -> int:
    from federation.ingest.poller import MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS
    from federation.ingest.sources import add_feed

    settings = settings_from(args)
    if not MIN_INTERVAL_SECONDS <= args.interval <= MAX_INTERVAL_SECONDS:  # in the CLI's words
        raise BadRequest(f"--interval must be {MIN_INTERVAL_SECONDS} to {MAX_INTERVAL_SECONDS} "
                         "seconds")
    async with opened(settings) as directory:
        feed = await add_feed(directory, args.actor, args.url,
                              kind=FeedKind(args.kind) if args.kind else None,
                              interval_seconds=args.interval)
    print(f"feed {feed.id}: {feed.kind.value} {feed.url} for {args.actor}, every "
          f"{feed.interval_seconds} s (existing entries will be recorded without delivery)")
    return 0


async def cmd_feeds_remove(args: argparse.Namespace) -> int:
    from federation.ingest.sources import feed_id_of, remove_feed

    settings = settings_from(args)
    async with opened(settings, sync=False):
        feed_id = feed_id_of(args.id)
        if not feed_id:
            raise NotFound(f"no feed {args.id!r} (see `federation feeds list`)")
        feed = await remove_feed(feed_id)
    print(f"feed {feed_id} ({feed.url} for {feed.actor.identifier}) is no longer polled; "
          "what it published stays published")
    return 0


async def cmd_feeds_list(args: argparse.Namespace) -> int:
    from federation.ingest.sources import list_feeds

    settings = settings_from(args)
    async with opened(settings, sync=False):
        feeds = await list_feeds()
    rows = [{"id": feed.id, "kind": feed.kind.value, "actor": feed.actor.identifier,
             "url": feed.url, "next_poll_at": feed.next_poll_at.isoformat(timespec="minutes"),
             "failures": feed.failures,
             "state": f"failing ×{feed.failures}: {feed.last_error[:200]}" if feed.failures
             else "ok"} for feed in feeds]
    emit("feeds", rows, [("id", "id"), ("kind", "kind"), ("actor", "actor"), ("url", "url"),
                         ("next poll", "next_poll_at"), ("state", "state")],
         as_json=args.json, empty="(no feeds)")
    return 0


async def cmd_feeds_poll(args: argparse.Namespace) -> int:
    from federation.ingest.poller import FeedPoller
    from federation.ingest.sources import feed_id_of

    settings = settings_from(args)
    async with services_for(settings) as services:
        poller = FeedPoller.for_site(settings, services.client, services.publisher)
        if args.ids:
            reports = await poller.run_ids([feed_id_of(i) for i in args.ids])
        else:
            reports = await poller.run_once(every=args.all)
    for report in reports:
        outcomes = ", ".join(f"{n} {k}" for k, n in sorted(report.outcomes.items()))
        print(f"feed {report.feed_id}: {report.status} {outcomes} {report.error}".rstrip())
    return 1 if any(r.status == "failed" for r in reports) else 0


async def cmd_demo(args: argparse.Namespace) -> int:
    from federation.moderation.demo import DEMO_DOMAIN, seed_moderation
    from federation.publishing.demo import demo_items

    settings = settings_from(args)
    async with services_for(settings) as services:
        publisher = services.publisher
        items = demo_items(settings, publisher.directory)
        if not items:
            print("demo: no collective 'halte-au-controle-numerique' configured; nothing to do")
            return 0
        published: dict[str, str] = {}
        for item in items:
            result = await publisher.upsert(item, deliver=False)
            published[str(item.kind)] = result.object_uri
            print(f"demo {item.kind}: {result.outcome} {result.object_uri}")
        seeded = await seed_moderation(publisher.directory, published.get("article"),
                                       published.get("event"))
        print(f"demo moderation: {seeded.replies} pending repl{'y' if seeded.replies == 1 else 'ies'}"
              f" and {seeded.reports} report(s) added, from the fictitious instance "
              f"{DEMO_DOMAIN} (never contacted, no notification): {settings.base_url}/admin/")
    return 0
