"""What the moderation pages show, built from stored rows: replies with their author, article
and attachments; our articles (title and excerpt); the notices after a decision (what was done
to whom, with an undo button); the audit log's rows with names, handles and translated states.

A stored row, whatever its content, never breaks a page: URLs become links only through
:func:`~federation.protocol.uris.link_url`, JSON columns are read whatever their shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from federation.db import column
from federation.db.content import ContentObject
from federation.db.moderation import Action, Decision, Reply, Report
from federation.db.social import BlockKind, RemoteActor
from federation.moderation.service import actor_label, undo_deadline
from federation.protocol.html import html_to_text
from federation.protocol.uris import link_url
from federation.web.admin import MAX_NOTICES, clean_html, format_time
from federation.web.admin.i18n import Translate, format_message, of_name

#: Characters of an article's or a reply's text shown as its excerpt.
EXCERPT_CHARS = 280


def strings(value: Any, limit: int) -> list[str]:
    """The strings of a stored JSON list (a lone string counts as one), at most ``limit``:
    a row written by an older version may hold any JSON there."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [item for item in items if isinstance(item, str)][:limit]


def initials(name: str) -> str:
    words = [w for w in name.replace("@", " ").replace("_", " ").split() if w[:1].isalnum()]
    letters = "".join(w[0] for w in words[:2]).upper()
    return letters or "?"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class AttachmentView:
    type: str
    media_type: str
    name: str
    href: str | None


@dataclass(frozen=True)
class ArticleView:
    """One of our objects: its title, an excerpt of its text, a link to its page."""
    id: int
    title: str
    excerpt: str
    href: str | None


@dataclass(frozen=True)
class ReplyView:
    id: int
    state: str
    kind: str
    author_id: int
    author_name: str
    author_handle: str
    author_href: str | None
    instance: str
    initials: str
    received_at: str
    published_at: str | None
    content: Markup
    text: str
    summary: str
    sensitive: bool
    poll_options: list[str]
    poll_multiple: bool
    target_title: str | None
    target_href: str | None
    answers_reply: bool
    original_href: str | None
    is_public: bool
    edited: bool
    attachments: list[AttachmentView]
    thread_size: int


def title_of(obj: ContentObject) -> str:
    document = obj.document if isinstance(obj.document, dict) else {}
    for key in ("name", "summary"):
        value = document.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return obj.url or obj.uri


def article_view(obj: ContentObject) -> ArticleView:
    document = obj.document if isinstance(obj.document, dict) else {}
    text = ""
    for key in ("content", "summary"):
        value = document.get(key)
        if isinstance(value, str) and value.strip():
            text = html_to_text(value[:20000])
            break
    return ArticleView(id=obj.id, title=title_of(obj), excerpt=excerpt(text),
                       href=link_url(obj.url) or link_url(obj.uri))


def attachments_of(value: Any) -> list[AttachmentView]:
    """The stored attachment metadata (``type``, ``media_type``, ``name``, ``url``)."""
    views = []
    for item in value[:20] if isinstance(value, list) else []:
        if not isinstance(item, dict):
            continue
        field: dict[str, str] = {}
        for key in ("type", "media_type", "name", "url"):
            value = item.get(key)
            field[key] = value if isinstance(value, str) else ""
        views.append(AttachmentView(type=field["type"][:32] or "Document",
                                    media_type=field["media_type"][:100],
                                    name=field["name"][:200], href=link_url(field["url"])))
    return views


def poll_options(poll: Any) -> list[str]:
    """A stored poll's options (a stored row, whatever it holds, never breaks the page)."""
    options = poll.get("options") if isinstance(poll, dict) else None
    return [str(option) for option in options] if isinstance(options, list) else []


async def reply_views(replies: Iterable[Reply], zone: ZoneInfo) -> list[ReplyView]:
    """The replies (with ``author`` and ``target`` fetched) as the pages show them."""
    replies = list(replies)
    roots = {r.thread_root_uri for r in replies if r.thread_root_uri}
    sizes: dict[str, int] = {}
    if roots:
        root: str
        for root in await column(Reply.filter(thread_root_uri__in=list(roots)),
                                 "thread_root_uri"):
            sizes[root] = sizes.get(root, 0) + 1
    views = []
    for reply in replies:
        author = reply.author
        target = reply.target
        views.append(ReplyView(
            id=reply.id,
            state=str(reply.state),
            kind=str(reply.kind),
            author_id=author.id,
            author_name=author.name or author.handle,
            author_handle=author.handle,
            author_href=link_url(author.url) or link_url(author.uri),
            instance=author.authority,
            initials=initials(author.name or author.username or author.domain),
            received_at=format_time(reply.received_at, zone) or "",
            published_at=format_time(reply.published_at, zone),
            content=clean_html(reply.content_html),
            text=excerpt(html_to_text(reply.content_html[:20000]), 2000),
            summary=reply.summary,
            sensitive=reply.sensitive,
            poll_options=poll_options(reply.poll),
            poll_multiple=isinstance(reply.poll, dict) and reply.poll.get("mode") == "anyOf",
            target_title=title_of(target) if target is not None else None,
            target_href=link_url(target.url) or link_url(target.uri) if target else None,
            answers_reply=bool(target and reply.in_reply_to_uri
                               and reply.in_reply_to_uri != target.uri),
            original_href=link_url(reply.url) or link_url(reply.uri),
            is_public=reply.is_public,
            edited=reply.edited_at is not None,
            attachments=attachments_of(reply.attachments),
            thread_size=sizes.get(reply.thread_root_uri or "", 1),
        ))
    return views


# -- what a decision was about ------------------------------------------------------------------


async def subject_names(decisions: Iterable[Decision]) -> dict[int, str]:
    """Decision id → who or what it was about: the name kept with it, else (rows older than
    the name column) the reply's author, the blocked account's handle, the reporter."""
    names: dict[int, str] = {}
    reply_uris, actor_uris, report_uris = [], [], []
    for decision in decisions:
        if decision.subject_name:
            names[decision.id] = decision.subject_name
        elif decision.subject_type in ("reply", "quote"):
            reply_uris.append(decision.subject_uri)
        elif decision.subject_type == BlockKind.ACTOR:
            actor_uris.append(decision.subject_uri)
        elif decision.subject_type == "report":
            report_uris.append(decision.subject_uri)
    found: dict[str, str] = {}
    for reply in await Reply.filter(uri__in=reply_uris[:500]).prefetch_related("author"):
        found[reply.uri] = actor_label(reply.author)
    for actor in await RemoteActor.filter(uri__in=actor_uris[:500]):
        found[actor.uri] = actor_label(actor)
    for report in await Report.filter(activity_uri__in=report_uris[:500]).prefetch_related(
            "reporter"):
        if report.reporter is not None:
            found[report.activity_uri] = report.reporter.handle
    for decision in decisions:
        if decision.id not in names:
            names[decision.id] = found.get(decision.subject_uri, "")
    return names


def short_name(label: str) -> str:
    """« Alice Martin » of « Alice Martin (@alice@social.example) »."""
    name, _, rest = label.partition(" (@")
    return name if rest else label


def can_undo(decision: Decision, now: datetime) -> bool:
    """Whether the notice of ``decision`` offers an undo (the service checks again)."""
    deadline = undo_deadline(decision)
    return deadline is not None and now <= deadline


def notice_text(translate: Translate, language: str, decision: Decision, name: str) -> str:
    """« Réponse d'Alice validée », « Instance example.org bloquée », « Décision annulée : … »."""
    subject = "reply" if decision.subject_type == "quote" else decision.subject_type
    action = decision.action
    if action == Action.UNDO and subject in (BlockKind.ACTOR, BlockKind.DOMAIN):
        key = f"notice.undo.{subject}.{'blocked' if decision.to_state else 'unblocked'}"
    elif action == Action.UNDO:
        key = f"notice.undo.{subject}"
    else:
        key = f"notice.{action}.{subject}"
    if translate(key) == key:
        key = "notice.other"
    label = name or decision.subject_uri
    return format_message(translate, key, {
        "name": label, "of_name": of_name(language, short_name(label)),
        "action": translate(f"action.{action}"),
        "state": translate(f"state.{decision.to_state}") if decision.to_state else "",
    })


async def notices(translate: Translate, language: str, decision_ids: list[int],
                  now: datetime) -> list[dict[str, Any]]:
    """The notices of the decisions just taken (``?done=<id>``): a sentence each, and the id
    to undo when it can be."""
    ids = [i for i in decision_ids if 0 < i < 2**31][:MAX_NOTICES]
    if not ids:
        return []
    rows = {d.id: d for d in await Decision.filter(id__in=ids)}
    decisions = [rows[i] for i in dict.fromkeys(ids) if i in rows]
    names = await subject_names(decisions)
    result = []
    for decision in decisions:
        text = notice_text(translate, language, decision, names.get(decision.id, ""))
        undoable = can_undo(decision, now)
        result.append({
            "text": text,
            "undo_id": decision.id if undoable else None,
            "undo_label": format_message(translate, "aria.undo", {"what": text}),
        })
    return result


#: The notes the service writes itself, and their message keys.
_NOTES = {"actor blocked": "log.note.actor_blocked", "domain blocked": "log.note.domain_blocked",
          "already blocked": "log.note.already_blocked"}


def log_note(translate: Translate, note: str) -> str:
    """A decision's note; the ones the service writes itself, translated."""
    key = _NOTES.get(note)
    return translate(key) if key else note


def log_state(translate: Translate, state: str | None) -> str:
    if not state:
        return ""
    key = f"state.{state}"
    message = translate(key)
    return state if message == key else message
