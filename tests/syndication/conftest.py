"""Syndication fixtures: the bridge and signing peers of the inbox tests, a sister site that we
follow, readers who follow us, and helpers to build what a sister site publishes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from inbox.conftest import (  # noqa: F401 - fixtures re-exported for these tests
    ARTICLE,
    BRIDGE,
    PUBLIC,
    Bridge,
    Peer,
    PeerActor,
    alice,
    bridge,
    create,
    make_peer,
    peer,
    peer_keys,
)

from federation.db.social import Following, FollowState, SyndicationPolicy
from federation.delivery.worker import DeliveryWorker
from federation.web.state import CLIENT, SETTINGS

SITE = f"{BRIDGE}/actors/site"
SITE_FOLLOWERS = f"{SITE}/followers"


def article(author: PeerActor, number: int = 1, **extra: Any) -> dict[str, Any]:
    """A public Article published by a sister site's actor."""
    return {"id": f"{author.uri}/articles/{number}", "type": "Article",
            "attributedTo": author.uri, "name": f"Débat numéro {number}",
            "summary": "<p>Jeudi, débat au local.</p>",
            "content": "<p>Texte intégral<script>alert(1)</script></p>",
            "url": {"type": "Link", "href": f"https://sister.example/article{number}"},
            "to": [PUBLIC], "cc": [f"{author.uri}/followers"],
            "published": "2026-05-01T10:00:00Z", **extra}


def event(author: PeerActor, number: int = 1, **extra: Any) -> dict[str, Any]:
    """A public Event (Mobilizon's shape) published by a sister site's actor."""
    return {**article(author, number), "id": f"{author.uri}/events/{number}", "type": "Event",
            "name": f"Rencontre {number}", "startTime": "2026-06-09T18:00:00+02:00",
            "endTime": "2026-06-09T20:00:00+02:00",
            "location": {"type": "Place", "name": "La Cale",
                         "address": {"type": "PostalAddress", "streetAddress": "16 rue Royet",
                                     "addressLocality": "Saint-Étienne"}},
            **extra}


def activity(kind: str, author: PeerActor, obj: Any, number: int = 1) -> dict[str, Any]:
    return {"@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{author.uri}/activities/{kind.lower()}-{number}", "type": kind,
            "actor": author.uri, "object": obj, "to": [PUBLIC]}


async def follow_row(bridge: Bridge, target: str, policy: str = "review", *,
                     actor: str = "site", state: FollowState = FollowState.ACCEPTED,
                     is_relay: bool = False) -> Following:
    """Our follow of ``target`` (accepted by default) with ``policy``."""
    return await Following.create(
        actor_id=bridge.directory.get(actor).db_id, target_uri=target,
        policy=SyndicationPolicy(policy), state=state, is_relay=is_relay,
        follow_activity_uri=f"{BRIDGE}/activities/follow-{target.rsplit('/', 1)[-1]}",
        decided_at=datetime.now(UTC),
    )


async def deliver_all(bridge: Bridge) -> None:
    worker = DeliveryWorker(bridge.app[SETTINGS], bridge.directory, bridge.app[CLIENT],
                            random=lambda: 0.0)
    for _ in range(6):
        if not await worker.run_once():
            return


def trust_bridge(bridge: Bridge, peer: Peer) -> None:
    peer.trusted_keys = {a.key_id: a.rsa_public_pem for a in bridge.directory.signing_actors()}


@pytest.fixture
async def readers(make_peer: Callable[[], Any], peer_keys: list[Any]) -> Peer:
    """A second server whose actor ``carol`` will follow our site actor."""
    server = await make_peer()
    server.actor("carol", peer_keys[1])
    return server


async def follow_us(bridge: Bridge, readers: Peer, peer_keys: list[Any]) -> PeerActor:
    """``carol`` follows our site actor; her Accept is delivered, then forgotten."""
    carol = PeerActor(f"{readers.base}/users/carol", peer_keys[1])
    trust_bridge(bridge, readers)
    follow = {"@context": "https://www.w3.org/ns/activitystreams",
              "id": f"{carol.uri}#follow", "type": "Follow", "actor": carol.uri, "object": SITE}
    assert (await bridge.post(follow, carol)).status == 202
    await deliver_all(bridge)
    assert [a["type"] for a in readers.received] == ["Accept"]
    readers.received.clear()
    return carol
