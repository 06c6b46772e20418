"""Sister sites from the command line: ``follow``, ``unfollow``, ``follow-policy``,
``following``, ``relay …`` and ``syndication list|approve|reject`` (``/admin/following`` and
``/admin/syndication`` in the admin, through the same services).

These commands write rows and queue activities; they never deliver. A running ``federation
serve`` (its in-process worker) or ``federation worker`` sends what they queue, so they work
beside a serving process as well as alone — then deliveries wait in the queue until a worker
runs, and the commands say so.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from federation.cli.context import opened, services_for, settings_from
from federation.cli.output import add_json_flag, emit
from federation.settings import Settings

if TYPE_CHECKING:
    from federation.identity.directory import ActorDirectory
    from federation.remote.actors import RemoteActorStore
    from federation.remote.client import HardenedClient

POLICIES = ("announce", "review", "store")
ITEM_STATES = ("pending_review", "approved", "rejected", "stored", "withdrawn")
QUEUED_NOTE = ("queued: the delivery worker of a running `federation serve` (or `federation "
               "worker`) sends it; if none runs, it waits in the queue until one does")


def _follow_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="HANDLE_OR_URL")
    parser.add_argument("--as", dest="as_actor", metavar="ACTOR",
                        help="identifier of our actor that follows (default: the site actor)")
    parser.add_argument("--policy", choices=POLICIES, default="review")
    parser.set_defaults(handler=cmd_follow)


def _unfollow_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="HANDLE_URL_OR_ID")
    parser.add_argument("--as", dest="as_actor", metavar="ACTOR")
    parser.set_defaults(handler=cmd_unfollow)


def _policy_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="ID_URL_OR_HANDLE")
    parser.add_argument("policy", choices=POLICIES)
    parser.add_argument("--as", dest="as_actor", metavar="ACTOR")
    parser.set_defaults(handler=cmd_follow_policy)


def _list_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="as_actor", metavar="ACTOR",
                        help="only the follows of this actor of ours")
    add_json_flag(parser)
    parser.set_defaults(handler=cmd_following)


RELAY_DESCRIPTION = (
    "Mastodon-style relays are subscribed at their inbox URL (a Follow of as:Public); LitePub "
    "relays at their actor URL (a Follow of the actor). The follow is sent by the instance "
    "actor (/actor, an Application: relays refuse other types). Once accepted, every public "
    "post of every actor is delivered to the relay. Relayed posts are handled by the policy "
    "chosen here.")


def _relay_verbs(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="relay_verb", metavar="VERB", required=True)
    subscribe = verbs.add_parser("subscribe",
                                 help="subscribe the site (its instance actor) to a relay")
    subscribe.add_argument("url", metavar="URL")
    subscribe.add_argument("--style", choices=("mastodon", "litepub"),
                           help="default: mastodon for an URL ending in /inbox, else litepub")
    subscribe.add_argument("--policy", choices=POLICIES, default="review")
    subscribe.set_defaults(handler=cmd_relay_subscribe)
    unsubscribe = verbs.add_parser(
        "unsubscribe", help="leave a relay (Undo(Follow); it is no follower of ours any more)")
    unsubscribe.add_argument("url", metavar="URL_OR_ID")
    unsubscribe.set_defaults(handler=cmd_unfollow, as_actor=None)
    relays_list = verbs.add_parser("list", help="list relays")
    add_json_flag(relays_list)
    relays_list.set_defaults(handler=cmd_following, as_actor=None, relays_only=True)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    following = subparsers.add_parser(
        "following", help="whom we follow: list, add, remove, policy, relay …",
        description="Sister sites and relays we follow. `federation following` alone lists "
        "them, with the state (pending, accepted, rejected). What a followed actor publishes "
        "is handled by the policy: announce (boosted at once), review (waits in "
        "/admin/syndication), store (kept for the site's feeds only).",
    )
    _list_args(following)
    verbs = following.add_subparsers(dest="following_verb", metavar="VERB")
    _list_args(verbs.add_parser("list", help="list whom we follow (the default)"))
    _follow_args(verbs.add_parser(
        "add", help="follow a sister site's actor (by @name@host or URL)",
        description="Follow a remote actor as the site actor (or --as a collective). "
        "Following again changes the policy."))
    _unfollow_args(verbs.add_parser(
        "remove", help="stop following (sends Undo(Follow), removes its items)"))
    _policy_args(verbs.add_parser(
        "policy", help="change the policy of a follow (nothing is sent or fetched)",
        description="TARGET is the follow's id (from `federation following`), its URL or the "
        "confirmed handle of the followed actor."))
    _relay_verbs(verbs.add_parser("relay", help="subscribe to fediverse relays (FEP-ae0c)",
                                  description=RELAY_DESCRIPTION))

    # The older spellings, kept so that scripts and habits still work.
    _follow_args(subparsers.add_parser("follow", help="= following add"))
    _unfollow_args(subparsers.add_parser("unfollow", help="= following remove"))
    _policy_args(subparsers.add_parser("follow-policy", help="= following policy"))
    _relay_verbs(subparsers.add_parser("relay", help="= following relay",
                                       description=RELAY_DESCRIPTION))

    syndication = subparsers.add_parser(
        "syndication", help="sister sites' items: list, approve (boost), reject",
        description="The editorial queue of /admin/syndication from the command line.",
    )
    sverbs = syndication.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = sverbs.add_parser("list", help="items in a state (default pending_review)")
    listing.add_argument("--state", choices=ITEM_STATES, default="pending_review")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_items)
    for action in ("approve", "reject"):
        parser = sverbs.add_parser(action, help=f"{action} items by id")
        parser.add_argument("ids", nargs="+", type=int, metavar="ID")
        parser.add_argument("--as", dest="moderator", default="cli",
                            help="name recorded in the audit log (default: cli)")
        parser.set_defaults(handler=cmd_decide, action=action)


@asynccontextmanager
async def _remote(settings: Settings) -> AsyncIterator[
        tuple[ActorDirectory, HardenedClient, RemoteActorStore]]:
    from federation.syndication.subscriptions import store_for

    async with services_for(settings) as services:
        yield services.directory, services.client, store_for(settings, services.client)


def _line(row: dict[str, Any]) -> str:
    relay = " relay" if row["relay"] else ""
    name = row["handle"] or row["target"]
    return (f"{row['id']:5} {row['actor']:28} {row['state']:9} {row['policy']:8}{relay:6} "
            f"{name}  {row['target'] if row['handle'] else ''}").rstrip()


async def cmd_follow(args: argparse.Namespace) -> int:
    from federation.db.social import SyndicationPolicy
    from federation.syndication import subscriptions

    settings = settings_from(args)
    async with _remote(settings) as (directory, _, store):
        result = await subscriptions.follow(directory, store, args.target,
                                            as_actor=args.as_actor,
                                            policy=SyndicationPolicy(args.policy))
        await result.row.fetch_related("remote", "actor")
        print(_line(subscriptions.describe(result.row)))
    if result.sent:
        print(f"Follow {QUEUED_NOTE}; `federation following` shows the answer", file=sys.stderr)
    else:
        print(f"already following (state {result.row.state}, policy {result.row.policy})",
              file=sys.stderr)
    return 0


async def cmd_unfollow(args: argparse.Namespace) -> int:
    from federation.syndication import subscriptions

    settings = settings_from(args)
    target = getattr(args, "target", None) or args.url
    async with _remote(settings) as (directory, _, store):
        row = await subscriptions.find_following(directory, target, args.as_actor, store=store)
        uri = row.target_uri
        await subscriptions.unfollow(directory, row)
    print(f"unfollowed {uri}")
    print(f"Undo(Follow) {QUEUED_NOTE}", file=sys.stderr)
    return 0


async def cmd_follow_policy(args: argparse.Namespace) -> int:
    from federation.db.social import SyndicationPolicy
    from federation.syndication import subscriptions

    settings = settings_from(args)
    async with opened(settings, sync=False) as directory:
        row = await subscriptions.find_following(directory, args.target, args.as_actor)
        await subscriptions.set_policy(row, SyndicationPolicy(args.policy))
        await row.fetch_related("remote", "actor")
        print(_line(subscriptions.describe(row)))
    return 0


async def cmd_following(args: argparse.Namespace) -> int:
    from federation.syndication import subscriptions

    settings = settings_from(args)
    async with opened(settings, sync=False) as directory:
        rows = await subscriptions.following_of(args.as_actor, directory)
        described = [subscriptions.describe(row) for row in rows
                     if row.is_relay or not getattr(args, "relays_only", False)]
    emit("following", [dict(row, shown=row["handle"] or row["target"]) for row in described],
         [("id", "id"), ("actor", "actor"), ("state", "state"), ("policy", "policy"),
          ("relay", "relay"), ("followed", "shown")], as_json=args.json)
    for row in described:
        if row["relay"] and row["state"] == "rejected":
            print(f"relay {row['target']} REJECTED our subscription: its own rules refused us "
                  "(an allow-list, manual approval, a banned software); ask its admin, then "
                  "`federation relay subscribe` again", file=sys.stderr)
    return 0


async def cmd_relay_subscribe(args: argparse.Namespace) -> int:
    from federation.db.social import SyndicationPolicy
    from federation.syndication import subscriptions

    settings = settings_from(args)
    style = subscriptions.RelayStyle(args.style) if args.style else None
    async with _remote(settings) as (directory, _, store):
        result = await subscriptions.subscribe_relay(directory, store, args.url, style=style,
                                                     policy=SyndicationPolicy(args.policy))
        await result.row.fetch_related("remote", "actor")
        print(_line(subscriptions.describe(result.row)))
    if result.sent:
        print(f"Follow {QUEUED_NOTE}", file=sys.stderr)
    return 0


async def cmd_items(args: argparse.Namespace) -> int:
    from federation.db.syndication import SyndicatedItem
    from federation.syndication.service import item_summary

    settings = settings_from(args)
    async with opened(settings, sync=False):
        ordering = "id" if args.state == "pending_review" else "-id"
        items = await SyndicatedItem.filter(state=args.state).order_by(ordering).limit(
            max(1, min(args.limit, 1000)))
        summaries = [item_summary(item) for item in items]
    if args.json:
        print(json.dumps({"items": summaries}, ensure_ascii=False))
        return 0
    for item in summaries:
        print(f"{item['id']:6} {item['type']:8} {item['state']:15} {item['name'] or '-'}")
        print(f"       {item['object']}")
    return 0


async def cmd_decide(args: argparse.Namespace) -> int:
    from federation.syndication.service import decide_many

    settings = settings_from(args)
    async with opened(settings, sync=False) as directory:
        outcomes = await decide_many(directory, args.ids, args.action, args.moderator)
    failed = 0
    for outcome in outcomes:
        if outcome.ok:
            print(f"{outcome.item_id}: {outcome.state}")
        else:
            failed += 1
            print(f"{outcome.item_id}: {outcome.error}", file=sys.stderr)
    if args.action == "approve" and failed < len(outcomes):
        print(f"Announce {QUEUED_NOTE}", file=sys.stderr)
    return 1 if failed else 0
