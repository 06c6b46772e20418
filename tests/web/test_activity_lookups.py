"""Every activity id we emit dereferences, for whom it is addressed to (docs/FEDERATION.md).

One table: each activity type we send, made by the code that sends it (publishing, the inbox's
follow answers, moderation, syndication), then fetched at its id by four readers — nobody
(unsigned), ``alice`` and ``carol`` (two actors of server A, alice the addressee), ``bob``
(server B, a stranger) — with real cavage signatures of keys the peers serve. Public ones answer
everyone; non-public ones answer their addressees (the actor, or a signer of the same server)
with the document and everyone else exactly as an unknown id (404); undone or deleted ones
answer 410 with their own Tombstone to whoever could read them, and leave the outbox.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from inbox.conftest import (  # noqa: F401 - fixtures re-exported for these tests
    ARTICLE,
    BRIDGE,
    HALTE,
    PUBLIC,
    Bridge,
    Peer,
    PeerActor,
    bridge,
    make_peer,
    peer_keys,
)

from federation.db.content import ContentObject, ObjectKind, OutboxActivity
from federation.db.moderation import Reply, ReplyKind, ReplyState
from federation.db.social import Follower, FollowState, RemoteActor, SyndicationPolicy
from federation.db.syndication import ItemState, SyndicatedItem
from federation.inbox.follows import decide_follower
from federation.ingest.payloads import parse_item
from federation.moderation.web.keys import MODERATION
from federation.signing.cavage import sign_request
from federation.syndication import service as syndication
from federation.syndication import subscriptions
from federation.web.state import CLIENT, INBOX, PUBLISHER, READ_CACHE

AP = {"Accept": "application/activity+json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml"}
READERS = ("nobody", "alice", "carol", "bob")


async def fetch(bridge: Bridge, uri: str, signer: PeerActor | None = None,
                accept: dict[str, str] = AP) -> Any:
    """GET ``uri`` on the bridge, signed by ``signer`` (cavage, as Mastodon signs its GETs)."""
    path = uri.removeprefix(BRIDGE)
    headers = {**accept, "Host": "bridge.example"}
    if signer is not None:
        headers.update(sign_request("GET", BRIDGE + path, {}, None, signer.key_id, signer.key))
    return await bridge.client.get(path, headers=headers, allow_redirects=False)


def _remote(peer: Peer, name: str) -> dict[str, Any]:
    uri = f"{peer.base}/users/{name}"
    return {"uri": uri, "domain": "127.0.0.1", "inbox": f"{uri}/inbox",
            "username": name, "fetched_at": datetime.now(UTC)}


class World:
    """Two servers, three remote actors, and every kind of activity the bridge sends."""

    def __init__(self, bridge: Bridge, server_a: Peer, server_b: Peer, keys: list[Any]) -> None:
        self.bridge = bridge
        self.alice = server_a.actor("alice", keys[0])
        self.carol = server_a.actor("carol", keys[1])
        self.bob = server_b.actor("bob", keys[2])
        self.server_a, self.server_b = server_a, server_b
        self.ids: dict[str, str] = {}

    def reader(self, name: str) -> PeerActor | None:
        return None if name == "nobody" else getattr(self, name)

    async def _sent(self, kind: str, **filters: Any) -> str:
        row = await OutboxActivity.filter(type=kind, **filters).order_by("-id").first()
        assert row is not None, (kind, filters)
        return row.uri

    async def publish(self) -> None:
        publisher = self.bridge.app[PUBLISHER]

        def item(source_id: str, kind: str = "article", **extra: Any) -> Any:
            payload = {"type": kind, "actor": "halte-au-controle-numerique", "id": source_id,
                       "title": f"Titre {source_id}", "published": "2026-05-01T10:00:00+02:00",
                       "content_html": "<p>Texte.</p>", **extra}
            return parse_item(payload)

        created = await publisher.upsert(item("a1"))
        self.ids["Create"] = created.activity_uri or ""
        updated = await publisher.upsert(item("a1", title="Titre changé"))
        self.ids["Update"] = updated.activity_uri or ""
        pinned = await publisher.pin("halte-au-controle-numerique", ObjectKind.ARTICLE, "push",
                                     "a1", True)
        self.ids["Add"] = pinned.activity_uri or ""
        unpinned = await publisher.pin("halte-au-controle-numerique", ObjectKind.ARTICLE,
                                       "push", "a1", False)
        self.ids["Remove"] = unpinned.activity_uri or ""
        event = await publisher.upsert(item("e1", "event", start="2026-06-09T18:00:00",
                                            location="La Cale"))
        self.ids["Announce (site, of a collective's event)"] = await self._sent(
            "Announce", object_uri=event.object_uri)
        doomed = await publisher.upsert(item("a2"))
        self.ids["Create of a deleted object"] = doomed.activity_uri or ""
        await publisher.pin("halte-au-controle-numerique", ObjectKind.ARTICLE, "push", "a2", True)
        self.ids["Add of a deleted object"] = await self._sent("Add", object_uri=doomed.object_uri)
        deleted = await publisher.delete("halte-au-controle-numerique", ObjectKind.ARTICLE,
                                         "push", "a2")
        self.ids["Delete"] = deleted.activity_uri or ""

    async def follows(self) -> None:
        """alice and carol follow us (Accepts); carol is then refused (Reject)."""
        for follower, number in ((self.alice, 1), (self.carol, 2)):
            follow = {"@context": "https://www.w3.org/ns/activitystreams",
                      "id": f"{follower.uri}/follows/{number}", "type": "Follow",
                      "actor": follower.uri, "object": HALTE}
            body = json.dumps(follow).encode()
            headers = {"Content-Type": "application/activity+json", "Host": "bridge.example",
                       **sign_request("POST", f"{BRIDGE}/inbox", {}, body, follower.key_id,
                                      follower.key)}
            response = await self.bridge.client.post("/inbox", data=body, headers=headers)
            assert response.status == 202, await response.text()
        self.ids["Accept of a Follow"] = await self._sent("Accept", object_uri=f"{self.alice.uri}/follows/1")
        self.ids["Accept of a Follow, then refused"] = await self._sent(
            "Accept", object_uri=f"{self.carol.uri}/follows/2")
        await decide_follower(self.bridge.directory, "halte-au-controle-numerique",
                              self.carol.uri, accept=False)
        self.ids["Reject of a Follow"] = await self._sent("Reject", object_uri=f"{self.carol.uri}/follows/2")

    async def moderation(self) -> None:
        """Replies by alice (public, private, undone) and bob (rejected); a quote by alice,
        approved then undone (its QuoteAuthorization withdrawn with a Delete)."""
        service = self.bridge.app[MODERATION]
        article = await ContentObject.get(uri=self.ids["article"])
        alice = await RemoteActor.get(uri=self.alice.uri)
        bob = await RemoteActor.create(**_remote(self.server_b, "bob"))

        async def reply(author: RemoteActor, number: int, **extra: Any) -> Reply:
            fields: dict[str, Any] = {"in_reply_to_uri": article.uri,
                                      "thread_root_uri": article.uri, **extra}
            return await Reply.create(
                uri=f"{author.uri}/statuses/{number}", author=author, target=article,
                content_html="<p>Réponse</p>", published_at=datetime.now(UTC), **fields)

        public = await reply(alice, 1)
        await service.approve(public.id, "mod")
        self.ids["Accept of a public reply"] = await self._sent("Accept", object_uri=public.uri)
        private = await reply(alice, 2, is_public=False)
        await service.approve(private.id, "mod")
        self.ids["Accept of a private reply"] = await self._sent("Accept", object_uri=private.uri)
        undone = await reply(alice, 3, is_public=False)
        await service.approve(undone.id, "mod")
        self.ids["Accept of a reply, decision undone"] = await self._sent(
            "Accept", object_uri=undone.uri)
        await service.undo(undone.id, "mod")
        refused = await reply(bob, 4)
        await service.reject(refused.id, "mod")
        self.ids["Reject of a reply"] = await self._sent("Reject", object_uri=refused.uri)
        request = f"{self.alice.uri}/quote_requests/1"
        quote = await reply(alice, 5, kind=ReplyKind.QUOTE, request_activity_uri=request,
                            thread_root_uri=None, in_reply_to_uri=None)
        await service.approve(quote.id, "mod")
        self.ids["Accept of a QuoteRequest, then revoked"] = await self._sent(
            "Accept", object_uri=request)
        quote = await Reply.get(id=quote.id)
        self.ids["QuoteAuthorization, revoked"] = quote.authorization_uri or ""
        await service.undo(quote.id, "mod")
        self.ids["Delete of a QuoteAuthorization"] = await self._sent(
            "Delete", object_uri=self.ids["QuoteAuthorization, revoked"])
        kept = await reply(alice, 6, kind=ReplyKind.QUOTE, request_activity_uri=f"{request}-2",
                           thread_root_uri=None, in_reply_to_uri=None)
        await service.approve(kept.id, "mod")
        kept = await Reply.get(id=kept.id)
        self.ids["QuoteAuthorization"] = kept.authorization_uri or ""
        assert (await Reply.get(id=refused.id)).state == ReplyState.REJECTED

    async def syndication(self) -> None:
        """We follow alice, then unfollow (Follow undone); we subscribe to server B's relay
        (Mastodon style: a Follow of Public to its inbox); we boost an item, then take it back."""
        directory = self.bridge.directory
        from federation.remote.actors import RemoteActorStore

        store = RemoteActorStore(self.bridge.app[CLIENT], local_origin=BRIDGE)
        followed = await subscriptions.follow(directory, store, self.alice.uri)
        self.ids["Follow, undone"] = followed.row.follow_activity_uri
        await subscriptions.unfollow(directory, followed.row)
        self.ids["Undo of a Follow"] = await self._sent("Undo", object_uri=self.ids["Follow, undone"])
        relay = await subscriptions.subscribe_relay(directory, store, f"{self.server_b.base}/inbox")
        self.ids["Follow of a relay"] = relay.row.follow_activity_uri
        source = await subscriptions.follow(directory, store, self.carol.uri,
                                            policy=SyndicationPolicy.REVIEW)
        source.row.state = FollowState.ACCEPTED
        await source.row.save()
        item = await SyndicatedItem.create(
            source=source.row, object_uri=f"{self.carol.uri}/articles/1", type="Article",
            actor_uri=self.carol.uri, state=ItemState.PENDING_REVIEW)
        item = await syndication.decide(directory, item.id, "approve", "editor")
        self.ids["Announce, undone"] = item.announce_activity_uri or ""
        await syndication.decide(directory, item.id, "reject", "editor")
        self.ids["Undo of an Announce"] = await self._sent(
            "Undo", object_uri=self.ids["Announce, undone"])
        self.ids["Follow"] = source.row.follow_activity_uri


@pytest.fixture
async def world(bridge: Bridge, make_peer: Any, peer_keys: list[Any]) -> World:
    world = World(bridge, await make_peer(), await make_peer(), peer_keys)
    await world.publish()
    row = await ContentObject.get(source_id="a1")
    world.ids["article"] = row.uri
    await world.follows()
    await world.moderation()
    await world.syndication()
    return world


ALL = dict.fromkeys(READERS, 200)
GONE = dict.fromkeys(READERS, 410)
SERVER_A = {"nobody": 404, "alice": 200, "carol": 200, "bob": 404}
SERVER_A_GONE = {"nobody": 404, "alice": 410, "carol": 410, "bob": 404}
SERVER_B = {"nobody": 404, "alice": 404, "carol": 404, "bob": 200}

#: Who gets what, for every activity (and authorization) id we emit.
TABLE: dict[str, dict[str, int]] = {
    "Create": ALL,
    "Update": ALL,
    "Add": ALL,
    "Remove": ALL,
    "Delete": ALL,
    "Announce (site, of a collective's event)": ALL,
    "Create of a deleted object": GONE,
    "Add of a deleted object": GONE,
    "Accept of a Follow": SERVER_A,
    "Accept of a Follow, then refused": SERVER_A_GONE,
    "Reject of a Follow": SERVER_A,
    "Accept of a public reply": ALL,  # cc Public and our followers, as GoToSocial does
    "Accept of a private reply": SERVER_A,
    "Accept of a reply, decision undone": SERVER_A_GONE,
    "Reject of a reply": SERVER_B,
    "Accept of a QuoteRequest, then revoked": SERVER_A_GONE,
    "Delete of a QuoteAuthorization": ALL,  # to Public, as Mastodon sends it
    "QuoteAuthorization": ALL,
    "QuoteAuthorization, revoked": GONE,
    "Follow": SERVER_A,
    "Follow, undone": SERVER_A_GONE,
    "Undo of a Follow": SERVER_A,
    "Follow of a relay": SERVER_B,
    "Announce, undone": GONE,
    "Undo of an Announce": ALL,
}


def _check_answer(response: Any, body: bytes, uri: str, unknown_body: bytes, *,
                  private: bool) -> None:
    """A 200 is the document at its id, a 410 its own Tombstone, a 404 the unknown id's answer
    (nothing tells the activity exists); answers to addressees are never cached."""
    if response.status == 200:
        document = json.loads(body)
        assert document["id"] == uri and "@context" in document
    elif response.status == 410:
        tombstone = json.loads(body)
        assert tombstone["type"] == "Tombstone" and tombstone["id"] == uri, tombstone
        assert tombstone["formerType"] and tombstone["deleted"], tombstone
    else:
        assert body == unknown_body, body
        assert response.headers.get("Cache-Control") == "no-store"
    if private and response.status != 404:
        assert response.headers["Cache-Control"] == "private, no-store"


async def test_every_activity_we_emit_answers_whom_it_is_addressed_to(world: World) -> None:
    """The table: for each activity, the status each reader gets; a 200 is the document
    itself, a 410 its own Tombstone (formerType, deleted); a 404 is the same as an unknown id."""
    assert set(TABLE) <= set(world.ids)
    unknown = await fetch(world.bridge, f"{BRIDGE}/activities/follow-0000", world.bob)
    unknown_body = await unknown.read()
    assert unknown.status == 404
    failures = []
    for label, expected in TABLE.items():
        uri = world.ids[label]
        assert uri.startswith(BRIDGE), (label, uri)
        for reader in READERS:
            response = await fetch(world.bridge, uri, world.reader(reader))
            body = await response.read()
            if response.status != expected[reader]:
                failures.append(f"{label} for {reader}: {response.status}, "
                                f"expected {expected[reader]} ({body[:120]!r})")
                continue
            try:
                _check_answer(response, body, uri, unknown_body, private=expected not in (ALL, GONE))
            except AssertionError as error:
                failures.append(f"{label} for {reader}: {error}")
    assert not failures, "\n".join(failures)


async def test_outbox_lists_only_live_public_activities(world: World) -> None:
    """Undone Announces, activities of a deleted object and non-public activities leave the
    outbox and its count."""
    bridge = world.bridge
    listed = []
    for identifier in ("halte-au-controle-numerique", "site"):
        summary = await (await fetch(bridge, f"{BRIDGE}/actors/{identifier}/outbox")).json()
        page = await (await fetch(bridge, f"{BRIDGE}/actors/{identifier}/outbox?page=1")).json()
        assert summary["totalItems"] == len(page["orderedItems"])
        listed += [item["id"] for item in page["orderedItems"]]
    for label in ("Create", "Update", "Add", "Remove", "Delete", "Undo of an Announce",
                  "Announce (site, of a collective's event)"):
        assert world.ids[label] in listed, label
    for label in ("Create of a deleted object", "Add of a deleted object", "Announce, undone",
                  "Accept of a Follow", "Follow", "Accept of a private reply"):
        assert world.ids[label] not in listed, label


async def test_private_activity_is_never_a_redirect_nor_cached_for_others(world: World) -> None:
    """A browser asking for a non-public activity gets the 404 of an unknown id (a redirect to
    a page would tell it exists); public ones may be cached, private answers never are."""
    bridge = world.bridge
    private = world.ids["Accept of a private reply"]
    response = await fetch(bridge, private, accept=BROWSER)
    assert response.status == 404
    public = await fetch(bridge, world.ids["Create"], world.alice)
    assert public.status == 200 and public.headers["Cache-Control"].startswith("public")
    answered = await fetch(bridge, private, world.alice)
    assert answered.status == 200
    assert answered.headers["Cache-Control"] == "private, no-store"
    assert "Signature" in answered.headers["Vary"]


async def test_cached_answers_never_reach_a_reader_they_are_not_for(world: World) -> None:
    """The read cache (federation/web/readcache.py) keeps public answers only: a non-public
    activity answered to its signed addressee, read again and again, is still exactly an
    unknown id to the unsigned, to another server's signer and to a browser, whatever
    validator they send; its answers say ``private, no-store`` and vary on the signature. A
    public activity is the same bytes for every reader, with ``Vary: Accept`` and an ETag."""
    bridge = world.bridge
    cache = bridge.app[READ_CACHE]
    assert cache.enabled
    unknown_bodies = {}
    for accept in (AP, BROWSER):
        unknown = await fetch(bridge, f"{BRIDGE}/activities/follow-0000", world.bob, accept)
        unknown_bodies[accept["Accept"]] = await unknown.read()
    for label in ("Accept of a private reply", "Follow", "Reject of a reply",
                  "Accept of a Follow, then refused"):
        uri = world.ids[label]
        path = uri.removeprefix(BRIDGE)
        addressee = world.bob if label == "Reject of a reply" else world.alice
        answers = [await fetch(bridge, uri, addressee) for _ in range(3)]
        etags = set()
        for answer in answers:
            assert answer.status in (200, 410), label
            assert answer.headers["Cache-Control"] == "private, no-store", label
            assert answer.headers["Vary"] == "Accept, Signature, Signature-Input", label
            assert "public" not in answer.headers["Cache-Control"], label
            etags.add(answer.headers.get("ETag", '"none"'))
        assert cache.get((path, "json")) is None and cache.get((path, "html")) is None, label
        stranger = world.alice if addressee is world.bob else world.bob
        for reader in (None, stranger):
            for validator in ({}, {"If-None-Match": "*"}, {"If-None-Match": ", ".join(etags)},
                              {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}):
                for accept in (AP, BROWSER):
                    response = await fetch(bridge, uri, reader, accept={**accept, **validator})
                    assert response.status == 404, (label, reader, validator, accept)
                    assert await response.read() == unknown_bodies[accept["Accept"]], label
    public = world.ids["Create"]
    answers = {}
    for reader in READERS:
        response = await fetch(bridge, public, world.reader(reader))
        assert response.status == 200 and response.headers["Vary"] == "Accept"
        assert response.headers["Cache-Control"].startswith("public, max-age=")
        answers[reader] = (response.headers["ETag"], await response.read())
    assert len(set(answers.values())) == 1
    assert cache.get((public.removeprefix(BRIDGE), "json")) is not None
    browser = await fetch(bridge, public, accept=BROWSER)
    assert browser.status == 303 and browser.headers["Vary"] == "Accept"


async def test_bad_signature_is_401_whether_the_activity_exists_or_not(world: World) -> None:
    """A signature that does not verify is refused (401) before anything is looked up."""
    bridge = world.bridge
    statuses = []
    for uri in (world.ids["Accept of a private reply"], f"{BRIDGE}/activities/accept-nope"):
        path = uri.removeprefix(BRIDGE)
        headers = {**AP, "Host": "bridge.example",
                   **sign_request("GET", BRIDGE + path, {}, None, world.alice.key_id,
                                  world.bob.key)}
        response = await bridge.client.get(path, headers=headers)
        statuses.append(response.status)
    assert statuses == [401, 401]


async def test_followers_addressing_answers_current_followers(world: World) -> None:
    """An activity addressed to our followers collection (not to Public) answers a signer who
    is an accepted follower, or of a follower's server, and no one else."""
    bridge = world.bridge
    halte = bridge.directory.get("halte-au-controle-numerique")
    uri = bridge.directory.uris.activity("update-followers-only")
    followers = bridge.directory.uris.followers(halte.identifier)
    await OutboxActivity.create(uri=uri, actor_id=halte.db_id, type="Update", public=False,
                                document={"@context": "https://www.w3.org/ns/activitystreams",
                                          "id": uri, "type": "Update", "actor": halte.uri,
                                          "to": [followers], "object": world.ids["article"]})
    statuses = {name: (await fetch(bridge, uri, world.reader(name))).status for name in READERS}
    assert statuses == SERVER_A  # alice follows us; carol's follow was refused, same server
    await Follower.filter(remote__uri=world.alice.uri).delete()
    assert (await fetch(bridge, uri, world.alice)).status == 404


async def test_rfc9421_signed_reader_is_answered_and_a_blocked_one_is_not(world: World) -> None:
    """An RFC 9421 signature (as WordPress signs) proves the reader as well as cavage; a signer
    of a blocked domain gets the unknown id's 404, without fetching anything."""
    from federation.db.social import Block, BlockKind
    from federation.signing.rfc9421 import sign_request_rfc9421

    bridge = world.bridge
    uri = world.ids["Accept of a private reply"]
    path = uri.removeprefix(BRIDGE)
    headers = {**AP, "Host": "bridge.example",
               **sign_request_rfc9421("GET", BRIDGE + path, {}, None, world.alice.key_id,
                                      world.alice.key)}
    response = await bridge.client.get(path, headers=headers)
    assert response.status == 200 and (await response.json())["id"] == uri
    await Block.create(kind=BlockKind.DOMAIN, value="127.0.0.1", created_by="mod")
    bridge.app[INBOX].services.blocks.invalidate()
    gets = len(world.server_a.gets)
    response = await fetch(bridge, uri, world.carol)
    assert response.status == 404
    assert len(world.server_a.gets) == gets
