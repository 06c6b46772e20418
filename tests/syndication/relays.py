"""Relays on loopback, modelled on the code of the relays sites subscribe to (read, not copied).

:class:`RelayPeer` is a real aiohttp server that serves its actor, verifies every POST with the
``httpsig`` package against the key of the *actor document it fetched from the bridge* (as
relays do), and behaves as one of two relays:

- ``activityrelay`` — ActivityRelay (PyPI ``activityrelay`` 0.3.5, ``relay/processors.py``,
  ``views/activitypub.py``, ``misc.py``): a LitePub relay whose actor is an ``Application`` at
  ``/actor``, inbox ``/inbox``. A ``Follow`` from anything but an ``Application`` is answered
  with a ``Reject`` (``{id: follow id, type: Follow, object: relay actor, actor: follower}``);
  an accepted one is answered ``Accept`` and, for any software but Mastodon (read from the
  follower's NodeInfo), followed back (``Follow{object: the follower}``). Every answer goes to
  the follower's *shared* inbox. It then takes posts from any actor of a subscribed instance
  (it looks the sender up by its shared inbox, domain or actor) and answers others 401.
  ``Undo`` of the subscription: the instance is dropped and the relay sends an ``Undo`` that
  wraps *the subscriber's own Undo*.
- ``mastodon`` — a Mastodon-style relay (yukimochi's Activity-Relay ``api/handle.go``,
  ``api/resolver.go``; pub-relay): ``Follow{object: as:Public}`` at ``/inbox`` from any actor
  type, answered ``Accept{object: the Follow}`` at the actor's inbox; the subscriber is its
  domain, delivered at the actor's ``sharedInbox``; a follow of its ``Service`` actor is taken
  only from an ``Application`` (or an actor at ``…/relay``). Public ``Create``/``Update``/
  ``Delete`` from a subscribed domain are relayed, anything from elsewhere is refused (401).

What the relay sends is queued (relays push from a worker) and handed to the bridge by
:meth:`RelayPeer.flush`, signed with the relay's key.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from inbox.conftest import AS_JSON

from federation.signing.digests import sha256_digest_header
from federation.signing.httpsig_compat import httpsig_verify_request
from federation.signing.keys import public_key_to_pem

from .conftest import BRIDGE, PUBLIC, Bridge, PeerActor

PUBLICS = {PUBLIC, "as:Public", "Public"}


def _addressed_public(document: dict[str, Any]) -> bool:
    values = [*_list(document.get("to")), *_list(document.get("cc"))]
    return any(value in PUBLICS for value in values)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


@dataclass
class Instance:
    """A subscriber, as the relays keep it: by domain."""

    domain: str
    inbox: str
    actor: str
    follow_id: str


@dataclass
class RelayPeer:
    style: str
    key: Any
    bridge: Bridge
    base: str = ""
    #: ActivityRelay's whitelist mode: only these domains may subscribe (None: open).
    whitelist: set[str] | None = None
    instances: dict[str, Instance] = field(default_factory=dict)
    #: Every activity that passed the signature check, and the refusals (status, reason).
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    #: What the relay would hand to its other subscribers (an ``Announce`` of the id for
    #: ActivityRelay's Create/Announce, the activity itself otherwise).
    relayed: list[dict[str, Any]] = field(default_factory=list)
    #: Queued messages: (inbox URL on the bridge, activity).
    outbox: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def actor_uri(self) -> str:
        return f"{self.base}/actor"

    @property
    def inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def signer(self) -> PeerActor:
        return PeerActor(self.actor_uri, self.key)

    def actor_document(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor_uri,
            "type": "Application" if self.style == "activityrelay" else "Service",
            "preferredUsername": "relay", "name": "ActivityRelay",
            "inbox": self.inbox, "outbox": f"{self.base}/outbox",
            "followers": f"{self.base}/followers", "following": f"{self.base}/following",
            "endpoints": {"sharedInbox": self.inbox},
            "publicKey": {"id": f"{self.actor_uri}#main-key", "owner": self.actor_uri,
                          "publicKeyPem": public_key_to_pem(self.key)},
        }

    def _new(self, kind: str, obj: Any, to: list[str]) -> dict[str, Any]:
        return {"@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{self.actor_uri}/activities/{uuid.uuid4()}", "type": kind,
                "actor": self.actor_uri, "object": obj, "to": to}

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [a for a in self.received if a.get("type") == kind]

    # -- the bridge, seen from the relay ----------------------------------------------------

    async def _fetch(self, url: str) -> Any:
        """GET a document of the bridge (the relay fetches actors and NodeInfo)."""
        if not url.startswith(BRIDGE):
            return None
        answer = await self.bridge.client.get(
            url.removeprefix(BRIDGE), headers={"Accept": AS_JSON, "Host": "bridge.example"})
        if answer.status != 200:
            return None
        return json.loads(await answer.read())

    async def _software(self) -> str | None:
        links = await self._fetch(f"{BRIDGE}/.well-known/nodeinfo")
        href = next((link["href"] for link in (links or {}).get("links", [])
                     if "nodeinfo.diaspora.software" in link["rel"]), None)
        info = await self._fetch(href) if href else None
        return info["software"]["name"] if info else None

    async def flush(self) -> list[int]:
        """Send the queued messages to the bridge, signed by the relay; their statuses."""
        statuses = []
        queued, self.outbox = self.outbox, []
        for inbox, message in queued:
            answer = await self.bridge.post(message, self.signer,
                                            path=inbox.removeprefix(BRIDGE))
            statuses.append(answer.status)
        return statuses

    # -- its inbox ----------------------------------------------------------------------------

    async def post(self, request: web.Request) -> web.Response:
        body = await request.read()
        message = json.loads(body)
        actor = await self._fetch(_id(message.get("actor")) or "")
        if not isinstance(actor, dict):
            return self._refuse(400, "failed to fetch actor")
        pem = actor.get("publicKey", {}).get("publicKeyPem", "")
        if (request.headers.get("Digest") != sha256_digest_header(body)
                or not httpsig_verify_request("POST", request.path_qs, request.headers, pem)):
            return self._refuse(401, "signature validation failed")
        self.received.append(message)
        if self.style == "activityrelay":
            return await self._activityrelay(message, actor)
        return await self._mastodon(message, actor)

    def _refuse(self, status: int, reason: str) -> web.Response:
        self.refused.append((status, reason))
        return web.Response(status=status, text=reason)

    def _instance_of(self, actor: dict[str, Any]) -> Instance | None:
        """ActivityRelay's ``get_inbox(shared inbox)``: the row whose domain, inbox or actor
        is the sender's shared inbox (its inbox without one)."""
        shared = (actor.get("endpoints") or {}).get("sharedInbox") or actor.get("inbox")
        return next((i for i in self.instances.values()
                     if shared in (i.inbox, i.domain, i.actor)), None)

    async def _activityrelay(self, message: dict[str, Any], actor: dict[str, Any]) -> web.Response:
        kind = message.get("type")
        instance = self._instance_of(actor)
        shared = (actor.get("endpoints") or {}).get("sharedInbox") or actor["inbox"]
        if kind != "Follow" and instance is None:
            return self._refuse(401, "access denied")
        domain = urlsplit(actor["id"]).netloc
        if kind == "Follow":
            software = await self._software()
            allowed = self.whitelist is None or domain in self.whitelist
            answer = {"id": message["id"], "type": "Follow", "object": self.actor_uri,
                      "actor": actor["id"]}
            if actor.get("type") != "Application" or not allowed:
                self.outbox.append((shared, self._new("Reject", answer, [actor["id"]])))
                return web.Response(status=202)
            self.instances[domain] = Instance(domain, shared, actor["id"], message["id"])
            self.outbox.append((shared, self._new("Accept", answer, [actor["id"]])))
            if software != "mastodon":
                self.outbox.append((shared, self._new("Follow", actor["id"], [actor["id"]])))
        elif kind == "Undo":
            inner = message.get("object")
            if not isinstance(inner, dict) or inner.get("type") != "Follow":
                return web.Response(status=202)
            assert instance is not None
            if instance.follow_id and instance.follow_id != _id(inner):
                return web.Response(status=202)  # an old unfollow
            del self.instances[instance.domain]
            self.outbox.append((shared, self._new("Undo", message, [actor["id"]])))
        elif kind in ("Create", "Announce"):
            self.relayed.append(self._new("Announce", _id(message.get("object")),
                                          [f"{self.base}/followers"]))
        elif kind in ("Update", "Delete"):
            self.relayed.append(message)
        return web.Response(status=202)

    async def _mastodon(self, message: dict[str, Any], actor: dict[str, Any]) -> web.Response:
        kind = message.get("type")
        domain = urlsplit(actor["id"]).netloc
        target = _id(message.get("object"))
        if _addressed_public(message) and kind in ("Create", "Update", "Delete", "Move"):
            if domain not in self.instances:
                return self._refuse(401, "to use the relay service, please follow in advance")
            self.relayed.append(message)
        elif kind == "Follow":
            able = actor.get("type") == "Application" or actor["id"].endswith("/relay")
            if target in PUBLICS or (target == self.actor_uri and able):
                shared = (actor.get("endpoints") or {}).get("sharedInbox") or actor["inbox"]
                self.instances[domain] = Instance(domain, shared, actor["id"], message["id"])
                self.outbox.append((actor["inbox"], self._new("Accept", message, [actor["id"]])))
            else:
                self.outbox.append((actor["inbox"], self._new("Reject", message, [actor["id"]])))
        elif kind == "Undo":
            inner = message.get("object")
            if isinstance(inner, dict) and inner.get("type") == "Follow":
                self.instances.pop(domain, None)
        return web.Response(status=202)


async def start_relay(aiohttp_server: Any, bridge: Bridge, key: Any, style: str,
                      **options: Any) -> RelayPeer:
    relay = RelayPeer(style, key, bridge, **options)
    app = web.Application()

    async def actor(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(relay.actor_document()),
                            headers={"Content-Type": AS_JSON})

    app.router.add_get("/actor", actor)
    app.router.add_post("/inbox", relay.post)
    app.router.add_post("/actor", relay.post)
    server = await aiohttp_server(app)
    relay.base = f"http://127.0.0.1:{server.port}"
    return relay
