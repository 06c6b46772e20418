"""Delivery fixtures: a migrated database with the actor directory, a fake clock, and peers.

A peer is a real aiohttp server on 127.0.0.1:0 (each one a distinct host ``127.0.0.1:PORT``)
whose inboxes verify every signature with the ``httpsig`` package's ``HeaderVerifier`` (not our
code), check the ``Digest`` over the raw body, record what they accepted and answer from a
script (statuses, headers, or a hang for timeouts).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from httpsig.utils import parse_signature_header
from httpsig.verify import HeaderVerifier

from federation.db.lifecycle import open_database
from federation.db.social import Follower, FollowState, RemoteActor
from federation.delivery.worker import DeliveryWorker
from federation.identity.directory import ActorDirectory
from federation.remote.client import ClientPolicy, HardenedClient
from federation.settings import Settings
from federation.signing.keys import KeyVault

REQUIRED_HEADERS = ["(request-target)", "host", "date", "digest"]
HANG = "hang"


class FakeClock:
    """UTC time that tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Received:
    path: str
    host: str
    key_id: str
    activity_id: str


@dataclass
class Peer:
    """A remote server: verified receptions, refused requests, scripted answers per path."""

    keys: dict[str, str]
    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    script: dict[str, list[Any]] = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    hanging: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    @property
    def host(self) -> str:
        return self.base_url.split("://", 1)[1]

    def answer(self, path: str, *answers: Any) -> None:
        """Queue answers for ``path``: a status, (status, headers), or HANG."""
        self.script.setdefault(path, []).extend(answers)

    def _verify(self, request: web.Request, body: bytes) -> str:
        headers = dict(request.headers)
        params = parse_signature_header(headers["Signature"])
        assert params["algorithm"] == "rsa-sha256"
        verifier = HeaderVerifier(headers, self.keys[params["keyId"]],
                                  required_headers=REQUIRED_HEADERS, method="POST",
                                  path=request.path_qs, sign_header="signature")
        assert verifier.verify(), "signature does not verify"
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        assert headers["Digest"] == digest, "digest mismatch"
        assert request.content_type == "application/activity+json"
        return params["keyId"]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Verify (401 and noted in ``refused`` when the signature fails), then answer."""
        body = await request.read()
        try:
            key_id = self._verify(request, body)
        except Exception as error:
            self.refused.append(f"{request.path}: {error!r}")
            return web.Response(status=401)
        return await self.respond(request, body, key_id)

    async def respond(self, request: web.Request, body: bytes, key_id: str) -> web.StreamResponse:
        """The answer to a verified request: the scripted status for its path, else 202."""
        queued = self.script.get(request.path)
        answer = queued.pop(0) if queued else 202
        if answer == HANG:
            self.hanging.set()
            await self.release.wait()
            answer = 202
        activity_id = json.loads(body)["id"]
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        if 200 <= status < 300:
            self.received.append(Received(request.path, request.host, key_id, activity_id))
        return web.Response(status=status, headers=headers)

    def count(self, path: str | None = None) -> int:
        return sum(1 for r in self.received if path is None or r.path == path)


@dataclass
class Env:
    settings: Settings
    directory: ActorDirectory
    client: HardenedClient
    clock: FakeClock
    start_server: Callable[..., Any]
    peers: list[Peer] = field(default_factory=list)

    @property
    def keys(self) -> dict[str, str]:
        return {a.key_id: a.rsa_public_pem for a in self.directory.all()}

    async def peer(self) -> Peer:
        peer = Peer(self.keys)
        app = web.Application()
        app.router.add_post("/{tail:.*}", peer.handle)
        server = await self.start_server(app)
        peer.base_url = f"http://127.0.0.1:{server.port}"
        self.peers.append(peer)
        return peer

    def worker(self, *, request_timeout: float | None = None, **options: Any) -> DeliveryWorker:
        """A worker on the fake clock; ``request_timeout`` only for tests that want timeouts."""
        options.setdefault("clock", self.clock)
        options.setdefault("random", lambda: 0.0)
        settings = self.settings
        if request_timeout is not None:
            delivery = settings.delivery.model_copy(update={"request_timeout": request_timeout})
            settings = settings.model_copy(update={"delivery": delivery})
        return DeliveryWorker(settings, self.directory, self.client, **options)

    async def drain(self, worker: DeliveryWorker | None = None, rounds: int = 20) -> int:
        """run_once until nothing is due; return the work items done."""
        worker = worker or self.worker()
        total = 0
        for _ in range(rounds):
            done = await worker.run_once()
            if not done:
                return total
            total += done
        raise AssertionError("the queue did not drain")


async def add_follower(
    env: Env, uri: str, inbox: str, *, shared_inbox: str | None = None,
    of: str = "halte-au-controle-numerique", state: FollowState = FollowState.ACCEPTED,
) -> RemoteActor:
    """A remote actor following local actor ``of``."""
    domain = uri.split("://", 1)[1].split("/", 1)[0].split(":")[0]
    remote = await RemoteActor.create(uri=uri, domain=domain, inbox=inbox,
                                      shared_inbox=shared_inbox, fetched_at=datetime.now(UTC))
    await Follower.create(actor_id=env.directory.get(of).db_id, remote=remote, state=state,
                          follow_activity_uri=f"{uri}#follow")
    return remote


#: Bound on waits that only end early when something is broken (never waited for otherwise).
PATIENCE = 30.0
#: The request timeout of the tests that make a peer hang on purpose.
SHORT_TIMEOUT = 0.5
#: No timeout short enough to fire on a loaded machine: an answer that came late would be a
#: retry on the fake clock (never due), i.e. a delivery silently missing. Tests of timeouts
#: ask for ``env.worker(request_timeout=SHORT_TIMEOUT)``.
DELIVERY_TEST_SETTINGS = {"request_timeout": PATIENCE, "per_host_concurrency": 2,
                          "batch_size": 50, "signing_processes": 0}


@pytest.fixture
async def env(database_url: str, make_settings: Callable[..., Settings],
              aiohttp_server: Any) -> AsyncIterator[Env]:
    """Database, directory, client (loopback allowed) and a fake clock for one test."""
    settings = make_settings(database_url, allow_loopback_fetch=True,
                             delivery=DELIVERY_TEST_SETTINGS)
    async with open_database(settings.effective_database_url):
        directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
        await directory.sync()
        async with HardenedClient(ClientPolicy(allow_loopback=True, total_timeout=PATIENCE)) as client:
            yield Env(settings, directory, client, FakeClock(), aiohttp_server)
