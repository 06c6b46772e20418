"""Inbox fixtures: the bridge under test, and remote peers that sign like Mastodon or WordPress.

A peer is a real aiohttp server on ``127.0.0.1:PORT`` serving its actors' documents (counting
every GET) and an inbox that verifies our signatures with the ``httpsig`` package (not our code).
The bridge is the whole application (``create_app``) reached with ``Host: bridge.example``, the
configured host, so that what peers sign matches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from federation.db.content import ContentObject, ObjectKind, OutboxActivity
from federation.db.inbox import DeletedObject, ReceivedActivity
from federation.db.jobs import Job
from federation.db.moderation import Interaction, Reply, Report
from federation.db.social import Follower, RemoteActor
from federation.jobs.kinds import INBOX_ACTIVITY
from federation.signing.cavage import host_header_for, sign_request
from federation.signing.digests import sha256_digest_header
from federation.signing.httpsig_compat import httpsig_sign_request, httpsig_verify_request
from federation.signing.keys import private_key_to_pem, public_key_to_pem
from federation.signing.rfc9421 import sign_request_rfc9421

AS_JSON = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
BRIDGE = "https://bridge.example"
HALTE = f"{BRIDGE}/actors/halte-au-controle-numerique"
CAP = f"{BRIDGE}/actors/changer-de-cap"
ARTICLE = f"{BRIDGE}/objects/article/4521"


@dataclass
class PeerActor:
    """A remote actor: its id, key id and private key."""

    uri: str
    key: Any

    @property
    def key_id(self) -> str:
        return self.uri + "#main-key"


@dataclass(frozen=True)
class Redirect:
    """A redirect a peer answers instead of a document."""

    location: str
    status: int = 302


@dataclass
class Peer:
    """A remote server: documents by path (GETs counted), an inbox verifying with httpsig."""

    base: str = ""
    documents: dict[str, Any] = field(default_factory=dict)
    gets: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    trusted_keys: dict[str, str] = field(default_factory=dict)

    def actor(self, name: str, key: Any, /, **extra: Any) -> PeerActor:
        uri = f"{self.base}/users/{name}"
        self.documents[f"/users/{name}"] = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri, "type": "Person", "preferredUsername": name, "name": name.title(),
            "inbox": f"{uri}/inbox", "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_key_to_pem(key)},
        }
        self.documents[f"/users/{name}"].update(extra)
        return PeerActor(uri, key)

    def serve(self, path: str, document: Any) -> str:
        """Serve ``document`` (a dict, or ``(status, content_type, bytes)``) at ``path``."""
        self.documents[path] = document
        return self.base + path

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        """Answer GETs of ``path`` with a redirect to ``location``; return the URL of ``path``."""
        return self.serve(path, Redirect(location, status))

    def count(self, prefix: str = "") -> int:
        return sum(1 for path in self.gets if path.startswith(prefix))

    async def get(self, request: web.Request) -> web.Response:
        self.gets.append(request.path_qs)
        document = self.documents.get(request.path)
        if document is None:
            return web.Response(status=404)
        if isinstance(document, Redirect):
            return web.Response(status=document.status, headers={"Location": document.location})
        if isinstance(document, tuple):
            status, content_type, body = document
            return web.Response(status=status, body=body, headers={"Content-Type": content_type})
        return web.Response(text=json.dumps(document), headers={"Content-Type": AS_JSON})

    async def post(self, request: web.Request) -> web.Response:
        body = await request.read()
        signature = request.headers.get("Signature", "")
        key_id = signature.split('keyId="', 1)[-1].split('"', 1)[0]
        pem = self.trusted_keys.get(key_id)
        ok = (pem is not None and request.headers.get("Digest") == sha256_digest_header(body)
              and httpsig_verify_request("POST", request.path_qs, request.headers, pem))
        if not ok:
            self.refused.append(request.path)
            return web.Response(status=401)
        self.received.append(json.loads(body))
        return web.Response(status=202)


@pytest.fixture
async def make_peer(aiohttp_server: Any) -> Callable[[], Any]:
    async def start() -> Peer:
        peer = Peer()
        app = web.Application()
        app.router.add_get("/{tail:.*}", peer.get)
        app.router.add_post("/{tail:.*}", peer.post)
        server = await aiohttp_server(app)
        peer.base = f"http://127.0.0.1:{server.port}"
        return peer

    return start


@pytest.fixture
async def peer(make_peer: Callable[[], Any]) -> Peer:
    return await make_peer()


@pytest.fixture(scope="session")
def peer_keys(_rsa_key_pool: list[Any]) -> list[Any]:
    return _rsa_key_pool[4:]


@pytest.fixture
def alice(peer: Peer, peer_keys: list[Any]) -> PeerActor:
    return peer.actor("alice", peer_keys[0])


def sign_headers(scheme: str, signer: PeerActor, url: str, body: bytes,
                 key_id: str | None = None) -> dict[str, str]:
    """Headers signing a POST of ``body`` to ``url``: ``cavage`` (ours), ``httpsig`` or ``rfc9421``."""
    key_id = key_id or signer.key_id
    if scheme == "cavage":
        return sign_request("POST", url, {}, body, key_id, signer.key)
    if scheme == "httpsig":
        base = {"host": host_header_for(url),
                "date": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT"),
                "digest": sha256_digest_header(body)}
        signed = httpsig_sign_request("POST", url, base, key_id, private_key_to_pem(signer.key))
        return {"Host": signed["host"], "Date": signed["date"], "Digest": signed["digest"],
                "Signature": signed["signature"]}
    assert scheme == "rfc9421"
    return {"Host": host_header_for(url),
            **sign_request_rfc9421("POST", url, {}, body, key_id, signer.key)}


@dataclass
class Bridge:
    """The application under test."""

    client: Any
    app: web.Application

    @property
    def directory(self) -> Any:
        from federation.web.state import DIRECTORY

        return self.app[DIRECTORY]

    async def post(self, activity: Any, signer: PeerActor | None = None, *, path: str = "/inbox",
                   scheme: str = "cavage", headers: dict[str, str] | None = None,
                   body: bytes | None = None, key_id: str | None = None,
                   content_type: str = AS_JSON) -> Any:
        """POST ``activity`` signed by ``signer`` (unsigned when ``None``)."""
        if body is None:
            body = json.dumps(activity).encode()
        sent = {"Content-Type": content_type, "Host": "bridge.example"}
        if signer is not None:
            sent.update(sign_headers(scheme, signer, BRIDGE + path, body, key_id))
        sent.update(headers or {})
        return await self.client.post(path, data=body, headers=sent)

    async def run_jobs(self, clock: Callable[[], datetime] | None = None) -> int:
        """Run the job engine's due inbox jobs (``run_once`` until idle), as the worker of
        ``serve`` or ``federation worker`` would; ``clock`` moves time (leases expire).
        Return how many attempts were made."""
        from federation.jobs.worker import Worker
        from federation.web.inbox import INBOX

        worker = Worker([self.app[INBOX].inbox_task()], clock=clock or (lambda: datetime.now(UTC)),
                        random=lambda: 0.0)
        total = 0
        while ran := await worker.run_once():
            total += ran
        return total

    async def article(self, uri: str = ARTICLE, actor: str = "halte-au-controle-numerique") -> ContentObject:
        """One of our published articles."""
        return await ContentObject.create(
            actor_id=self.directory.get(actor).db_id, kind=ObjectKind.ARTICLE, source="push",
            source_id=uri.rsplit("/", 1)[-1], uri=uri, document={"id": uri, "type": "Article"},
            content_hash="0" * 64, published_at=datetime.now(UTC),
        )


@pytest.fixture
async def bridge(database_url: str, make_settings: Callable[..., Any], aiohttp_client: Any) -> Bridge:
    """The application without its in-process delivery worker and feed poller.

    Tests deliver with their own worker (``deliver_all``) and read what peers received right
    after: an in-process worker polling the same queue could claim a job first and still be
    sending it when the test looks (seen under load: the peer had received nothing yet).
    """
    from federation.app import create_app

    app = create_app(make_settings(database_url, allow_loopback_fetch=True,
                                   server={"run_worker": False}))
    client = await aiohttp_client(app)
    return Bridge(client, app)


@pytest.fixture
async def named_bridge(database_url: str, make_settings: Callable[..., Any],
                       aiohttp_client: Any) -> Bridge:
    """The bridge of :func:`bridge` whose client resolves test host names to loopback
    (``fass.example``, ``faß.example`` as ``xn--fa-hia.example``): peers keep real names."""
    from federation.app import create_app
    from tests.remote.conftest import StaticResolver

    names = {name: "127.0.0.1" for name in ("fass.example", "xn--fa-hia.example")}
    app = create_app(make_settings(database_url, allow_loopback_fetch=True,
                                   server={"run_worker": False}),
                     resolver=StaticResolver(names))
    return Bridge(await aiohttp_client(app), app)


async def named_peer(make_peer: Callable[[], Any], host: str) -> Peer:
    """A peer on loopback whose URLs name ``host`` (resolved by :func:`named_bridge`)."""
    peer = await make_peer()
    peer.base = peer.base.replace("127.0.0.1", host)
    return peer


async def stored() -> dict[str, int]:
    """How many rows the inbox could have written, per table."""
    models = (ReceivedActivity, DeletedObject, Reply, Follower, Interaction, Report,
              RemoteActor, OutboxActivity)
    counts = {model.__name__: await model.all().count() for model in models}
    counts["Job"] = await Job.filter(kind=INBOX_ACTIVITY.name).count()  # stored activities
    return counts


async def nothing_stored() -> bool:
    return all(count == 0 for count in (await stored()).values())


def note(author: PeerActor, number: int = 1, **extra: Any) -> dict[str, Any]:
    """A public Note by ``author`` replying to our article."""
    return {"id": f"{author.uri}/statuses/{number}", "type": "Note", "attributedTo": author.uri,
            "inReplyTo": ARTICLE, "content": "<p>Bravo pour le débat</p>",
            "to": [PUBLIC], "cc": [f"{author.uri}/followers"],
            "published": "2026-05-01T12:00:00Z", **extra}


def create(author: PeerActor, obj: Any, number: int = 1, **extra: Any) -> dict[str, Any]:
    """A Create of ``obj`` by ``author``."""
    return {"@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{author.uri}/statuses/{number}/activity", "type": "Create",
            "actor": author.uri, "object": obj, "to": [PUBLIC], **extra}
