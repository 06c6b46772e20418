"""The queue's rules: decisions, audit log, Accept/Reject queued for delivery, undo, bulk, blocks."""

from __future__ import annotations

import pytest

from federation.db.content import OutboxActivity
from federation.db.delivery import FanoutJob
from federation.db.moderation import (
    Action,
    Decision,
    ReplyAuthorization,
    ReplyKind,
    ReplyState,
    Report,
)
from federation.db.social import Block, BlockKind
from federation.errors import BadRequest, Conflict, NotFound

from .conftest import COLLECTIVE

GTS = "https://gotosocial.org/ns"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def _sent(activity_type: str) -> list[OutboxActivity]:
    return await OutboxActivity.filter(type=activity_type).order_by("id")


async def test_approve_sends_accept_with_authorization(service, factory, directory):
    """Approval: state approved, one Accept to the replier (object, target, result), cc'd to
    Public and our followers as GoToSocial does (delivered to them too), not in our outbox."""
    article = await factory.article()
    reply = await factory.reply(article)
    await service.approve(reply.id, "camille")
    await reply.refresh_from_db()
    assert reply.state == ReplyState.APPROVED and reply.decided_at is not None
    [row] = await _sent("Accept")
    our_actor = directory.get(COLLECTIVE)
    accept = row.document
    assert accept["actor"] == our_actor.uri
    assert accept["to"] == ["https://social.example/users/alice"]
    assert accept["cc"] == [PUBLIC, directory.uris.followers(COLLECTIVE)]
    assert accept["object"] == reply.uri
    assert accept["target"] == article.uri
    assert accept["result"] == reply.authorization_uri
    assert accept["result"].startswith("https://bridge.example/authorizations/")
    assert GTS in accept["@context"]
    assert row.public is False and row.actor_id == our_actor.db_id
    fanout = await FanoutJob.get(activity=row)
    assert fanout.sender == COLLECTIVE
    assert fanout.audience["actor_uris"] == ["https://social.example/users/alice"]
    assert fanout.audience["followers_of"] == COLLECTIVE
    authorization = await ReplyAuthorization.get(uri=reply.authorization_uri)
    assert authorization.interacting_uri == reply.uri
    assert authorization.target_uri == article.uri
    assert authorization.actor_uri == our_actor.uri


async def test_reply_request_accept_answers_the_request(service, factory):
    """For a GoToSocial ReplyRequest, the Accept's object is the request, inlined (GoToSocial
    handles no other form), addressed to the requester only."""
    article = await factory.article()
    reply = await factory.reply(article, kind=ReplyKind.REPLY_REQUEST)
    await service.approve(reply.id, "camille")
    [row] = await _sent("Accept")
    assert row.document["object"] == {
        "type": "ReplyRequest", "id": reply.request_activity_uri,
        "actor": "https://social.example/users/alice", "object": article.uri,
        "instrument": reply.uri,
    }
    assert row.document["target"] == article.uri
    await reply.refresh_from_db()
    assert row.document["result"] == reply.authorization_uri
    assert "cc" not in row.document
    assert not (await FanoutJob.get(activity=row)).audience.get("followers_of")
    await service.undo(reply.id, "camille")
    await service.reject(reply.id, "camille")
    [reject] = await _sent("Reject")
    assert reject.document["object"] == row.document["object"]


async def test_private_reply_accept_is_not_broadcast(service, factory):
    """A followers-only or direct reply's Accept goes to its author alone (no cc, no followers)."""
    reply = await factory.reply(await factory.article(), is_public=False)
    await service.approve(reply.id, "camille")
    [row] = await _sent("Accept")
    assert row.document["to"] == ["https://social.example/users/alice"]
    assert "cc" not in row.document
    assert not (await FanoutJob.get(activity=row)).audience.get("followers_of")


async def test_nested_reply_authorization_targets_its_direct_parent(service, factory):
    """A reply to a reply of our article: interactionTarget and the Accept's target are the
    direct inReplyTo (what GoToSocial checks), not the thread root."""
    article = await factory.article()
    parent = await factory.reply(article)
    child = await factory.reply(article, in_reply_to_uri=parent.uri)
    await service.approve(child.id, "camille")
    [row] = await _sent("Accept")
    assert row.document["target"] == parent.uri
    authorization = await ReplyAuthorization.get(uri=row.document["result"])
    assert authorization.target_uri == parent.uri


async def test_mention_is_accepted_by_the_mentioned_actor(service, factory, directory):
    """A mention without an object: our actor is the mentioned one, and the target too."""
    from federation.db.actors import Actor

    local = await Actor.get(identifier="changer-de-cap")
    reply = await factory.reply(None, kind=ReplyKind.MENTION, local_actor=local)
    await service.approve(reply.id, "camille")
    [row] = await _sent("Accept")
    mentioned = directory.get("changer-de-cap").uri
    assert row.document["actor"] == mentioned and row.document["target"] == mentioned


async def test_reject_sends_reject(service, factory, directory):
    """Rejection: state rejected, one Reject {actor, to, object}, no authorization."""
    article = await factory.article()
    reply = await factory.reply(article)
    await service.reject(reply.id, "camille")
    await reply.refresh_from_db()
    assert reply.state == ReplyState.REJECTED and reply.authorization_uri is None
    [row] = await _sent("Reject")
    assert row.document["actor"] == directory.get(COLLECTIVE).uri
    assert row.document["to"] == [reply.uri.split("/statuses/")[0]]
    assert row.document["object"] == reply.uri
    assert row.public is False
    assert await _sent("Accept") == []


async def test_spam_sends_nothing(service, factory):
    """Marking spam changes the state and sends nothing to the spammer."""
    reply = await factory.reply(await factory.article())
    await service.mark_spam(reply.id, "camille")
    await reply.refresh_from_db()
    assert reply.state == ReplyState.SPAM
    assert await OutboxActivity.all().count() == 0


async def test_every_decision_is_audited(service, factory):
    """Each decision writes who, what, from which state to which, when."""
    reply = await factory.reply(await factory.article())
    await service.approve(reply.id, "camille")
    await service.undo(reply.id, "dominique")
    await service.mark_spam(reply.id, "camille")
    rows = await Decision.filter(subject_uri=reply.uri).order_by("id")
    assert [(d.moderator, d.action, d.from_state, d.to_state) for d in rows] == [
        ("camille", "approve", "pending", "approved"),
        ("dominique", "undo", "approved", "pending"),
        ("camille", "spam", "pending", "spam"),
    ]
    assert all(d.created_at is not None for d in rows)


async def test_decisions_only_on_pending_replies(service, factory):
    """A decided reply cannot be decided again without undo (409); unknown ids are 404."""
    reply = await factory.reply(await factory.article())
    await service.reject(reply.id, "camille")
    with pytest.raises(Conflict):
        await service.approve(reply.id, "camille")
    with pytest.raises(NotFound):
        await service.approve(999_999, "camille")
    with pytest.raises(BadRequest):
        await service.decide(reply.id, "delete", "camille")
    assert await OutboxActivity.filter(type="Accept").count() == 0


async def test_undo_of_approval_revokes_authorization_and_sends_nothing(service, factory):
    """Undo after approval: back to pending, authorization revoked, no new activity sent."""
    reply = await factory.reply(await factory.article())
    await service.approve(reply.id, "camille")
    await reply.refresh_from_db()
    uri = reply.authorization_uri
    sent_before = await OutboxActivity.all().count()
    await service.undo(reply.id, "camille")
    await reply.refresh_from_db()
    assert reply.state == ReplyState.PENDING and reply.authorization_uri is None
    assert (await ReplyAuthorization.get(uri=uri)).revoked_at is not None
    assert await OutboxActivity.all().count() == sent_before
    with pytest.raises(Conflict):
        await service.undo(reply.id, "camille")
    # approving again reinstates the same authorization: a replier's server that recorded it
    # keeps a valid proof, and a second Accept carries the same result
    await service.approve(reply.id, "camille")
    await reply.refresh_from_db()
    assert reply.authorization_uri == uri
    assert (await ReplyAuthorization.get(uri=uri)).revoked_at is None
    assert await ReplyAuthorization.filter(reply_id=reply.id).count() == 1
    accepts = await _sent("Accept")
    assert len(accepts) == 2 and accepts[0].uri != accepts[1].uri
    assert {a.document["result"] for a in accepts} == {uri}


async def test_bulk_applies_each_and_reports_failures(service, factory):
    """Bulk approve: every pending one approved, a decided one and an unknown id reported."""
    article = await factory.article()
    first = await factory.reply(article)
    second = await factory.reply(article)
    done = await factory.reply(article, state=ReplyState.REJECTED)
    outcomes = await service.bulk(Action.APPROVE, [first.id, second.id, done.id, 424242],
                                  "camille")
    assert [(o.reply_id, o.ok) for o in outcomes] == [
        (first.id, True), (second.id, True), (done.id, False), (424242, False)]
    assert await OutboxActivity.filter(type="Accept").count() == 2
    assert await Decision.filter(action="approve").count() == 2


async def test_block_author_and_domain(service, factory):
    """Blocking writes social.Block rows and rejects the blocked party's pending replies."""
    article = await factory.article()
    spammer = await factory.remote("spammer", "spam.example", "Buy now")
    other = await factory.remote("bob", "spam.example", "Bob")
    first = await factory.reply(article, spammer)
    second = await factory.reply(article, other)
    innocent = await factory.reply(article)
    await service.block_author(first.id, "camille")
    assert await Block.filter(kind=BlockKind.ACTOR, value=spammer.uri).exists()
    await first.refresh_from_db()
    await second.refresh_from_db()
    assert first.state == ReplyState.REJECTED and second.state == ReplyState.PENDING
    await service.block_domain(second.id, "camille")
    assert await Block.filter(kind=BlockKind.DOMAIN, value="spam.example").exists()
    await second.refresh_from_db()
    await innocent.refresh_from_db()
    assert second.state == ReplyState.REJECTED and innocent.state == ReplyState.PENDING
    assert await OutboxActivity.all().count() == 0  # nothing is sent to blocked parties
    actions = await Decision.all().order_by("id").values_list("action", flat=True)
    assert "block_author" in actions and "block_domain" in actions
    block = await Block.get(kind=BlockKind.DOMAIN)
    await service.unblock(block.id, "camille")
    assert not await Block.filter(kind=BlockKind.DOMAIN).exists()


async def test_our_own_domain_cannot_be_blocked(service, factory):
    """A reply claiming our domain as author domain cannot make us block ourselves."""
    ours = await factory.remote("x", "bridge.example")
    reply = await factory.reply(await factory.article(), ours)
    with pytest.raises(BadRequest):
        await service.block_domain(reply.id, "camille")


async def test_reports_are_resolved_and_reopened(service, factory):
    """A Flag's report is resolved, reopened, and both are audited."""
    report = await factory.report(await factory.remote(), ["https://social.example/x"])
    await service.resolve_report(report.id, "camille")
    assert (await Report.get(id=report.id)).resolved
    with pytest.raises(Conflict):
        await service.resolve_report(report.id, "camille")
    await service.resolve_report(report.id, "camille", resolved=False)
    assert not (await Report.get(id=report.id)).resolved
    actions = await Decision.filter(subject_type="report").values_list("action", flat=True)
    assert sorted(actions) == ["reopen", "resolve"]


async def test_ids_beyond_the_database_integers_are_unknown(service, factory):
    """An id no integer column can hold (beyond int32 on PostgreSQL, int64 on SQLite) is
    not found, not a database error; in bulk the other ids are still decided."""
    reply = await factory.reply(await factory.article())
    report = await factory.report(await factory.remote(), [reply.uri])
    huge = [2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 10**30]
    outcomes = await service.bulk(Action.APPROVE, [*huge, reply.id], "camille")
    assert [(o.reply_id, o.ok, o.error) for o in outcomes] == [
        *((i, False, "no such reply") for i in huge), (reply.id, True, None)]
    for reply_id in huge:
        for call in (service.reply, lambda i: service.decide(i, Action.SPAM, "camille"),
                     lambda i: service.undo(i, "camille"),
                     lambda i: service.block_author(i, "camille"),
                     lambda i: service.resolve_report(i, "camille")):
            with pytest.raises(NotFound):
                await call(reply_id)
    assert not (await Report.get(id=report.id)).resolved
