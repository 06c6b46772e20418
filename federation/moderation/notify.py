"""Moderators are told: a new pending reply or report becomes e-mails and a webhook call, as jobs.

**Queued with the item.** :func:`item_received` runs inside the transaction that stores the
pending reply (``inbox/replies.py``, ``inbox/quotes.py``) or the report (``inbox/interactions.py``):
one :data:`~federation.jobs.kinds.NOTIFY_MAIL` job per moderator who asked for immediate
e-mails (``ref`` ``<item>:<id>:<moderator id>``, unique: a listener run twice queues nothing
more), and, when ``[moderation] webhook_url`` is set, one webhook call ``reply.received``
(``quote.received`` for a quote waiting under ``quotes = "moderated"``) or ``report.received``.
Nothing is sent in the request: the job worker sends, and retries by the kinds' policies.

**Sent by the worker.** :class:`Notifier` handles the mail jobs: it reads the moderator's
current preferences and the item's current state when it sends — a moderator who turned
notifications off, or an item already decided, gets no e-mail. An SMTP failure is retried
(1 min, 2 min … 6 h, 10 attempts); a refused address is final.

**The daily digest.** :meth:`Notifier.plan_digests` (a periodic job, every 15 minutes) finds the
moderators whose digest is due — ``[moderation] digest_hour`` in the site's timezone has passed
since the period their last digest covered — and, for each, in one transaction, moves
``digest_sent_at`` to that hour and queues one mail job (``ref`` ``digest:<moderator>:<hour>``).
So a restart, or two workers, never queue a day's digest twice, and a day missed while the
worker was down is covered by the next digest. The digest lists what arrived in its period and
still waits; nothing waits: no e-mail. The demo's items (``federation demo``: authors on the
fictitious ``.invalid`` instance) are never announced: no e-mail, no webhook call.

Without ``[smtp] host`` no mail job is queued (one line at start says so); the webhook works
on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from federation.db import column
from federation.db.content import ContentObject
from federation.db.moderation import ModeratorAccount, NotifyMode, Reply, ReplyState, Report
from federation.db.social import RemoteActor
from federation.jobs import store
from federation.jobs.kinds import NOTIFY_DIGEST, NOTIFY_MAIL
from federation.jobs.periodic import periodic
from federation.jobs.store import ClaimedJob
from federation.jobs.worker import Result, Task
from federation.moderation import mail, webhook
from federation.moderation.mail import DIGEST_ITEMS, EXCERPT_CHARS, Item, SendError
from federation.moderation.service import reply_summary
from federation.protocol.actors import iso
from federation.protocol.html import html_to_text
from federation.protocol.uris import NEVER_RESOLVING_TLD
from federation.settings import Settings

log = logging.getLogger(__name__)

#: How often the digest planner looks for due digests.
DIGEST_CHECK_EVERY = timedelta(minutes=15)
#: The ``key`` of mail jobs (the per-key cap is the SMTP server's sessions at once).
MAIL_KEY = "smtp"
REPLY, REPORT = "reply", "report"


def _from_demo(actor: str) -> Q:
    """Items whose ``actor`` (author, reporter) is on a ``.invalid`` host: the demo's
    (``federation demo``), never announced to moderators."""
    return (Q(**{f"{actor}__domain": NEVER_RESOLVING_TLD})
            | Q(**{f"{actor}__domain__endswith": f".{NEVER_RESOLVING_TLD}"}))


def _now() -> datetime:
    return datetime.now(UTC)


def reply_link(settings: Settings, reply_id: int) -> str:
    return f"{settings.base_url}/admin/thread/{reply_id}#reply-{reply_id}"


def report_link(settings: Settings, report_id: int) -> str:
    return f"{settings.base_url}/admin/reports#report-{report_id}"


def log_disabled(settings: Settings) -> None:
    """The one start-up line when e-mail notifications cannot be sent."""
    if not settings.smtp.enabled:
        log.info("e-mail notifications of moderators are off: no [smtp] host configured "
                 "(docs/configuration.md#smtp)")


# -- queued with the item ---------------------------------------------------------------------


def any_configured(settings: Settings) -> bool:
    """Whether :func:`item_received` may queue anything (mail or a webhook is configured):
    when not, a new item needs no transaction around it."""
    return bool(settings.smtp.enabled or settings.moderation.webhook_url)


async def item_received(settings: Settings, item: str, item_id: int, *,
                        now: datetime | None = None) -> int:
    """Queue the notifications of a new pending ``item`` (``reply`` or ``report``) — inside the
    caller's transaction, so they exist exactly when the item does. Returns the jobs queued."""
    now = now or _now()
    queued = 0
    if settings.smtp.enabled:
        moderators: list[int] = await column(ModeratorAccount.filter(
            notify=NotifyMode.IMMEDIATE, disabled=False).exclude(email=""), "id")
        for moderator in moderators:
            created = await store.ensure(
                NOTIFY_MAIL.name, f"{item}:{item_id}:{moderator}", key=MAIL_KEY, at=now,
                payload={"mail": item, "id": item_id, "moderator": moderator})
            queued += created is not None
    if settings.moderation.webhook_url:
        event_payload = await _webhook_payload(settings, item, item_id)
        if event_payload is not None:
            event, payload = event_payload
            await webhook.enqueue(settings, event, payload, now=now)
            queued += 1
    return queued


async def _webhook_payload(settings: Settings, item: str,
                           item_id: int) -> tuple[str, dict[str, Any]] | None:
    """The event and body of a ``*.received`` call: what the site needs to point a moderator
    at the item (never the content of a reply that is not approved)."""
    if item == REPLY:
        reply = await Reply.get_or_none(id=item_id).prefetch_related("author", "target")
        if reply is None:
            return None
        subject = "quote" if reply.kind == "quote" else "reply"
        return f"{subject}.received", {
            "reply": {"id": reply.id, **reply_summary(reply, with_content=False)},
            "admin_url": reply_link(settings, reply.id)}
    report = await Report.get_or_none(id=item_id).prefetch_related("reporter")
    if report is None:
        return None
    reporter = report.reporter
    return "report.received", {
        "report": {
            "id": report.id, "activity_uri": report.activity_uri,
            "reporter": {"uri": reporter.uri, "handle": reporter.handle}
            if reporter is not None else None,
            "objects": [u for u in report.object_uris if isinstance(u, str)][:20]
            if isinstance(report.object_uris, list) else [],
            "received": iso(report.received_at) if report.received_at else None,
        },
        "admin_url": report_link(settings, report.id)}


# -- sent by the worker -----------------------------------------------------------------------


def _author(actor: RemoteActor | None) -> str:
    if actor is None:
        return "?"
    handle = actor.handle
    name = mail.one_line(actor.name or "", 80)
    return f"{name} ({handle})" if name and name != handle else handle


def _title(target: ContentObject | None) -> str:
    if target is None:
        return ""
    document = target.document if isinstance(target.document, dict) else {}
    for key in ("name", "summary"):
        value = document.get(key)
        if isinstance(value, str) and value.strip():
            return mail.one_line(html_to_text(value), 200)
    return target.url or target.uri


def reply_item(settings: Settings, reply: Reply) -> Item:
    excerpt = html_to_text(reply.summary or "") + " " + html_to_text(reply.content_html or "")
    return Item(kind=str(reply.kind), author=_author(reply.author),
                excerpt=mail.one_line(excerpt, EXCERPT_CHARS), about=_title(reply.target),
                link=reply_link(settings, reply.id))


async def report_item(settings: Settings, report: Report) -> Item:
    uris = [u for u in report.object_uris if isinstance(u, str)][:20] \
        if isinstance(report.object_uris, list) else []
    titles = [_title(o) for o in await ContentObject.filter(uri__in=uris).limit(3)]
    about = "; ".join(titles) if titles else (uris[0] if uris else "")
    if len(uris) > len(titles) and titles:
        about += f" (+{len(uris) - len(titles)})"
    return Item(kind=REPORT, author=_author(report.reporter),
                excerpt=mail.one_line(report.content or "", EXCERPT_CHARS),
                about=mail.one_line(about, 300), link=report_link(settings, report.id))


def digest_due(now: datetime, hour: int, zone: ZoneInfo) -> datetime:
    """The latest ``hour``:00 in ``zone`` at or before ``now`` (UTC)."""
    local = now.astimezone(zone)
    moment = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if moment > local:
        moment = (moment - timedelta(days=1)).replace(hour=hour)
    return moment.astimezone(UTC)


class Notifier:
    """Sends the moderators' e-mails (the handler of :data:`NOTIFY_MAIL` jobs) and plans the
    daily digests (:data:`NOTIFY_DIGEST`)."""

    def __init__(self, settings: Settings, *,
                 clock: Callable[[], datetime] = _now) -> None:
        self._settings = settings
        self._clock = clock

    def tasks(self) -> list[Task]:
        return [Task(NOTIFY_MAIL, self.send),
                periodic(NOTIFY_DIGEST, DIGEST_CHECK_EVERY, self.plan_digests, self._clock)]

    # -- digests ----------------------------------------------------------------------------

    async def plan_digests(self, now: datetime) -> str:
        """Queue the digests that are due (see the module); return what was done."""
        config = self._settings
        due = digest_due(now, config.moderation.digest_hour, ZoneInfo(config.site.timezone))
        queued = 0
        accounts = await ModeratorAccount.filter(
            Q(digest_sent_at__isnull=True) | Q(digest_sent_at__lt=due),
            notify=NotifyMode.DIGEST, disabled=False).exclude(email="")
        for account in accounts:
            since = account.digest_sent_at or due - timedelta(days=1)
            async with in_transaction():
                moved = await ModeratorAccount.filter(
                    Q(digest_sent_at__isnull=True) | Q(digest_sent_at__lt=due),
                    id=account.id).update(digest_sent_at=due)
                if not moved:  # another worker did it
                    continue
                created = await store.ensure(
                    NOTIFY_MAIL.name, f"digest:{account.id}:{due:%Y-%m-%dT%H}", key=MAIL_KEY,
                    at=now, payload={"mail": "digest", "moderator": account.id,
                                     "since": since.astimezone(UTC).isoformat(),
                                     "until": due.isoformat()})
            queued += created is not None
        return f"{queued} digest(s) queued" if queued else ""

    # -- one e-mail -------------------------------------------------------------------------

    async def send(self, job: ClaimedJob) -> Result:
        payload = job.payload if isinstance(job.payload, dict) else {}
        kind = payload.get("mail")
        account = await ModeratorAccount.get_or_none(id=payload.get("moderator", 0))
        if account is None or account.disabled or not account.email:
            return Result.done({**payload, "skipped": "no such moderator or no address"})
        if not self._settings.smtp.enabled:
            return Result.retry("no [smtp] host configured")
        wanted = NotifyMode.DIGEST if kind == "digest" else NotifyMode.IMMEDIATE
        if account.notify != wanted:
            return Result.done({**payload, "skipped": f"the moderator chose {account.notify}"})
        now = self._clock()
        if kind == "digest":
            message = await self._digest(job, account, payload, now)
        elif kind in (REPLY, REPORT):
            message = await self._item(job, account, kind, payload, now)
        else:
            return Result.fail(f"unknown notification {str(kind)[:40]!r}")
        if message is None:
            return Result.done({**payload, "skipped": "nothing waits any more"})
        try:
            await mail.send(self._settings.smtp, message)
        except SendError as error:
            if error.permanent:
                log.warning("e-mail %s to moderator %s refused for good: %s", job.id,
                            account.username, error.message)
                return Result.fail(error.message)
            log.warning("e-mail %s to moderator %s not sent (attempt %s): %s", job.id,
                        account.username, job.attempts, error.message)
            return Result.retry(error.message)
        log.info("e-mail %s (%s) sent to moderator %s", job.id, kind, account.username)
        return Result.done()

    async def _item(self, job: ClaimedJob, account: ModeratorAccount, kind: str,
                    payload: dict[str, Any], now: datetime) -> Any:
        item: Item | None = None
        if kind == REPLY:
            reply = await Reply.get_or_none(id=payload.get("id", 0),
                                            state=ReplyState.PENDING).prefetch_related(
                "author", "target")
            item = reply_item(self._settings, reply) if reply is not None else None
        else:
            report = await Report.get_or_none(id=payload.get("id", 0),
                                              resolved=False).prefetch_related("reporter")
            item = await report_item(self._settings, report) if report is not None else None
        if item is None:
            return None
        return mail.item_message(self._settings, item, to=account.email,
                                 username=account.username, language=account.language,
                                 job_id=job.id, now=now)

    async def _digest(self, job: ClaimedJob, account: ModeratorAccount,
                      payload: dict[str, Any], now: datetime) -> Any:
        try:
            since = datetime.fromisoformat(str(payload["since"]))
            until = datetime.fromisoformat(str(payload["until"]))
        except (KeyError, ValueError):
            return None
        replies = Reply.filter(state=ReplyState.PENDING, received_at__gte=since,
                               received_at__lt=until).exclude(_from_demo("author"))
        reports = Report.filter(Q(reporter_id__isnull=True) | ~_from_demo("reporter"),
                                resolved=False, received_at__gte=since, received_at__lt=until)
        total = await replies.count() + await reports.count()
        if not total:
            return None
        items = [reply_item(self._settings, r) for r in await replies.order_by("id").limit(
            DIGEST_ITEMS).prefetch_related("author", "target")]
        for report in await reports.order_by("id").limit(
                max(DIGEST_ITEMS - len(items), 0)).prefetch_related("reporter"):
            items.append(await report_item(self._settings, report))
        waiting = (await Reply.filter(state=ReplyState.PENDING).exclude(
            _from_demo("author")).count() + await Report.filter(
            Q(reporter_id__isnull=True) | ~_from_demo("reporter"), resolved=False).count())
        return mail.digest_message(self._settings, items, more=total - len(items),
                                   waiting=waiting, to=account.email, username=account.username,
                                   language=account.language, job_id=job.id, now=now)
