"""Local actors and their keys: ``actors list|show|create|edit|retire|import-config``,
``keys rotate``.

``create``, ``edit`` and ``retire`` are what an administrator does at ``/admin/actors`` (the
same :class:`~federation.publishing.profiles.ActorAdmin`): the change is stored at once, a
running server sees it within 30 s, and the ``Update`` (or the ``Delete``) for the followers
is queued for the delivery worker.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from federation.cli.context import opened, settings_from
from federation.cli.output import add_json_flag, emit

if TYPE_CHECKING:
    from federation.identity.directory import ActorDirectory
    from federation.publishing.profiles import ActorAdmin
    from federation.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actors = subparsers.add_parser("actors", help="list or show the local actors")
    verbs = actors.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser("list", help="list the site actor and every collective")
    add_json_flag(listing)
    listing.set_defaults(handler=cmd_list)
    show = verbs.add_parser("show", help="print an actor's ActivityPub document")
    show.add_argument("identifier", help="the actor's identifier (as in its URL)")
    show.set_defaults(handler=cmd_show)

    create = verbs.add_parser(
        "create", help="create a collective (as /admin/actors does)",
        description="Create a collective with new keys. USERNAME is also its identifier (its "
        "URL /actors/USERNAME): it can never change, since followers' servers know the actor "
        "by it.")
    create.add_argument("username", metavar="USERNAME",
                        help="lowercase letters, digits and hyphens")
    create.add_argument("--name", required=True, help="display name")
    _profile_options(create)
    create.set_defaults(handler=cmd_create)
    edit = verbs.add_parser(
        "edit", help="change a collective's profile (its followers get an Update)",
        description="Change what is given; the rest stays. The username never changes. "
        "When the actor's document changed, an Update is queued for its followers.")
    edit.add_argument("identifier", metavar="ACTOR", help="the actor's identifier")
    edit.add_argument("--name", help="display name")
    _profile_options(edit)
    edit.add_argument("--clear-fields", action="store_true", help="remove every profile field")
    edit.add_argument("--remove-avatar", action="store_true", help="remove the avatar")
    edit.add_argument("--remove-header", action="store_true", help="remove the header")
    edit.set_defaults(handler=cmd_edit)
    retire = verbs.add_parser(
        "retire", help="retire a collective for good (its followers get a Delete)",
        description="The collective stops publishing; a Delete of the actor is queued for its "
        "followers (as Mastodon does for a deleted account); its URLs answer 410 Gone; its "
        "identifier and username are never used again; its keys are kept to sign the Delete. "
        "There is no undo.")
    retire.add_argument("identifier", metavar="ACTOR", help="the actor's identifier")
    retire.add_argument("--yes", action="store_true", help="confirm (required)")
    retire.set_defaults(handler=cmd_retire)
    imported = verbs.add_parser(
        "import-config", help="publish the configuration file's profile of actors",
        description="The file seeds an actor's profile once; afterwards the database (what "
        "/admin/actors edits) wins. This copies the file's values over for the actors named "
        "(default: every actor whose profile differs from the file), and queues their Update.")
    imported.add_argument("identifiers", nargs="*", metavar="ACTOR")
    imported.set_defaults(handler=cmd_import_config)

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


def _profile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--summary", help="bio (plain text; a blank line between paragraphs)")
    parser.add_argument("--url", help="the collective's page on the site")
    parser.add_argument("--field", action="append", default=None, metavar="NAME=VALUE",
                        help="a profile field (repeat; replaces the existing ones)")
    parser.add_argument("--avatar", type=Path, metavar="FILE",
                        help="avatar image (JPEG, PNG, GIF, WebP; resized, metadata removed)")
    parser.add_argument("--header", type=Path, metavar="FILE", help="header image")
    approval = parser.add_mutually_exclusive_group()
    approval.add_argument("--approve-follows", dest="manual", action="store_true",
                          default=None, help="follow requests wait for approval")
    approval.add_argument("--open-follows", dest="manual", action="store_false",
                          help="anyone can follow at once")


def _read_image(path: Path | None) -> bytes | None:
    from federation.errors import BadRequest

    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        raise BadRequest(f"cannot read {path}: {error.strerror}") from None


def _fields(raw: list[str] | None) -> tuple[tuple[str, str], ...] | None:
    from federation.errors import BadRequest

    if raw is None:
        return None
    fields = []
    for item in raw:
        name, sep, value = item.partition("=")
        if not sep:
            raise BadRequest(f"--field {item!r}: write NAME=VALUE")
        fields.append((name, value))
    return tuple(fields)


def _actor_admin(settings: Settings, directory: ActorDirectory) -> ActorAdmin:
    from federation.identity.images import MediaStore
    from federation.publishing.profiles import ActorAdmin

    return ActorAdmin(directory, MediaStore(settings.data_dir))


async def cmd_create(args: argparse.Namespace) -> int:
    from federation.publishing.profiles import ProfileInput

    settings = settings_from(args)
    profile = ProfileInput(
        name=args.name, summary=args.summary or "", url=args.url,
        fields=_fields(args.field) or (), manually_approves_followers=bool(args.manual),
        avatar=_read_image(args.avatar), header=_read_image(args.header))
    async with opened(settings) as directory:
        actor = await _actor_admin(settings, directory).create(args.username, profile)
    print(f"created @{actor.config.username}@{settings.host}: {actor.uri}")
    return 0


async def cmd_edit(args: argparse.Namespace) -> int:
    from federation.publishing.profiles import ProfileInput

    settings = settings_from(args)
    async with opened(settings) as directory:
        config = directory.get(args.identifier).config
        fields = _fields(args.field)
        if args.clear_fields:
            fields = fields or ()
        profile = ProfileInput(
            name=config.name if args.name is None else args.name,
            summary=config.summary if args.summary is None else args.summary,
            url=config.url if args.url is None else args.url,
            fields=tuple((f.name, f.value) for f in config.fields) if fields is None else fields,
            manually_approves_followers=(config.manually_approves_followers
                                         if args.manual is None else args.manual),
            avatar=_read_image(args.avatar), header=_read_image(args.header),
            remove_avatar=args.remove_avatar, remove_header=args.remove_header)
        result = await _actor_admin(settings, directory).edit(args.identifier, profile)
    if result.update_uri:
        print(f"saved {args.identifier} ({', '.join(result.changed)} changed); "
              f"Update queued for its followers: {result.update_uri}")
    else:
        print(f"{args.identifier}: nothing changed")
    return 0


async def cmd_retire(args: argparse.Namespace) -> int:
    from federation.errors import BadRequest

    if not args.yes:
        raise BadRequest(f"retiring {args.identifier} cannot be undone: add --yes to confirm")
    settings = settings_from(args)
    async with opened(settings) as directory:
        await _actor_admin(settings, directory).retire(args.identifier)
    print(f"retired {args.identifier}; a Delete is queued for its followers, its URLs answer "
          "410 Gone")
    return 0


async def cmd_import_config(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with opened(settings) as directory:
        identifiers = args.identifiers or list(await directory.differences())
        admin = _actor_admin(settings, directory)
        for identifier in identifiers:
            result = await admin.import_config(identifier)
            state = (f"Update queued ({', '.join(result.changed)})" if result.update_uri
                     else "already as in the file")
            print(f"{identifier}: {state}")
    if not identifiers:
        print("every actor's profile is as in the configuration file")
    return 0


async def cmd_list(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with opened(settings) as directory:
        rows = []
        for actor in directory.everyone():
            role = "site" if actor.is_site_actor else "collective"
            if actor.retired_at is not None:
                role = "retired"
            rows.append({"identifier": actor.identifier,
                         "handle": f"@{actor.config.username}@{settings.host}",
                         "type": actor.config.type, "role": role, "uri": actor.uri})
    emit("actors", rows, [("identifier", "identifier"), ("handle", "handle"),
                          ("type", "type"), ("role", "role"), ("id", "uri")], as_json=args.json)
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
