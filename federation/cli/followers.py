"""Followers of a local actor: ``followers ACTOR [--pending]``,
``followers accept|reject|remove ACTOR REMOTE``.

``accept`` and ``reject`` decide a follow request of an actor that approves its followers by
hand (``manually_approves_followers``): the follower gets an ``Accept`` or a ``Reject``, queued
for the delivery worker of the running server (or of ``federation serve`` later). ``remove``
ends an accepted follow (a ``Reject`` is queued, the row removed). The same services as
``/admin/followers`` (:mod:`federation.inbox.follows`).
"""

from __future__ import annotations

import argparse
import sys

from federation.cli.context import opened, settings_from
from federation.cli.output import add_json_flag, emit


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    followers = subparsers.add_parser(
        "followers", help="list a local actor's followers, accept or reject follow requests",
        description="List the followers of ACTOR (accepted ones, or pending requests with "
        "--pending), or decide a pending request: `followers accept ACTOR REMOTE` / "
        "`followers reject ACTOR REMOTE`, REMOTE being the follower's actor id (URL).",
    )
    followers.add_argument("args", nargs="+", metavar="ACTOR | accept ACTOR REMOTE | reject ACTOR REMOTE")
    followers.add_argument("--pending", action="store_true", help="list pending follow requests")
    add_json_flag(followers)
    followers.set_defaults(handler=cmd_followers)


async def cmd_followers(args: argparse.Namespace) -> int:
    words = list(args.args)
    if words[0] in ("accept", "reject", "remove"):
        if len(words) != 3:
            print("usage: federation followers accept|reject|remove ACTOR REMOTE",
                  file=sys.stderr)
            return 2
        if words[0] == "remove":
            return await _remove(args, words[1], words[2])
        return await _decide(args, words[1], words[2], accept=words[0] == "accept")
    if len(words) != 1:
        print("usage: federation followers ACTOR [--pending]", file=sys.stderr)
        return 2
    return await _list(args, words[0], pending=args.pending)


async def _list(args: argparse.Namespace, identifier: str, *, pending: bool) -> int:
    from federation.db.social import FollowState
    from federation.inbox.follows import followers_of

    settings = settings_from(args)
    state = FollowState.PENDING if pending else FollowState.ACCEPTED
    async with opened(settings, sync=False) as directory:
        rows = await followers_of(directory, identifier, state)
    listed = [{"id": row.remote.uri, "handle": row.remote.handle,
               "since": f"{row.created_at:%Y-%m-%d %H:%M}"} for row in rows]
    label = "pending request(s)" if pending else "follower(s)"
    emit("followers", listed, [("handle", "handle"), ("since", "since"), ("id", "id")],
         as_json=args.json, empty=f"0 {label} of {identifier}")
    if listed and not args.json:
        print(f"{len(rows)} {label} of {identifier}", file=sys.stderr)
    return 0


async def _decide(args: argparse.Namespace, identifier: str, remote_uri: str, *, accept: bool) -> int:
    from federation.inbox.follows import decide_follower  # a service: not for --help

    settings = settings_from(args)
    async with opened(settings, sync=False) as directory:
        await decide_follower(directory, identifier, remote_uri, accept=accept)
    verb = "accepted" if accept else "rejected"
    print(f"{verb} {remote_uri} as a follower of {identifier}; the answer is queued for delivery")
    return 0


async def _remove(args: argparse.Namespace, identifier: str, remote_uri: str) -> int:
    from federation.inbox.follows import find_follower, remove_follower

    settings = settings_from(args)
    async with opened(settings, sync=False) as directory:
        await remove_follower(directory, await find_follower(directory, identifier, remote_uri))
    print(f"removed {remote_uri} from the followers of {identifier}; a Reject is queued for "
          "delivery")
    return 0
