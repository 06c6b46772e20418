"""The receive pipeline accepts what Mastodon and WordPress send, verified, once."""

from __future__ import annotations

import pytest

from federation.db.jobs import Job
from federation.db.moderation import Reply, ReplyKind, ReplyState
from federation.db.social import RemoteActor
from federation.jobs.kinds import INBOX_ACTIVITY

from .conftest import create, note, stored


@pytest.mark.parametrize("scheme", ["cavage", "httpsig", "rfc9421"])
async def test_signed_reply_is_queued_pending(bridge, peer, alice, scheme):
    """A reply to our article signed like Mastodon (ours, httpsig) or WordPress (RFC 9421) is kept pending."""
    await bridge.article()
    response = await bridge.post(create(alice, note(alice)), alice, scheme=scheme)
    assert response.status == 202, await response.text()
    reply = await Reply.get(uri=f"{alice.uri}/statuses/1").prefetch_related("author")
    assert reply.state == ReplyState.PENDING and reply.kind == ReplyKind.REPLY
    assert reply.author.uri == alice.uri and reply.is_public
    assert reply.content_html == "<p>Bravo pour le débat</p>"
    assert reply.thread_root_uri == reply.in_reply_to_uri
    assert await Job.filter(kind=INBOX_ACTIVITY.name).count() == 1


async def test_personal_inbox_accepts_too(bridge, peer, alice):
    """POST /actors/{identifier}/inbox runs the same pipeline."""
    await bridge.article()
    path = "/actors/halte-au-controle-numerique/inbox"
    response = await bridge.post(create(alice, note(alice)), alice, path=path)
    assert response.status == 202
    assert await Reply.all().count() == 1


async def test_unknown_personal_inbox_is_404(bridge, peer, alice):
    """An inbox of an actor we do not have is 404, nothing read nor fetched."""
    response = await bridge.post(create(alice, note(alice)), alice, path="/actors/nobody/inbox")
    assert response.status == 404
    assert peer.gets == []


async def test_get_on_inboxes_is_405(bridge):
    """Inboxes accept POST only."""
    for path in ("/inbox", "/actors/site/inbox"):
        response = await bridge.client.get(path, headers={"Host": "bridge.example"})
        assert response.status == 405
        assert "POST" in response.headers.get("Allow", "")


async def test_known_key_is_fetched_once(bridge, peer, alice):
    """The actor document is fetched on first contact only: later activities use the cached key."""
    await bridge.article()
    for number in range(1, 4):
        response = await bridge.post(create(alice, note(alice, number), number), alice)
        assert response.status == 202
    assert peer.count("/users/alice") == 1
    assert await Reply.all().count() == 3
    assert (await RemoteActor.get(uri=alice.uri)).key_id == alice.key_id


async def test_same_create_five_times_makes_one_item(bridge, peer, alice):
    """(32) The same Create delivered five times (retries, shared and personal inbox) is one item."""
    await bridge.article()
    activity = create(alice, note(alice))
    for path in ["/inbox", "/actors/halte-au-controle-numerique/inbox"] * 2 + ["/inbox"]:
        assert (await bridge.post(activity, alice, path=path)).status == 202
    counts = await stored()
    assert counts["Reply"] == 1 and counts["Job"] == 1
