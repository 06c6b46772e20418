"""The corpus of real-world payloads (``tests/fixtures/wild/<software>/<case>.json``), each
posted signed by a loopback peer actor to the running bridge, each with its expected outcome.

A fixture is JSON: ``modelled_on`` (the real source its shape was copied from, our hosts and
ids substituted), ``about``, optional ``given`` (``article``, ``event``: our published
objects), ``actors`` (path → extra fields of actor documents the peer serves besides the
activity's actor), ``serve`` (path → document the peer serves), ``before`` (activities posted
first, each must be answered 202), ``decide_before`` (the state moderators then gave every
reply), ``actor_update`` (fields changed in the actor's document
before the last post), ``signed_by`` (another actor signs: a forwarded activity), ``settings``
(overrides of the bridge's settings), the ``activity``, and ``expect``:

- ``status`` (default 202) and, for a 202, ``outcome`` (``processed``, ``ignored``); for a
  refusal, ``reason`` (a part of the error message);
- ``changes``: how many rows each table gained or lost (``Reply``, ``Follower``,
  ``Interaction``, ``Report``, ``DeletedObject``); every one of those not listed is unchanged;
- ``reply`` (fields of the one reply row), ``interactions``, ``followers``, ``report``,
  ``remote_actor``.

``{{peer}}`` is the peer's base URL and ``{{bridge}}`` ours. The outcome table is in
docs/FEDERATION.md ("What we accept").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from federation.db.content import ContentObject, ObjectKind
from federation.db.inbox import DeletedObject
from federation.db.moderation import Interaction, InteractionKind, Reply, ReplyState, Report
from federation.db.social import Follower, RemoteActor
from federation.signing.keys import public_key_to_pem

from .conftest import BRIDGE, Bridge, Peer, PeerActor

CORPUS = Path(__file__).parent.parent / "fixtures" / "wild"
FIXTURES = sorted(CORPUS.glob("*/*.json"))
#: The tables whose row counts a fixture's ``changes`` accounts for (unlisted: unchanged).
COUNTED = {"Reply": Reply, "Follower": Follower, "Interaction": Interaction, "Report": Report,
           "DeletedObject": DeletedObject}
EVENT = f"{BRIDGE}/objects/event/77"


def load(path: Path, base: str) -> dict[str, Any]:
    """A fixture with its placeholders replaced."""
    raw = path.read_text(encoding="utf-8")
    return json.loads(raw.replace("{{peer}}", base).replace("{{bridge}}", BRIDGE))


def serve_actor(peer: Peer, uri: str, key: Any, extra: dict[str, Any]) -> PeerActor:
    """Serve an actor document at ``uri`` (on the peer), with its public key."""
    path = uri.removeprefix(peer.base)
    name = path.rstrip("/").rsplit("/", 1)[-1] or "actor"
    document = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": uri, "type": "Person", "preferredUsername": name, "name": name.title(),
        "inbox": f"{uri}/inbox", "outbox": f"{uri}/outbox", "followers": f"{uri}/followers",
        "endpoints": {"sharedInbox": f"{peer.base}/inbox"},
        "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_key_to_pem(key)},
    }
    document.update(extra)
    peer.documents[path] = document
    return PeerActor(uri, key)


def actor_of(activity: dict[str, Any]) -> str:
    actor = activity["actor"]
    return actor["id"] if isinstance(actor, dict) else actor


async def counts() -> dict[str, int]:
    return {name: await model.all().count() for name, model in COUNTED.items()}


def test_every_fixture_says_what_it_was_modelled_on_and_expects():
    """Each fixture names its source and its expected outcome; the corpus covers ten servers,
    and docs/FEDERATION.md counts it right."""
    assert len(FIXTURES) >= 60
    softwares = {path.parent.name for path in FIXTURES}
    assert {"mastodon", "misskey", "pleroma", "gotosocial", "lemmy", "mobilizon", "pixelfed",
            "friendica", "wordpress", "hubzilla"} <= softwares
    federation_md = (Path(__file__).parents[2] / "docs" / "FEDERATION.md").read_text(encoding="utf-8")
    assert f"holds {len(FIXTURES)} payloads" in " ".join(federation_md.split())
    for path in FIXTURES:
        fixture = json.loads(path.read_text(encoding="utf-8"))
        assert fixture.get("modelled_on") and fixture.get("about"), path
        assert isinstance(fixture.get("activity"), dict) and "changes" in fixture["expect"], path


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_wild_payload(path: Path, database_url: str, make_settings: Callable[..., Any],
                            aiohttp_client: Any, peer: Peer, peer_keys: list[Any]) -> None:
    """The payload is handled or refused as its fixture expects, and nothing else changes."""
    from federation.app import create_app

    fixture = load(path, peer.base)
    settings = make_settings(database_url, allow_loopback_fetch=True,
                             server={"run_worker": False}, **fixture.get("settings", {}))
    app = create_app(settings)
    bridge = Bridge(await aiohttp_client(app), app)
    for given in fixture.get("given", []):
        await _given(bridge, given)
    keys = iter(peer_keys)
    signers: dict[str, PeerActor] = {}
    activities = [*fixture.get("before", []), fixture["activity"]]
    wanted = {actor_of(activity): {} for activity in activities}
    wanted.update({peer.base + p: extra for p, extra in fixture.get("actors", {}).items()})
    for uri, extra in wanted.items():
        signers[uri] = serve_actor(peer, uri, next(keys), extra)
    for served_path, document in fixture.get("serve", {}).items():
        peer.serve(served_path, document)
    for earlier in fixture.get("before", []):
        response = await bridge.post(earlier, signers[actor_of(earlier)])
        assert response.status == 202, (earlier["type"], await response.text())
    if "decide_before" in fixture:  # what a moderator decided meanwhile
        await Reply.all().update(state=ReplyState(fixture["decide_before"]))
    activity = fixture["activity"]
    actor_uri = actor_of(activity)
    if "actor_update" in fixture:
        peer.documents[actor_uri.removeprefix(peer.base)].update(fixture["actor_update"])
    signer = signers[fixture.get("signed_by", actor_uri)]
    expect = fixture["expect"]
    before = await counts()
    response = await bridge.post(activity, signer)
    body = await response.text()
    assert response.status == expect.get("status", 202), body
    if response.status == 202:
        assert json.loads(body)["status"] == expect["outcome"], body
    else:
        assert expect["reason"] in body, body
    after = await counts()
    changes = {name: after[name] - before[name] for name in COUNTED if after[name] != before[name]}
    assert changes == expect["changes"], changes
    await _check(expect, actor_uri)


async def _given(bridge: Bridge, given: str) -> None:
    if given == "article":
        await bridge.article()
    elif given == "event":
        await ContentObject.create(
            actor_id=bridge.directory.get("halte-au-controle-numerique").db_id,
            kind=ObjectKind.EVENT, source="push", source_id="77", uri=EVENT,
            document={"id": EVENT, "type": "Event"}, content_hash="1" * 64,
            published_at=datetime.now(UTC))
    else:
        raise AssertionError(f"unknown given {given!r}")


async def _check(expect: dict[str, Any], actor_uri: str) -> None:
    if "reply" in expect:
        wanted = dict(expect["reply"])
        reply = await Reply.all().order_by("-id").first()
        assert reply is not None
        for needle in wanted.pop("content_contains", []):
            assert needle in reply.content_html, (needle, reply.content_html)
        if "target" in wanted:
            assert (reply.target_id is not None) == wanted.pop("target")
        if "request" in wanted:
            assert (reply.request_activity_uri is not None) == wanted.pop("request")
        if "history" in wanted:
            assert len(reply.history) == wanted.pop("history")
        if "attachments" in wanted:
            assert len(reply.attachments) == wanted.pop("attachments"), reply.attachments
        if "author" in wanted:
            await reply.fetch_related("author")
            assert reply.author.uri == wanted.pop("author")
        for name, value in wanted.items():
            stored = getattr(reply, name)
            stored = stored.value if hasattr(stored, "value") else stored
            assert stored == value, (name, stored)
    if "interactions" in expect:
        for kind, number in expect["interactions"].items():
            assert await Interaction.filter(kind=InteractionKind(kind)).count() == number, kind
    if "followers" in expect:
        assert await Follower.filter(remote__uri=actor_uri).count() == expect["followers"]
    if "report" in expect:
        report = await Report.get()
        wanted = expect["report"]
        assert report.object_uris == wanted["objects"], report.object_uris
        assert report.content == wanted["content"], report.content
    if "remote_actor" in expect:
        remote = await RemoteActor.get(uri=actor_uri)
        for name, value in expect["remote_actor"].items():
            assert getattr(remote, name) == value, (name, getattr(remote, name))
