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
transaction. Quotes accepted by the ``[moderation] quotes = "automatic"`` policy are approved
through the same path, by the moderator :data:`AUTOMATIC`.

Blocking an author (``social.Block`` kind actor) or their domain (kind domain) also moves the
blocked party's pending replies to ``rejected`` without sending anything to them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
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
from federation.protocol.uris import link_url, origin_of
from federation.settings import Settings

log = logging.getLogger(__name__)

#: ``send(activity, sender=…, audience=…, public=…)`` — :func:`federation.delivery.outbox.send_activity`.
Sender = Callable[..., Awaitable[Any]]

#: The name in the audit log of decisions taken by the quote policy, not by a person.
AUTOMATIC = "(automatic)"


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
            raise NotFound("no such reply")
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
        try:
            action = Action(action)
        except ValueError:
            raise BadRequest(f"unknown action {action!r}") from None
        if action == Action.UNDO:
            return await self.undo(reply_id, moderator, note=note)
        if action not in _DECIDE:
            raise BadRequest(f"{action} is not a decision on a reply")
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
                                         reply.state, note)
            if activity is not None:
                audience = _audience_of(reply.author.uri, _widely(activity, sender))
                await self.send(activity, sender=sender, audience=audience, public=False)
            await self._notify(decision, reply)
        log.info("%s %s %s by %s", reply.kind, reply.id, reply.state, moderator)
        return reply

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
        async with in_transaction():
            reply = await self._locked(reply_id)
            if reply.state == ReplyState.PENDING:
                raise Conflict("this reply has no decision to undo")
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
            await _withdraw_answers(reply, now)
            decision = await self._audit(moderator, Action.UNDO, _subject(reply), reply.uri,
                                         from_state, reply.state, note)
            for authorization in revoked:
                if authorization.object_type == QUOTE_AUTHORIZATION:
                    await self._revoke_quote(reply, authorization)
            await self._notify(decision, reply)
        log.info("reply %s back to pending (was %s) by %s", reply.id, from_state, moderator)
        return reply

    async def bulk(self, action: Action | str, reply_ids: Iterable[int],
                   moderator: str) -> list[Outcome]:
        """The same action on many replies, each in its own transaction."""
        outcomes = []
        for reply_id in dict.fromkeys(reply_ids):
            try:
                reply = await self.decide(reply_id, action, moderator)
            except (NotFound, Conflict, BadRequest) as error:
                outcomes.append(Outcome(reply_id, False, error=error.message))
            else:
                outcomes.append(Outcome(reply_id, True, state=str(reply.state)))
        return outcomes

    # -- blocks ---------------------------------------------------------------------------

    async def block_author(self, reply_id: int, moderator: str, *, reason: str = "") -> Block:
        reply = await self.reply(reply_id)
        return await self._block(BlockKind.ACTOR, reply.author.uri, moderator, reason)

    async def block_domain(self, reply_id: int, moderator: str, *, reason: str = "") -> Block:
        reply = await self.reply(reply_id)
        return await self._block(BlockKind.DOMAIN, reply.author.domain.lower(), moderator, reason)

    async def unblock(self, block_id: int, moderator: str) -> None:
        async with in_transaction():
            block = await Block.get_or_none(id=block_id) if is_row_id(block_id) else None
            if block is None:
                raise NotFound("no such block")
            await block.delete()
            decision = await self._audit(moderator, Action.UNBLOCK, str(block.kind), block.value,
                                         "blocked", None, "")
            await self._notify(decision, None)

    async def _block(self, kind: BlockKind, value: str, moderator: str, reason: str) -> Block:
        if kind == BlockKind.DOMAIN and value == origin_of(self._settings.base_url).host:
            raise BadRequest("our own domain cannot be blocked")
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
                                         state=ReplyState.PENDING)
            now = self._clock()
            for reply in pending:
                reply.state = ReplyState.REJECTED
                reply.decided_at = now
                await reply.save(update_fields=["state", "decided_at"])
                await self._audit(moderator, "block", _subject(reply), reply.uri, ReplyState.PENDING,
                                  ReplyState.REJECTED, f"{kind} blocked")
            action = Action.BLOCK_AUTHOR if kind == BlockKind.ACTOR else Action.BLOCK_DOMAIN
            decision = await self._audit(moderator, action, str(kind), value, None, "blocked",
                                         reason if created else "already blocked")
            await self._notify(decision, None)
        log.info("%s %s blocked by %s (%s pending replies rejected)", kind, value, moderator,
                 len(pending))
        return block

    # -- reports --------------------------------------------------------------------------

    async def resolve_report(self, report_id: int, moderator: str, *,
                             resolved: bool = True) -> Report:
        async with in_transaction():
            report = await Report.get_or_none(id=report_id) if is_row_id(report_id) else None
            if report is None:
                raise NotFound("no such report")
            if report.resolved == resolved:
                raise Conflict("the report is already " + ("resolved" if resolved else "open"))
            report.resolved = resolved
            await report.save(update_fields=["resolved"])
            decision = await self._audit(
                moderator, Action.RESOLVE if resolved else Action.REOPEN, "report",
                report.activity_uri, "open" if resolved else "resolved",
                "resolved" if resolved else "open", "",
            )
            await self._notify(decision, None)
        return report

    async def delete_report(self, report_id: int, moderator: str) -> None:
        """Remove a report for good (spam, or a report no one can act on); the audit log keeps
        who removed which report."""
        async with in_transaction():
            report = await Report.get_or_none(id=report_id) if is_row_id(report_id) else None
            if report is None:
                raise NotFound("no such report")
            await report.delete()
            decision = await self._audit(
                moderator, Action.DELETE, "report", report.activity_uri,
                "resolved" if report.resolved else "open", None, "",
            )
            await self._notify(decision, None)

    # -- internals ------------------------------------------------------------------------

    async def _locked(self, reply_id: int) -> Reply:
        if not is_row_id(reply_id):
            raise NotFound("no such reply")
        reply = await Reply.filter(id=reply_id).select_for_update().first()
        if reply is None:
            raise NotFound("no such reply")
        await reply.fetch_related("author", "target", "local_actor")
        return reply

    async def _pending(self, reply_id: int) -> Reply:
        reply = await self._locked(reply_id)
        if reply.state != ReplyState.PENDING:
            raise Conflict(f"this reply is already {reply.state}: undo that decision first")
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
                     from_state: str | None, to_state: str | None, note: str) -> Decision:
        return await Decision.create(
            moderator=moderator[:64], action=str(action)[:32], subject_type=subject_type[:32],
            subject_uri=subject_uri, from_state=from_state and str(from_state),
            to_state=to_state and str(to_state), note=note[:2000],
            created_at=self._clock(),
        )

    async def _notify(self, decision: Decision, reply: Reply | None) -> None:
        payload = webhook_payload(decision, reply)
        event = f"{decision.subject_type}.{decision.action}"
        row = await webhook.enqueue(self._settings, event, payload, now=self._clock())
        if row is not None and self._on_decision is not None:
            self._on_decision()


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
