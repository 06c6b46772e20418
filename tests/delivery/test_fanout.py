"""Fanout: one delivery per distinct inbox, shared inboxes preferred, blocked and own hosts skipped."""

from __future__ import annotations

from federation.db.content import OutboxActivity
from federation.db.delivery import DeliveryJob, DeliveryState, FanoutJob, FanoutState
from federation.db.social import Block, BlockKind, FollowState
from federation.delivery.fanout import interleave_hosts, is_blocked
from federation.delivery.outbox import Audience, activity_uri, send_activity
from tests.delivery.conftest import Env, add_follower

SENDER = "halte-au-controle-numerique"


def make_activity(env: Env, kind: str = "Create") -> dict:
    sender = env.directory.get(SENDER)
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": activity_uri(env.directory, kind),
        "type": kind,
        "actor": sender.uri,
        "object": {"id": "https://bridge.example/objects/article/1", "type": "Article",
                   "name": "Débat « numérisation »"},
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }


def test_blocked_domain_includes_subdomains() -> None:
    """A blocked domain covers its subdomains, not look-alikes."""
    assert is_blocked("spam.example", {"spam.example"})
    assert is_blocked("a.b.spam.example:8443", {"spam.example"})
    assert not is_blocked("notspam.example", {"spam.example"})
    assert is_blocked("Spam.Example.", {"spam.example"})
    assert not is_blocked("example", {"spam.example"})
    assert not is_blocked("spam.example.org", {"spam.example"})
    assert is_blocked("anything.example", {"example"})  # a whole TLD-like domain


def test_interleave_spreads_hosts() -> None:
    """Jobs are ordered round-robin over hosts."""
    order = [host for _, host in interleave_hosts({"a1": "a", "a2": "a", "b1": "b"})]
    assert order == ["a", "b", "a"]


async def test_send_activity_is_idempotent(env: Env) -> None:
    """Sending the same activity id twice stores one activity and one fanout."""
    activity = make_activity(env)
    sender = env.directory.get(SENDER)
    first = await send_activity(activity, sender=sender, audience=Audience(followers_of=SENDER))
    second = await send_activity(activity, sender=sender, audience=Audience(followers_of=SENDER))
    assert first.id == second.id
    assert await OutboxActivity.filter(uri=activity["id"]).count() == 1
    assert await FanoutJob.all().count() == 1


async def test_fanout_dedups_shared_inboxes_and_skips_blocked(env: Env) -> None:
    """Followers on several hosts get one delivery per inbox; blocked and own hosts get none."""
    one, two = await env.peer(), await env.peer()
    for n in range(3):  # three followers behind one shared inbox
        await add_follower(env, one.url(f"/users/u{n}"), one.url(f"/users/u{n}/inbox"),
                           shared_inbox=one.url("/inbox"))
    await add_follower(env, two.url("/users/solo"), two.url("/users/solo/inbox"))
    await add_follower(env, two.url("/users/pending"), two.url("/users/pending/inbox"),
                       state=FollowState.PENDING)
    await add_follower(env, "https://spam.example/users/x", "https://spam.example/inbox")
    await add_follower(env, "https://a.mod-blocked.example/u", "https://a.mod-blocked.example/inbox")
    await Block.create(kind=BlockKind.DOMAIN, value="mod-blocked.example")
    sender = env.directory.get(SENDER)
    activity = make_activity(env)
    audience = Audience(followers_of=SENDER,
                        inboxes=(one.url("/inbox"), "https://bridge.example/inbox"))
    env.settings = env.settings.model_copy(update={"blocked_domains": ("spam.example",)})
    await send_activity(activity, sender=sender, audience=audience)

    await env.drain()

    inboxes = set(await DeliveryJob.all().values_list("inbox_url", flat=True))
    assert inboxes == {one.url("/inbox"), two.url("/users/solo/inbox")}
    assert await DeliveryJob.filter(state=DeliveryState.DELIVERED).count() == 2
    assert (await FanoutJob.get()).state == FanoutState.DONE
    assert [r.path for r in one.received] == ["/inbox"]
    assert [r.path for r in two.received] == ["/users/solo/inbox"]
    assert one.received[0].activity_id == activity["id"]
    assert one.received[0].key_id == sender.key_id
    assert not one.refused and not two.refused


async def test_fanout_resolves_actor_uris(env: Env) -> None:
    """Remote actors named in the audience are delivered to their shared inbox."""
    peer = await env.peer()
    remote = await add_follower(env, peer.url("/users/a"), peer.url("/users/a/inbox"),
                                shared_inbox=peer.url("/inbox"), state=FollowState.REJECTED)
    sender = env.directory.get(SENDER)
    await send_activity(make_activity(env, "Accept"), sender=sender,
                        audience=Audience(actor_uris=(remote.uri,)), public=False)
    await env.drain()
    assert [r.path for r in peer.received] == ["/inbox"]


async def test_fanout_does_not_deliver_to_the_actor_a_redirect_leads_to(env: Env) -> None:
    """(36) An addressed actor whose URL redirects to another actor's document gets no delivery
    there: the inbox is read only from a document whose id is the actor addressed."""
    import json

    from aiohttp import web

    eve_inbox = await env.peer()
    documents = web.Application()

    async def actor_of_eve(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps({"id": eve, "type": "Person",
                                             "inbox": eve_inbox.url("/inbox")}),
                            content_type="application/activity+json")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://{request.host}/users/eve")

    documents.router.add_get("/users/eve", actor_of_eve)
    documents.router.add_get("/users/victim", moved)
    server = await env.start_server(documents)
    eve = f"http://127.0.0.1:{server.port}/users/eve"
    victim = f"http://127.0.0.1:{server.port}/users/victim"
    await send_activity(make_activity(env, "Create"), sender=env.directory.get(SENDER),
                        audience=Audience(actor_uris=(victim,)), public=False)
    await env.drain()
    assert eve_inbox.received == [] and await DeliveryJob.all().count() == 0
    await send_activity(make_activity(env, "Update"), sender=env.directory.get(SENDER),
                        audience=Audience(actor_uris=(eve,)), public=False)
    await env.drain()
    assert [r.path for r in eve_inbox.received] == ["/inbox"]  # the actor itself: delivered
