"""Local actors and their keys: ``actors list|show``, ``keys rotate``."""

from __future__ import annotations

import argparse
import json

from federation.cli.context import opened, settings_from


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actors = subparsers.add_parser("actors", help="list or show the local actors")
    verbs = actors.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser("list", help="list the site actor and every collective")
    listing.set_defaults(handler=cmd_list)
    show = verbs.add_parser("show", help="print an actor's ActivityPub document")
    show.add_argument("identifier", help="the actor's identifier (as in its URL)")
    show.set_defaults(handler=cmd_show)

    keys = subparsers.add_parser("keys", help="manage the actors' keys")
    key_verbs = keys.add_subparsers(dest="verb", metavar="VERB", required=True)
    rotate = key_verbs.add_parser(
        "rotate", help="replace an actor's RSA and Ed25519 keys",
        description="Generate new keys for ACTOR. The old keys are kept inactive; a running "
        "server notices within a minute (a `serve --no-worker` only when restarted). Followers "
        "see the new key on their next fetch.",
    )
    rotate.add_argument("identifier", metavar="ACTOR", help="the actor's identifier")
    rotate.set_defaults(handler=cmd_rotate)


async def cmd_list(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with opened(settings) as directory:
        for actor in directory.all():
            role = "site" if actor.is_site_actor else "collective"
            print(f"{actor.identifier:32} @{actor.config.username}@{settings.host:24} "
                  f"{actor.config.type:12} {role:10} {actor.uri}")
    return 0


async def cmd_show(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with opened(settings) as directory:
        document = directory.document(directory.get(args.identifier))
    print(json.dumps(document, indent=2, ensure_ascii=False))
    return 0


async def cmd_rotate(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with opened(settings) as directory:
        await directory.rotate(args.identifier)
        actor = directory.get(args.identifier)
    print(f"rotated the keys of {actor.identifier}; new key {actor.key_id}")
    return 0
