"""The moderation queue's rules.

States of a reply — or of a quote (kind ``quote``) — (``moderation.Reply.state``)::

    pending ──approve──▶ approved      (Accept + Reply/QuoteAuthorization sent to the author)
    pending ──reject───▶ rejected      (Reject sent to the author)
    pending ──spam─────▶ spam          (nothing sent: spammers get no feedback)
    approved/rejected/spam ──undo──▶ pending

A decision is taken only on a pending reply (anything else is a 409): to change one, undo it
first. Undoing an approval revokes its authorization (its id then answers 410 with a Tombstone)
and the reply leaves every public list at once; for a reply nothing is sent, for a quote a
``Delete`` of the QuoteAuthorization goes to the quoter and our followers (Mastodon then
detaches the quote). Approving again reinstates the *same* authorization (same id, 200 again):
a GoToSocial server that recorded it as the reply's ``replyAuthorization`` keeps a valid proof.
Undoing a rejection or a spam mark sends nothing. Every decision writes one ``Decision`` row
(who, what, when) and, when the site's webhook is configured, one webhook call — in the same
transaction (none for the demo's items, from the fictitious ``.invalid`` instance of
``federation demo``: nothing is ever sent to them either, the delivery fanout skips them). Quotes accepted by the ``[moderation] quotes = "automatic"`` policy are approved
through the same path, by the moderator :data:`AUTOMATIC`.

Blocking an author (``social.Block`` kind actor) or their domain (kind domain) also moves the
blocked party's pending replies to ``rejected`` without sending anything to them (each such
audit row names the block's decision as its ``cause``).

Undo (:meth:`ModerationService.undo_decision`, the notices' button) reverses one recent
decision of the audit log, within :data:`UNDO_WINDOW`, if nothing changed its subject since:

- approve, reject, spam: the reply back to ``pending`` (as :meth:`~ModerationService.undo`);
- block_author, block_domain: the block removed, and the pending replies it rejected back to
  ``pending`` (those still rejected by it); a block that already existed is not undone;
- unblock: the block made again, with its reason;
- resolve, reopen: the report's state back.

A delete (of a report), a note and an undo are final. An undo is itself audited (action
``undo``) and the decision it reverses gets ``undone_at``: a second undo is a 409. Errors a
person may read carry a message key (:class:`~federation.errors.FederationError`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from federation.db import column, is_row_id
from federation.db.moderation import (
    Action,
    Decision,
    Reply,
    ReplyAuthorization,
    ReplyKind,
    ReplyState,
    Report,
)
from federation.db.social import Block, BlockKind, RemoteActor
from federation.errors import BadRequest, Conflict, NotFound
from federation.identity.directory import ActorDirectory, LocalActor
from federation.moderation import webhook
from federation.moderation.activities import (
    QUOTE_AUTHORIZATION,
    Interaction,
    build_accept,
    build_authorization,
    build_reject,
    build_revocation,
)
from federation.protocol.actors import AS_PUBLIC, iso
from federation.protocol.uris import link_url, never_resolves, origin_of
from federation.settings import Settings

log = logging.getLogger(__name__)

#: ``send(activity, sender=…, audience=…, public=…)`` — :func:`federation.delivery.outbox.send_activity`.
Sender = Callable[..., Awaitable[Any]]

#: The name in the audit log of decisions taken by the quote policy, not by a person.
AUTOMATIC = "(automatic)"

#: How long after a decision its notice's undo still works (older ones: undo by hand — the
#: reply's « Undo decision », the block list's « Unblock »).
UNDO_WINDOW = timedelta(minutes=30)

#: The decisions :meth:`ModerationService.undo_decision` can reverse.
UNDOABLE = frozenset({Action.APPROVE, Action.REJECT, Action.SPAM, Action.BLOCK_AUTHOR,
                      Action.BLOCK_DOMAIN, Action.UNBLOCK, Action.RESOLVE, Action.REOPEN})

#: The longest note a report keeps (a longer one is cut by the web form, refused by the API).
REPORT_NOTE_CHARS = 4000


def undo_deadline(decision: Decision) -> datetime | None:
    """Until when :meth:`ModerationService.undo_decision` may reverse ``decision``; None when
    it never may (already undone, a final action, a no-op). The service checks again when
    asked, with its subject: one changed since is a 409 even before the deadline."""
    if (decision.undone_at is not None or decision.action not in UNDOABLE
            or decision.from_state == decision.to_state):
        return None
    return decision.created_at + UNDO_WINDOW


#: The decision each action on a pending reply leads to.
_DECIDE = {
    Action.APPROVE: ReplyState.APPROVED,
    Action.REJECT: ReplyState.REJECTED,
    Action.SPAM: ReplyState.SPAM,
}


@dataclass(frozen=True)
class Outcome:
    """The result of one action of a bulk request."""

    reply_id: int
    ok: bool
    state: str | None = None
    error: str | None = None
    #: The audit row of the decision (when ok), and the error's message key and params.
    decision_id: int | None = None
    error_key: str | None = None
    error_params: dict[str, str] | None = None


def _default_sender() -> Sender:
    from federation.delivery.outbox import send_activity

    return send_activity


async def _withdraw_answers(reply: Reply, at: datetime) -> None:
    """The Accept or Reject that told the decision now undone answers 410 at its id (what it
    answered: the reply, or the request inlined)."""
    from federation.delivery.outbox import withdraw_activities

    for answered in dict.fromkeys(u for u in (reply.uri, reply.request_activity_uri) if u):
        await withdraw_activities(object_uri=answered, types=("Accept", "Reject"), at=at)


def _audience_of(author_uri: str, followers_of: str | None = None) -> Any:
    from federation.delivery.outbox import Audience

    return Audience(actor_uris=(author_uri,), followers_of=followers_of)


def _widely(activity: dict[str, Any], sender: LocalActor) -> str | None:
    """Our actor's identifier when ``activity`` is cc'd to its followers (they get it too)."""
    return sender.identifier if AS_PUBLIC in activity.get("cc", ()) else None


def _new_activity_uri(directory: ActorDirectory, kind: str) -> str:
    return directory.uris.activity(f"{kind}-{secrets.token_hex(16)}")


def actor_label(actor: RemoteActor) -> str:
    """How the audit log names a remote actor: its name and handle."""
    handle = actor.handle
    name = (actor.name or "").strip()
    return f"{name} ({handle})"[:400] if name and name != handle else handle[:400]


def _no_reply() -> NotFound:
    return NotFound("no such reply", key="error.reply.not_found")


class ModerationService:
    """Approve, reject, mark as spam, undo, block; each decision audited and announced."""

    def __init__(self, settings: Settings, directory: ActorDirectory, *,
                 send: Sender | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 on_decision: Callable[[], None] | None = None) -> None:
        self._settings = settings
        self._directory = directory
        self._send = send
        self._clock = clock
        self._on_decision = on_decision  # wakes the webhook worker

    def now(self) -> datetime:
        """The service's clock (undo windows are measured with it)."""
        return self._clock()

    @property
    def send(self) -> Sender:
        if self._send is None:
            self._send = _default_sender()
        return self._send

    # -- lookups --------------------------------------------------------------------------

    async def reply(self, reply_id: int) -> Reply:
        reply = None
        if is_row_id(reply_id):
            reply = await Reply.get_or_none(id=reply_id).prefetch_related(
                "author", "target", "local_actor"
            )
        if reply is None:
            raise _no_reply()
        return reply

    def our_actor(self, reply: Reply) -> LocalActor:
        """The actor that answers for ``reply``: its target's actor, the mentioned actor, or
        the site actor."""
        identifier = None
        if reply.target is not None:
            identifier = _identifier_of(reply.target.actor_id, self._directory)
        if identifier is None and reply.local_actor is not None:
            identifier = reply.local_actor.identifier
        if identifier is None:
            return self._directory.site_actor
        try:
            return self._directory.get(identifier)
        except NotFound:
            return self._directory.site_actor

    def interaction(self, reply: Reply) -> Interaction:
        """The facts of ``reply``: what it answers is its *direct* ``inReplyTo`` (what
        GoToSocial checks an authorization's ``interactionTarget`` against), what a quote
        quotes is its target; a mention answers our actor."""
        actor = self.our_actor(reply)
        if reply.kind == ReplyKind.QUOTE and reply.target is not None:
            target_uri = reply.target.uri
        elif reply.kind == ReplyKind.MENTION and reply.target is None:
            target_uri = actor.uri
        else:
            target_uri = reply.in_reply_to_uri or (
                reply.target.uri if reply.target is not None else actor.uri)
        request_uri = None
        if reply.kind in (ReplyKind.REPLY_REQUEST, ReplyKind.QUOTE):
            request_uri = reply.request_activity_uri
        return Interaction(
            our_actor_uri=actor.uri, replier_uri=reply.author.uri, reply_uri=reply.uri,
            target_uri=target_uri, request_uri=request_uri,
            request_type="QuoteRequest" if reply.kind == ReplyKind.QUOTE else "ReplyRequest",
            followers_uri=self._directory.uris.followers(actor.identifier),
            is_public=reply.is_public,
        )

    # -- decisions ------------------------------------------------------------------------

    async def decide(self, reply_id: int, action: Action | str, moderator: str,
                     *, note: str = "") -> Reply:
        """Apply one of approve, reject, spam or undo to a reply."""
        reply, _ = await self.decide_recorded(reply_id, action, moderator, note=note)
        return reply

    async def decide_recorded(self, reply_id: int, action: Action | str, moderator: str,
                              *, note: str = "") -> tuple[Reply, Decision]:
        """:meth:`decide`, and the decision's audit row (for the notice and its undo)."""
        try:
            action = Action(action)
        except ValueError:
            raise BadRequest(f"unknown action {action!r}", key="error.action.unknown") from None
        if action == Action.UNDO:
            return await self._undo_reply(reply_id, moderator, note=note)
        if action not in _DECIDE:
            raise BadRequest(f"{action} is not a decision on a reply",
                             key="error.action.unknown")
        async with in_transaction():
            reply = await self._pending(reply_id)
            now = self._clock()
            from_state = reply.state
            reply.state = _DECIDE[action]
            reply.decided_at = now
            fields = ["state", "decided_at"]
            interaction = self.interaction(reply)
            sender = self._directory.get(self.our_actor(reply).identifier)
            if action == Action.APPROVE:
                authorization = await self._authorize(reply, interaction)
                reply.authorization_uri = authorization.uri
                fields.append("authorization_uri")
                activity = build_accept(
                    interaction, activity_uri=_new_activity_uri(self._directory, "accept"),
                    authorization_uri=authorization.uri,
                )
            elif action == Action.REJECT:
                activity = build_reject(
                    interaction, activity_uri=_new_activity_uri(self._directory, "reject")
                )
            else:
                activity = None
            await reply.save(update_fields=fields)
            decision = await self._audit(moderator, action, _subject(reply), reply.uri, from_state,
                                         reply.state, note, name=actor_label(reply.author))
            if activity is not None:
                audience = _audience_of(reply.author.uri, _widely(activity, sender))
                await self.send(activity, sender=sender, audience=audience, public=False)
            await self._notify(decision, reply)
        log.info("%s %s %s by %s", reply.kind, reply.id, reply.state, moderator)
        return reply, decision

    async def refuse_quote(self, *, actor_db_id: int, quoter_uri: str, note_uri: str,
                           quoted_uri: str, request_uri: str) -> None:
        """``[moderation] quotes = "nobody"``: a Reject of the QuoteRequest, nothing kept."""
        identifier = _identifier_of(actor_db_id, self._directory)
        sender = self._directory.get(identifier) if identifier else self._directory.site_actor
        interaction = Interaction(
            our_actor_uri=sender.uri, replier_uri=quoter_uri, reply_uri=note_uri,
            target_uri=quoted_uri, request_uri=request_uri, request_type="QuoteRequest",
        )
        activity = build_reject(interaction,
                                activity_uri=_new_activity_uri(self._directory, "reject"))
        await self.send(activity, sender=sender, audience=_audience_of(quoter_uri), public=False)

    async def approve(self, reply_id: int, moderator: str) -> Reply:
        return await self.decide(reply_id, Action.APPROVE, moderator)

    async def reject(self, reply_id: int, moderator: str) -> Reply:
        return await self.decide(reply_id, Action.REJECT, moderator)

    async def mark_spam(self, reply_id: int, moderator: str) -> Reply:
        return await self.decide(reply_id, Action.SPAM, moderator)

    async def undo(self, reply_id: int, moderator: str, *, note: str = "") -> Reply:
        """Put a decided reply back in the queue; an approval's authorization is revoked, and
        the Accept or Reject that told the decision answers 410 at its id."""
        reply, _ = await self._undo_reply(reply_id, moderator, note=note)
        return reply

    async def _undo_reply(self, reply_id: int, moderator: str, *, note: str = "",
                          cause_id: int | None = None) -> tuple[Reply, Decision]:
        async with in_transaction():
            reply = await self._locked(reply_id)
            if reply.state == ReplyState.PENDING:
                raise Conflict("this reply has no decision to undo",
                               key="error.reply.no_decision")
            now = self._clock()
            from_state = reply.state
            revoked = []
            if reply.state == ReplyState.APPROVED:
                revoked = await ReplyAuthorization.filter(reply_id=reply.id,
                                                          revoked_at__isnull=True)
                await ReplyAuthorization.filter(id__in=[r.id for r in revoked]).update(
                    revoked_at=now
                )
                reply.authorization_uri = None
            reply.state = ReplyState.PENDING
            reply.decided_at = None
            await reply.save(update_fields=["state", "decided_at", "authorization_uri"])
            await Decision.filter(subject_uri=reply.uri, undone_at__isnull=True).update(
                undone_at=now)  # whichever decision put it there is reversed now
            await _withdraw_answers(reply, now)
            decision = await self._audit(moderator, Action.UNDO, _subject(reply), reply.uri,
                                         from_state, reply.state, note,
                                         name=actor_label(reply.author), cause_id=cause_id)
            for authorization in revoked:
                if authorization.object_type == QUOTE_AUTHORIZATION:
                    await self._revoke_quote(reply, authorization)
            await self._notify(decision, reply)
        log.info("reply %s back to pending (was %s) by %s", reply.id, from_state, moderator)
        return reply, decision

    async def bulk(self, action: Action | str, reply_ids: Iterable[int],
                   moderator: str) -> list[Outcome]:
        """The same action on many replies, each in its own transaction."""
        outcomes = []
        for reply_id in dict.fromkeys(reply_ids):
            try:
                reply, decision = await self.decide_recorded(reply_id, action, moderator)
            except (NotFound, Conflict, BadRequest) as error:
                outcomes.append(Outcome(reply_id, False, error=error.message,
                                        error_key=error.key, error_params=error.params))
            else:
                outcomes.append(Outcome(reply_id, True, state=str(reply.state),
                                        decision_id=decision.id))
        return outcomes

    # -- blocks ---------------------------------------------------------------------------

    async def block_author(self, reply_id: int, moderator: str, *, reason: str = "") -> Block:
        reply = await self.reply(reply_id)
        block, _ = await self.block_remote(reply.author_id, BlockKind.ACTOR, moderator,
                                           reason=reason)
        return block

    async def block_domain(self, reply_id: int, moderator: str, *, reason: str = "") -> Block:
        reply = await self.reply(reply_id)
        block, _ = await self.block_remote(reply.author_id, BlockKind.DOMAIN, moderator,
                                           reason=reason)
        return block

    async def remote_actor(self, remote_id: int) -> RemoteActor:
        actor = await RemoteActor.get_or_none(id=remote_id) if is_row_id(remote_id) else None
        if actor is None:
            raise NotFound("no such remote actor", key="error.actor.not_found")
        return actor

    async def block_remote(self, remote_id: int, kind: BlockKind | str, moderator: str, *,
                           reason: str = "") -> tuple[Block, Decision]:
        """Block a remote actor (kind ``actor``) or its whole domain (kind ``domain``)."""
        try:
            kind = BlockKind(kind)
        except ValueError:
            raise BadRequest(f"unknown block kind {kind!r}", key="error.action.unknown") from None
        actor = await self.remote_actor(remote_id)
        if kind == BlockKind.ACTOR:
            return await self._block(kind, actor.uri, moderator, reason, actor_label(actor))
        domain = actor.domain.lower()
        return await self._block(kind, domain, moderator, reason, domain)

    async def unblock(self, block_id: int, moderator: str) -> Decision:
        async with in_transaction():
            block = await Block.get_or_none(id=block_id) if is_row_id(block_id) else None
            if block is None:
                raise NotFound("no such block", key="error.block.not_found")
            await block.delete()
            decision = await self._audit(moderator, Action.UNBLOCK, str(block.kind), block.value,
                                         "blocked", None, block.reason,
                                         name=await _block_label(block.kind, block.value))
            await self._notify(decision, None)
        return decision

    async def _block(self, kind: BlockKind, value: str, moderator: str, reason: str,
                     name: str, *, undoing: Decision | None = None) -> tuple[Block, Decision]:
        """Block ``value``; its pending replies are rejected. ``undoing``: an unblock this
        reverses (audited as its undo)."""
        if kind == BlockKind.DOMAIN and value == origin_of(self._settings.base_url).host:
            raise BadRequest("our own domain cannot be blocked", key="error.block.own_domain")
        async with in_transaction():
            block, created = await Block.get_or_create(
                kind=kind, value=value,
                defaults={"reason": reason[:2000], "created_by": moderator[:255]},
            )
            if kind == BlockKind.ACTOR:
                authors = RemoteActor.filter(uri=value)
            else:
                authors = RemoteActor.filter(domain=value)
            author_ids: list[int] = await column(authors, "id")
            pending = await Reply.filter(author_id__in=list(author_ids),
                                         state=ReplyState.PENDING).prefetch_related("author")
            now = self._clock()
            if undoing is not None:
                undoing.undone_at = now
                await undoing.save(update_fields=["undone_at"])
                action = Action.UNDO
            else:
                action = Action.BLOCK_AUTHOR if kind == BlockKind.ACTOR else Action.BLOCK_DOMAIN
            decision = await self._audit(
                moderator, action, str(kind), value, None if created else "blocked", "blocked",
                reason if created else "already blocked", name=name,
                cause_id=undoing.id if undoing is not None else None)
            for reply in pending:
                reply.state = ReplyState.REJECTED
                reply.decided_at = now
                await reply.save(update_fields=["state", "decided_at"])
                await self._audit(moderator, "block", _subject(reply), reply.uri, ReplyState.PENDING,
                                  ReplyState.REJECTED, f"{kind} blocked",
                                  name=actor_label(reply.author), cause_id=decision.id)
            await self._notify(decision, None)
        log.info("%s %s blocked by %s (%s pending replies rejected)", kind, value, moderator,
                 len(pending))
        return block, decision

    # -- reports --------------------------------------------------------------------------

    async def resolve_report(self, report_id: int, moderator: str, *,
                             resolved: bool = True) -> Report:
        report, _ = await self.resolve_report_recorded(report_id, moderator, resolved=resolved)
        return report

    async def resolve_report_recorded(self, report_id: int, moderator: str, *,
                                      resolved: bool = True,
                                      undoing: Decision | None = None) -> tuple[Report, Decision]:
        """Resolve (or reopen) a report; the audit row too. ``undoing``: the decision this
        reverses (audited as its undo)."""
        async with in_transaction():
            report = await self._report(report_id)
            if report.resolved == resolved:
                state = "resolved" if resolved else "open"
                raise Conflict(f"the report is already {state}", key="error.report.already",
                               params={"state": state})
            report.resolved = resolved
            await report.save(update_fields=["resolved"])
            action = Action.RESOLVE if resolved else Action.REOPEN
            if undoing is not None:
                undoing.undone_at = self._clock()
                await undoing.save(update_fields=["undone_at"])
                action = Action.UNDO
            decision = await self._audit(
                moderator, action, "report", report.activity_uri,
                "open" if resolved else "resolved", "resolved" if resolved else "open", "",
                name=_report_label(report), cause_id=undoing.id if undoing else None,
            )
            await self._notify(decision, None)
        return report, decision

    async def annotate_report(self, report_id: int, moderator: str, note: str) -> Decision:
        """Save the moderators' note on a report (replacing the previous one); audited."""
        async with in_transaction():
            report = await self._report(report_id)
            report.note = note.strip()[:REPORT_NOTE_CHARS]
            await report.save(update_fields=["note"])
            state = "resolved" if report.resolved else "open"
            decision = await self._audit(moderator, Action.NOTE, "report", report.activity_uri,
                                         state, state, report.note, name=_report_label(report))
        return decision

    async def delete_report(self, report_id: int, moderator: str) -> Decision:
        """Remove a report for good (spam, or a report no one can act on); the audit log keeps
        who removed which report (the row returned)."""
        async with in_transaction():
            report = await self._report(report_id)
            await report.delete()
            decision = await self._audit(
                moderator, Action.DELETE, "report", report.activity_uri,
                "resolved" if report.resolved else "open", None, "",
                name=_report_label(report),
            )
            await self._notify(decision, None)
        return decision

    async def _report(self, report_id: int) -> Report:
        report = None
        if is_row_id(report_id):
            report = await Report.get_or_none(id=report_id).prefetch_related("reporter")
        if report is None:
            raise NotFound("no such report", key="error.report.not_found")
        return report

    # -- undo -----------------------------------------------------------------------------

    async def undo_decision(self, decision_id: int, moderator: str) -> Decision:
        """Reverse one decision of the audit log (see the module's docstring); the undo's own
        audit row is returned. 404 for an unknown decision, 409 for one already undone, final,
        older than :data:`UNDO_WINDOW`, or whose subject changed since."""
        decision = await Decision.get_or_none(id=decision_id) if is_row_id(decision_id) else None
        if decision is None:
            raise NotFound("no such decision", key="error.decision.not_found")
        if decision.undone_at is not None:
            raise Conflict("this decision was already undone", key="error.decision.undone")
        if decision.action not in UNDOABLE or decision.from_state == decision.to_state:
            raise Conflict("this decision cannot be undone", key="error.decision.final")
        if self._clock() - decision.created_at > UNDO_WINDOW:
            minutes = int(UNDO_WINDOW.total_seconds() // 60)
            raise Conflict(f"decisions can be undone for {minutes} minutes",
                           key="error.decision.expired", params={"minutes": minutes})
        action = Action(decision.action)
        if action in _DECIDE:
            reply = await Reply.get_or_none(uri=decision.subject_uri)
            if reply is None:
                raise _no_reply()
            latest = await Decision.filter(subject_uri=decision.subject_uri).order_by(
                "-id").first()
            if latest is None or latest.id != decision.id or str(reply.state) != decision.to_state:
                raise _superseded()
            _, undone = await self._undo_reply(reply.id, moderator, cause_id=decision.id)
            return undone
        if action in (Action.BLOCK_AUTHOR, Action.BLOCK_DOMAIN):
            return await self._undo_block(decision, moderator)
        if action == Action.UNBLOCK:
            kind = BlockKind(decision.subject_type)
            if await Block.exists(kind=kind, value=decision.subject_uri):
                raise _superseded()
            _, undone = await self._block(kind, decision.subject_uri, moderator, decision.note,
                                          decision.subject_name, undoing=decision)
            return undone
        report = await Report.get_or_none(activity_uri=decision.subject_uri)
        if report is None:
            raise NotFound("no such report", key="error.report.not_found")
        if report.resolved != (decision.to_state == "resolved"):
            raise _superseded()
        _, undone = await self.resolve_report_recorded(
            report.id, moderator, resolved=not report.resolved, undoing=decision)
        return undone

    async def _undo_block(self, decision: Decision, moderator: str) -> Decision:
        """Remove the block ``decision`` made; the pending replies it rejected (and nothing
        changed since) go back to pending, without anything sent."""
        async with in_transaction():
            mine = await Decision.filter(id=decision.id).select_for_update().first()
            if mine is None or mine.undone_at is not None:
                raise Conflict("this decision was already undone", key="error.decision.undone")
            kind = BlockKind(decision.subject_type)
            block = await Block.get_or_none(kind=kind, value=decision.subject_uri)
            if block is None:
                raise _superseded()
            await block.delete()
            now = self._clock()
            mine.undone_at = now
            await mine.save(update_fields=["undone_at"])
            undo = await self._audit(moderator, Action.UNDO, str(kind), decision.subject_uri,
                                     "blocked", None, "", name=decision.subject_name,
                                     cause_id=decision.id)
            restored = 0
            for row in await Decision.filter(cause_id=decision.id, undone_at__isnull=True):
                reply = await Reply.get_or_none(uri=row.subject_uri)
                latest = await Decision.filter(subject_uri=row.subject_uri).order_by("-id").first()
                row.undone_at = now
                await row.save(update_fields=["undone_at"])
                if (reply is None or reply.state != ReplyState.REJECTED
                        or latest is None or latest.id != row.id):
                    continue  # decided again since: left as it is
                reply.state = ReplyState.PENDING
                reply.decided_at = None
                await reply.save(update_fields=["state", "decided_at"])
                await self._audit(moderator, Action.UNDO, row.subject_type, row.subject_uri,
                                  ReplyState.REJECTED, ReplyState.PENDING, "",
                                  name=row.subject_name, cause_id=undo.id)
                restored += 1
            await self._notify(undo, None)
        log.info("%s %s unblocked by %s (undo; %s replies back to pending)", kind,
                 decision.subject_uri, moderator, restored)
        return undo

    # -- internals ------------------------------------------------------------------------

    async def _locked(self, reply_id: int) -> Reply:
        if not is_row_id(reply_id):
            raise _no_reply()
        reply = await Reply.filter(id=reply_id).select_for_update().first()
        if reply is None:
            raise _no_reply()
        await reply.fetch_related("author", "target", "local_actor")
        return reply

    async def _pending(self, reply_id: int) -> Reply:
        reply = await self._locked(reply_id)
        if reply.state != ReplyState.PENDING:
            raise Conflict(f"this reply is already {reply.state}: undo that decision first",
                           key="error.reply.decided", params={"state": str(reply.state)})
        return reply

    async def _authorize(self, reply: Reply, interaction: Interaction) -> ReplyAuthorization:
        """The authorization of this approval: the one issued before for the same interaction
        (reinstated if an undo revoked it), else a new one."""
        earlier = await ReplyAuthorization.filter(
            reply_id=reply.id, actor_uri=interaction.our_actor_uri, interacting_uri=reply.uri,
            target_uri=interaction.target_uri, object_type=interaction.authorization_type,
        ).order_by("-id").first()
        if earlier is not None:
            if earlier.revoked_at is not None:
                earlier.revoked_at = None
                await earlier.save(update_fields=["revoked_at"])
            return earlier
        token = secrets.token_urlsafe(24)
        return await ReplyAuthorization.create(
            token=token, uri=self._directory.uris.authorization(token), reply=reply,
            actor_uri=interaction.our_actor_uri, interacting_uri=reply.uri,
            target_uri=interaction.target_uri, object_type=interaction.authorization_type,
        )

    async def _revoke_quote(self, reply: Reply, authorization: ReplyAuthorization) -> None:
        """Tell the quoter and our followers that a QuoteAuthorization is withdrawn."""
        sender = self._directory.get(self.our_actor(reply).identifier)
        document = build_authorization(
            authorization_uri=authorization.uri, our_actor_uri=authorization.actor_uri,
            reply_uri=authorization.interacting_uri, target_uri=authorization.target_uri,
            object_type=authorization.object_type,
        )
        activity = build_revocation(
            document, activity_uri=_new_activity_uri(self._directory, "delete"),
            our_actor_uri=sender.uri, quoter_uri=reply.author.uri,
        )
        await self.send(activity, sender=sender,
                        audience=_audience_of(reply.author.uri, sender.identifier), public=False)

    async def _audit(self, moderator: str, action: str, subject_type: str, subject_uri: str,
                     from_state: str | None, to_state: str | None, note: str, *,
                     name: str = "", cause_id: int | None = None) -> Decision:
        return await Decision.create(
            moderator=moderator[:64], action=str(action)[:32], subject_type=subject_type[:32],
            subject_uri=subject_uri, subject_name=name[:400],
            from_state=from_state and str(from_state),
            to_state=to_state and str(to_state), note=note[:2000], cause_id=cause_id,
            created_at=self._clock(),
        )

    async def _notify(self, decision: Decision, reply: Reply | None) -> None:
        if never_resolves(decision.subject_uri):  # the demo's items (federation demo)
            return
        payload = webhook_payload(decision, reply)
        event = f"{decision.subject_type}.{decision.action}"
        row = await webhook.enqueue(self._settings, event, payload, now=self._clock())
        if row is not None and self._on_decision is not None:
            self._on_decision()


def _superseded() -> Conflict:
    return Conflict("this was changed since: undo it by hand", key="error.decision.superseded")


def _report_label(report: Report) -> str:
    return report.reporter.handle if report.reporter is not None else ""


async def _block_label(kind: str, value: str) -> str:
    if kind != BlockKind.ACTOR:
        return value
    actor = await RemoteActor.get_or_none(uri=value)
    return actor_label(actor) if actor is not None else value


def _subject(reply: Reply) -> str:
    """``quote`` or ``reply``: the audit log's subject type and the webhook event's prefix."""
    return "quote" if reply.kind == ReplyKind.QUOTE else "reply"


def _identifier_of(actor_db_id: int, directory: ActorDirectory) -> str | None:
    return next((a.identifier for a in directory.all() if a.db_id == actor_db_id), None)


def reply_summary(reply: Reply, *, with_content: bool) -> dict[str, Any]:
    """What the webhook and the API say about a reply (content only when it is public). Page
    URLs (``url``, ``object_url``, the author's) are http(s) URLs or null, never a stored
    ``javascript:``."""
    author = reply.author
    data: dict[str, Any] = {
        "uri": reply.uri,
        "url": link_url(reply.url),
        "kind": str(reply.kind),
        "state": str(reply.state),
        "object_uri": reply.target.uri if reply.target is not None else None,
        "object_url": link_url(reply.target.url) if reply.target is not None else None,
        "in_reply_to": reply.in_reply_to_uri,
        "author": {"uri": author.uri, "handle": author.handle, "name": author.name or "",
                   "url": link_url(author.url)},
        "published": iso(reply.published_at) if reply.published_at else None,
        "authorization": reply.authorization_uri,
    }
    if with_content:
        data["content_html"] = reply.content_html
        data["language"] = reply.language
    return data


def webhook_payload(decision: Decision, reply: Reply | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "decision": {
            "action": decision.action, "moderator": decision.moderator,
            "subject_type": decision.subject_type, "subject": decision.subject_uri,
            "from_state": decision.from_state, "to_state": decision.to_state,
            "at": iso(decision.created_at),
        },
    }
    if reply is not None:
        public = reply.state == ReplyState.APPROVED and reply.is_public
        data["reply"] = reply_summary(reply, with_content=public)
    return data
