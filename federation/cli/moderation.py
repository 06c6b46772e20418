"""Moderation from the command line: ``moderators add|admin|edit|list|remove|passwd|token``,
``blocks list|remove`` and ``moderation list|approve|reject|spam|undo|log|undo-decision|
reports|note`` — through the service functions the web UI calls.

Passwords are never taken from the command line (they would land in the shell history and in
``ps``): they are read from a prompt on a terminal, or from the first line of stdin otherwise.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from federation.cli.context import opened, settings_from
from federation.cli.output import add_json_flag, emit
from federation.db.vocabulary import REPLY_ACTIONS, Action, ReplyState
from federation.errors import BadRequest
from federation.i18n import languages

# The moderation service, accounts (argon2) and models are imported by the commands that use
# them: `federation --help` imports no service and not the ORM.


#: Characters of a reply's text in `moderation list` (the whole text with --json).
EXCERPT_CHARS = 80


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    moderators = subparsers.add_parser(
        "moderators", help="manage the accounts of the moderation UI",
        description="Accounts that log in to /admin/. Passwords are read from a prompt, or "
        "from stdin when it is not a terminal — never from arguments.",
    )
    verbs = moderators.add_subparsers(dest="verb", metavar="VERB", required=True)
    add = verbs.add_parser("add", help="create a moderator (asks for the password)")
    add.add_argument("username")
    add.add_argument("--language", choices=languages(), default=None,
                     help="language of the UI for this moderator (default: moderation.language)")
    add.add_argument("--admin", action="store_true",
                     help="an administrator: also manages the collectives (/admin/actors) and "
                     "the site's federation (/admin/federation: followers, feeds, follows, "
                     "tokens, deliveries); a moderator only moderates")
    add.set_defaults(handler=cmd_add)
    edit = verbs.add_parser(
        "edit", help="change a moderator's e-mail notifications or language",
        description="E-mail notifications of new pending replies and reports: off, immediate "
        "(one e-mail per item) or digest (one a day, at moderation.digest_hour). They need an "
        "address, and [smtp] in the configuration to be sent.")
    edit.add_argument("username")
    edit.add_argument("--email", default=None, metavar="ADDRESS",
                      help="where notifications go ('' removes it)")
    edit.add_argument("--notify", choices=("immediate", "digest", "off"), default=None,
                      help="immediate, digest (daily) or off")
    edit.add_argument("--language", choices=languages(), default=None,
                      help="language of the UI and of the e-mails")
    edit.set_defaults(handler=cmd_edit)
    role = verbs.add_parser("admin", help="make a moderator an administrator (or not)",
                            description="An administrator also manages the collectives "
                            "(/admin/actors, federation actors create|edit|retire).")
    role.add_argument("username")
    role.add_argument("--revoke", action="store_true", help="back to moderator only")
    role.set_defaults(handler=cmd_admin)
    listing = verbs.add_parser("list", help="list the moderators")
    add_json_flag(listing)
    listing.set_defaults(handler=cmd_list_moderators)
    remove = verbs.add_parser("remove", help="delete a moderator (the audit log keeps the name)")
    remove.add_argument("username")
    remove.set_defaults(handler=cmd_remove)
    passwd = verbs.add_parser("passwd", help="change a password (logs the moderator out)")
    passwd.add_argument("username")
    passwd.set_defaults(handler=cmd_passwd)
    token = verbs.add_parser("token", help="create an API token for /api/v1/moderation")
    token.add_argument("username")
    token.add_argument("--name", default="", help="a label for the token")
    token.add_argument("--read-only", action="store_true",
                       help="scope moderation:read (lists only) instead of moderation")
    token.set_defaults(handler=cmd_token)
    revoke = verbs.add_parser("revoke-tokens", help="revoke every API token of a moderator")
    revoke.add_argument("username")
    revoke.set_defaults(handler=cmd_revoke_tokens)

    blocks = subparsers.add_parser(
        "blocks", help="list or lift the blocks of authors and instances",
        description="Blocks are made from the moderation queue (block the author or their "
        "instance); here they are listed and lifted, audited like the UI's decisions.",
    )
    bverbs = blocks.add_subparsers(dest="verb", metavar="VERB", required=True)
    blist = bverbs.add_parser("list", help="list the blocks")
    add_json_flag(blist)
    blist.set_defaults(handler=cmd_list_blocks)
    lift = bverbs.add_parser("remove", help="lift a block by id (from `blocks list`)")
    lift.add_argument("id", type=int, metavar="ID")
    lift.add_argument("--as", dest="moderator", default="cli",
                      help="name recorded in the audit log (default: cli)")
    lift.set_defaults(handler=cmd_unblock)

    moderation = subparsers.add_parser(
        "moderation", help="list and decide replies waiting for moderation",
        description="The same rules as the web UI: approving sends the replier an Accept, "
        "rejecting a Reject; spam sends nothing; undo puts a reply back in the queue.",
    )
    mverbs = moderation.add_subparsers(dest="verb", metavar="VERB", required=True)
    mlist = mverbs.add_parser("list", help="list replies in a state (default pending)")
    mlist.add_argument("--state", choices=[s.value for s in ReplyState], default="pending")
    mlist.add_argument("--limit", type=int, default=50)
    add_json_flag(mlist)
    mlist.set_defaults(handler=cmd_list_replies)
    for action in REPLY_ACTIONS:
        parser = mverbs.add_parser(str(action), help=f"{action} replies by id")
        parser.add_argument("ids", nargs="+", type=int, metavar="ID")
        parser.add_argument("--as", dest="moderator", default="cli",
                            help="name recorded in the audit log (default: cli)")
        parser.set_defaults(handler=cmd_decide, action=action)
    log = mverbs.add_parser(
        "log", help="the audit log, newest first (ids for undo-decision)",
        description="Every decision (who, what, when), as /admin/log shows it; UNDO UNTIL says "
        "until when `moderation undo-decision ID` may reverse it.")
    log.add_argument("--limit", type=int, default=50, help="rows shown (at most 1000)")
    add_json_flag(log)
    log.set_defaults(handler=cmd_log)
    undo = mverbs.add_parser(
        "undo-decision", help="reverse one recent decision of the audit log (30 minutes)",
        description="The undo of the notices in /admin/: a decision on a reply, a block, an "
        "unblock, a report resolved or reopened, within 30 minutes and if nothing changed its "
        "subject since. Notes and deletions are final. Exit 1 when it cannot be undone.")
    undo.add_argument("id", type=int, metavar="ID", help="the decision's id (`moderation log`)")
    undo.add_argument("--as", dest="moderator", default="cli",
                      help="name recorded in the audit log (default: cli)")
    undo.set_defaults(handler=cmd_undo_decision)
    reports = mverbs.add_parser("reports", help="list the reports (open by default)")
    reports.add_argument("--resolved", action="store_true", help="the resolved ones instead")
    add_json_flag(reports)
    reports.set_defaults(handler=cmd_list_reports)
    note = mverbs.add_parser(
        "note", help="print or replace the moderators' note on a report",
        description="Without --set: print the report's note. --set TEXT replaces it ('' "
        "clears it; '-' reads it from stdin); audited like the note of /admin/reports.")
    note.add_argument("id", type=int, metavar="ID", help="the report's id (`moderation reports`)")
    note.add_argument("--set", dest="text", default=None, metavar="TEXT",
                      help="the new note ('-': read from stdin)")
    note.add_argument("--as", dest="moderator", default="cli",
                      help="name recorded in the audit log (default: cli)")
    note.set_defaults(handler=cmd_note)


def read_password(*, confirm: bool) -> str:
    """A password from the terminal (twice when ``confirm``) or the first line of stdin."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Again: ") != password:
            raise BadRequest("the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise BadRequest("no password given")
    return password


async def cmd_add(args: argparse.Namespace) -> int:
    from federation.moderation import accounts

    password = read_password(confirm=True)
    settings = settings_from(args)
    async with opened(settings, sync=False):
        await accounts.create_account(args.username, password,
                                      language=args.language or settings.moderation.language,
                                      is_admin=args.admin)
    print(f"moderator {args.username} created")
    return 0


async def cmd_edit(args: argparse.Namespace) -> int:
    from federation.moderation import accounts

    if args.email is None and args.notify is None and args.language is None:
        raise BadRequest("nothing to change: give --email, --notify or --language")
    settings = settings_from(args)
    async with opened(settings, sync=False):
        account = await accounts.get_account(args.username)
        await accounts.set_notifications(account, email=args.email, notify=args.notify,
                                         language=args.language)
    print(f"moderator {account.username}: notifications {account.notify}, "
          f"address {'set' if account.email else 'none'}, language {account.language}")
    if account.notify != "off" and not settings.smtp.enabled:
        print("note: no [smtp] host is configured: no e-mail is sent until one is",
              file=sys.stderr)
    return 0


async def cmd_admin(args: argparse.Namespace) -> int:
    from federation.moderation import accounts

    async with opened(settings_from(args), sync=False):
        await accounts.set_admin(args.username, not args.revoke)
    role = "a moderator only" if args.revoke else "an administrator"
    print(f"{args.username} is now {role}")
    return 0


async def cmd_list_moderators(args: argparse.Namespace) -> int:
    from federation.db.moderation import ModeratorAccount

    async with opened(settings_from(args), sync=False):
        rows = await ModeratorAccount.all().order_by("username")
    listed = [{"username": row.username, "language": row.language,
               "role": "admin" if row.is_admin else "moderator", "disabled": row.disabled,
               "notify": str(row.notify), "created_at": f"{row.created_at:%Y-%m-%d}"}
              for row in rows]
    emit("moderators", listed, [("username", "username"), ("language", "language"),
                                ("role", "role"), ("disabled", "disabled"),
                                ("notify", "notify"), ("created", "created_at")],
         as_json=args.json, empty="(no moderators)")
    return 0


async def cmd_remove(args: argparse.Namespace) -> int:
    from federation.moderation import accounts

    async with opened(settings_from(args), sync=False):
        await accounts.remove_account(args.username)
    print(f"moderator {args.username} removed")
    return 0


async def cmd_passwd(args: argparse.Namespace) -> int:
    from federation.moderation import accounts

    password = read_password(confirm=True)
    async with opened(settings_from(args), sync=False):
        await accounts.set_password(args.username, password)
    print(f"password of {args.username} changed (their sessions were closed)")
    return 0


async def cmd_token(args: argparse.Namespace) -> int:
    from federation.moderation import accounts

    scope = accounts.SCOPE_READ if args.read_only else accounts.SCOPE_MODERATION
    async with opened(settings_from(args), sync=False):
        token = await accounts.create_token(args.username, name=args.name, scopes=(scope,))
    print(token)
    print(f"(scope {scope}; shown once, store it now)", file=sys.stderr)
    return 0


async def cmd_revoke_tokens(args: argparse.Namespace) -> int:
    from federation.moderation import accounts

    async with opened(settings_from(args), sync=False):
        count = await accounts.revoke_tokens(args.username)
    print(f"{count} token(s) revoked")
    return 0


async def cmd_list_blocks(args: argparse.Namespace) -> int:
    from federation.db.social import Block

    async with opened(settings_from(args), sync=False):
        rows = await Block.all().order_by("-id")
    emit("blocks", [{"id": row.id, "kind": str(row.kind), "value": row.value,
                     "created_at": f"{row.created_at:%Y-%m-%d}", "created_by": row.created_by,
                     "reason": row.reason} for row in rows],
         [("id", "id"), ("kind", "kind"), ("blocked", "value"), ("since", "created_at"),
          ("by", "created_by"), ("reason", "reason")], as_json=args.json, empty="(no blocks)")
    return 0


async def cmd_unblock(args: argparse.Namespace) -> int:
    from federation.moderation.service import ModerationService

    settings = settings_from(args)
    async with opened(settings, sync=False) as directory:
        await ModerationService(settings, directory).unblock(args.id, args.moderator)
    print(f"block {args.id} lifted")
    return 0


async def cmd_list_replies(args: argparse.Namespace) -> int:
    from federation.db.moderation import Reply
    from federation.moderation.web.views import excerpt
    from federation.protocol.html import html_to_text

    async with opened(settings_from(args), sync=False):
        ordering = "id" if args.state == "pending" else "-id"
        replies = await Reply.filter(state=args.state).order_by(ordering).limit(
            max(1, min(args.limit, 1000))
        ).prefetch_related("author", "target")
    rows = [{"id": reply.id, "received_at": f"{reply.received_at:%Y-%m-%d %H:%M}",
             "author": reply.author.handle, "kind": str(reply.kind),
             "answers": reply.target.uri if reply.target else reply.in_reply_to_uri,
             "uri": reply.uri, "summary": reply.summary,
             "excerpt": excerpt(html_to_text(reply.content_html[:20000]), EXCERPT_CHARS),
             "text": html_to_text(reply.content_html[:20000])[:5000]}
            for reply in replies]
    emit("replies", rows, [("id", "id"), ("received", "received_at"), ("author", "author"),
                           ("answers", "answers"), ("excerpt", "excerpt")],
         as_json=args.json, empty=f"(no {args.state} replies)")
    return 0


async def cmd_decide(args: argparse.Namespace) -> int:
    from federation.moderation.service import ModerationService

    settings = settings_from(args)
    async with opened(settings, sync=False) as directory:
        service = ModerationService(settings, directory)
        outcomes = await service.bulk(Action(args.action), args.ids, args.moderator)
    failed = 0
    for outcome in outcomes:
        if outcome.ok:
            print(f"{outcome.reply_id}: {outcome.state}")
        else:
            failed += 1
            print(f"{outcome.reply_id}: {outcome.error}", file=sys.stderr)
    return 1 if failed else 0


async def cmd_log(args: argparse.Namespace) -> int:
    from federation.db.moderation import Decision
    from federation.moderation.service import undo_deadline

    async with opened(settings_from(args), sync=False):
        rows = await Decision.all().order_by("-id").limit(max(1, min(args.limit, 1000)))
    emit("decisions", [{
        "id": d.id, "at": f"{d.created_at:%Y-%m-%d %H:%M:%S}", "moderator": d.moderator,
        "action": d.action, "subject_type": d.subject_type, "subject": d.subject_uri,
        "name": d.subject_name, "from_state": d.from_state, "to_state": d.to_state,
        "note": d.note, "undone": d.undone_at is not None,
        "undo_until": (f"{deadline:%Y-%m-%d %H:%M:%S}" if (deadline := undo_deadline(d))
                       else None),
    } for d in rows], [("id", "id"), ("at (utc)", "at"), ("moderator", "moderator"),
                       ("action", "action"), ("from", "from_state"), ("to", "to_state"),
                       ("undone", "undone"), ("undo until", "undo_until"),
                       ("about", "name")], as_json=args.json, empty="(no decisions)")
    return 0


async def cmd_undo_decision(args: argparse.Namespace) -> int:
    from federation.moderation.service import ModerationService

    settings = settings_from(args)
    async with opened(settings, sync=False) as directory:
        undo = await ModerationService(settings, directory).undo_decision(args.id,
                                                                          args.moderator)
    print(f"decision {args.id} undone (audit row {undo.id}: {undo.subject_name or undo.subject_uri}"
          f" {undo.from_state or '-'} -> {undo.to_state or '-'})")
    return 0


async def cmd_list_reports(args: argparse.Namespace) -> int:
    from federation.db.moderation import Report
    from federation.moderation.web.views import excerpt, strings

    async with opened(settings_from(args), sync=False):
        rows = await Report.filter(resolved=args.resolved).order_by("-id").limit(
            200).prefetch_related("reporter")
    emit("reports", [{
        "id": r.id, "received_at": f"{r.received_at:%Y-%m-%d %H:%M}",
        "reporter": r.reporter.handle if r.reporter else None, "resolved": r.resolved,
        "activity": r.activity_uri, "objects": strings(r.object_uris, 200),
        "content": r.content, "excerpt": excerpt(r.content, EXCERPT_CHARS), "note": r.note,
    } for r in rows], [("id", "id"), ("received", "received_at"), ("reporter", "reporter"),
                       ("note", "note"), ("comment", "excerpt")],
         as_json=args.json, empty=f"(no {'resolved' if args.resolved else 'open'} reports)")
    return 0


async def cmd_note(args: argparse.Namespace) -> int:
    from federation.db import is_row_id
    from federation.db.moderation import Report
    from federation.errors import NotFound
    from federation.moderation.service import REPORT_NOTE_CHARS, ModerationService

    text = sys.stdin.read() if args.text == "-" else args.text
    if text is not None and len(text.strip()) > REPORT_NOTE_CHARS:
        raise BadRequest(f"a note is at most {REPORT_NOTE_CHARS} characters")
    settings = settings_from(args)
    async with opened(settings, sync=False) as directory:
        if text is not None:
            await ModerationService(settings, directory).annotate_report(
                args.id, args.moderator, text)
        report = await Report.get_or_none(id=args.id) if is_row_id(args.id) else None
        if report is None:
            raise NotFound("no such report")
    if text is not None:
        print(f"note of report {args.id} {'saved' if report.note else 'cleared'}",
              file=sys.stderr)
    elif report.note:
        print(report.note)
    else:
        print(f"(report {args.id} has no note)", file=sys.stderr)
    return 0
