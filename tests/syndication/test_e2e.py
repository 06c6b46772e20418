"""Two bridges on loopback, each its own process and database, and a third server following B.

Site B follows three collectives of site A with the three policies (``review``, ``announce``,
``store``) through B's CLI; A publishes through its push API; B's moderator approves through
B's JSON API; the follower server (a real aiohttp server here, verifying every signature with
the ``httpsig`` package's verifier, not our code) receives B's Announces, then the
Undo(Announce) of what A deletes; B's exports show what they must. Workers run inside the
``serve`` processes: the test polls, with timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from httpsig.sign import HeaderSigner
from httpsig.verify import HeaderVerifier

from federation.signing.digests import sha256_digest_header
from federation.signing.keys import private_key_to_pem, public_key_to_pem
from tests.config_toml import config_toml
from tests.serve import Served, clean_env, free_port, until

pytestmark = pytest.mark.slow

AS_JSON = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PASSWORD = "correct horse battery staple 42"


@dataclass
class Site:
    """One bridge: its configuration, port and serving process."""

    name: str
    directory: Path
    port: int = field(default_factory=free_port)
    served: Served = field(init=False)

    def __post_init__(self) -> None:
        self.served = Served(self.config, self.port, self.directory / "serve.log",
                             clean_env(FEDERATION_LOG_LEVEL="WARNING"))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.directory / "federation.toml"

    def write_config(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = self.name
        self.config.write_text(config_toml(
            base_url=self.base, allow_loopback_fetch=True, port=self.port,
            site={"name": f"Site {name}", "home_page": f"https://{name}.example/"},
            site_actor={"identifier": "site", "username": f"site{name}", "name": f"Site {name}"},
            collectives=[
                {"identifier": "halte", "username": f"halte{name}", "name": f"Halte {name}"},
                {"identifier": "cap", "username": f"cap{name}", "name": f"Changer de cap {name}"},
                {"identifier": "presse", "username": f"presse{name}",
                 "name": f"Revue de presse {name}"},
            ]), encoding="utf-8")

    async def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run ``federation --config … ARGS`` and return its stdout (it must succeed)."""
        return await self.served.command(*args, stdin=stdin)


@dataclass
class Follower:
    """A third server: its actor follows B's site actor and records what B sends, verified."""

    key: Any
    base: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None

    @property
    def actor_uri(self) -> str:
        return f"{self.base}/users/fran"

    def actor_document(self) -> dict[str, Any]:
        return {"@context": ["https://www.w3.org/ns/activitystreams",
                             "https://w3id.org/security/v1"],
                "id": self.actor_uri, "type": "Person", "preferredUsername": "fran",
                "inbox": f"{self.actor_uri}/inbox",
                "publicKey": {"id": f"{self.actor_uri}#main-key", "owner": self.actor_uri,
                              "publicKeyPem": public_key_to_pem(self.key.public_key())}}

    async def get_actor(self, request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(self.actor_document()), content_type=AS_JSON)

    async def inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        signature = request.headers.get("Signature", "")
        key_id = signature.split('keyId="', 1)[-1].split('"', 1)[0]
        assert self.session is not None
        async with self.session.get(key_id, headers={"Accept": AS_JSON}) as answer:
            actor = json.loads(await answer.read())
        pem = actor["publicKey"]["publicKeyPem"]
        verifier = HeaderVerifier(dict(request.headers), pem, method="POST",
                                  path=request.path_qs, sign_header="signature",
                                  required_headers=["(request-target)", "host", "date", "digest"])
        document = json.loads(body)
        if (request.headers.get("Digest") != sha256_digest_header(body)
                or not verifier.verify() or actor["id"] != document.get("actor")):
            self.refused.append(document.get("type", "?"))
            return web.Response(status=401)
        self.received.append(document)
        return web.Response(status=202)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [a for a in self.received if a.get("type") == kind]

    async def follow(self, site: Site) -> None:
        """A Follow of ``site``'s site actor, signed with httpsig."""
        assert self.session is not None
        body = json.dumps({"@context": "https://www.w3.org/ns/activitystreams",
                           "id": f"{self.actor_uri}#follow-1", "type": "Follow",
                           "actor": self.actor_uri, "object": f"{site.base}/actors/site"}).encode()
        headers = {"Host": f"127.0.0.1:{site.port}",
                   "Date": format_datetime(datetime.now(UTC), usegmt=True),
                   "Digest": sha256_digest_header(body)}
        signer = HeaderSigner(f"{self.actor_uri}#main-key", private_key_to_pem(self.key),
                              algorithm="rsa-sha256", sign_header="signature",
                              headers=["(request-target)", "host", "date", "digest"])
        signed = signer.sign(headers, method="POST", path="/inbox")
        signed["Content-Type"] = AS_JSON
        async with self.session.post(f"{site.base}/inbox", data=body, headers=signed) as answer:
            assert answer.status == 202, await answer.text()


@contextlib.asynccontextmanager
async def follower_server(key: Any) -> AsyncIterator[Follower]:
    follower = Follower(key)
    app = web.Application()
    app.router.add_get("/users/fran", follower.get_actor)
    app.router.add_post("/users/fran/inbox", follower.inbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    follower.base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        follower.session = session
        try:
            yield follower
        finally:
            await runner.cleanup()


async def wait_ready(site: Site) -> None:
    async with aiohttp.ClientSession() as session:
        async def ready() -> bool:
            try:
                async with session.get(f"{site.base}/.well-known/nodeinfo") as answer:
                    return answer.status == 200
            except aiohttp.ClientError:
                return False
        await until(ready, f"{site.name} to serve", site.served.log)


@contextlib.asynccontextmanager
async def running(*sites: Site) -> AsyncIterator[None]:
    """Migrated, then serving (readiness is awaited by the caller, beside other set-up)."""
    for site in sites:
        site.write_config()
    await asyncio.gather(*(site.cli("migrate") for site in sites))
    try:
        await asyncio.gather(*(site.served.start() for site in sites))
        yield
    finally:
        await asyncio.gather(*(site.served.stop() for site in sites))


async def test_sister_sites_follow_review_announce_store_and_withdraw(tmp_path, peer_keys):
    """B follows A's collectives with each policy; approvals, boosts, withdrawals reach B's follower."""
    a, b = Site("a", tmp_path / "a"), Site("b", tmp_path / "b")
    async with running(a, b), follower_server(peer_keys[1]) as fran, \
            aiohttp.ClientSession() as http:
        moderator_token, cms_token, *_ = await asyncio.gather(
            _moderator_token(b), _cms_token(a), wait_ready(a), wait_ready(b))
        moderation = {"Authorization": f"Bearer {moderator_token}"}

        # B's readers: fran follows B's site actor and gets its Accept.
        await fran.follow(b)
        await until(lambda: _async(fran.of_type("Accept")), "fran's Accept", b.served.log)

        # B follows three collectives of A, one per policy, through its CLI (concurrently:
        # the CLI only writes rows, B's serving process delivers).
        outputs = await asyncio.gather(*(
            b.cli("follow", f"@{collective}a@127.0.0.1:{a.port}", "--policy", policy)
            for collective, policy in (("halte", "review"), ("cap", "announce"),
                                       ("presse", "store"))))
        assert all("pending" in out for out in outputs)

        async def accepted() -> bool:
            sources = await _get_json(http, f"{b.base}/api/v1/syndication/sources", moderation)
            return [s["state"] for s in sources["sources"]] == ["accepted"] * 3
        await until(accepted, "A to accept B's follows", a.served.log, b.served.log)
        listing = asyncio.create_task(b.cli("following"))

        # A publishes an article per collective, and an event (push API).
        published: dict[str, str] = {}
        for collective in ("halte", "cap", "presse"):
            published[f"{collective}-article"] = await _publish(
                http, a, cms_token, collective, "articles", f"{collective}-1",
                {"title": f"Débat de {collective}", "published": "2026-05-01T10:00:00+02:00",
                 "summary": "Jeudi, débat au local.", "content_html": "<p>Texte intégral</p>"})
        published["halte-event"] = await _publish(
            http, a, cms_token, "halte", "events", "halte-ev-1",
            {"title": "Rencontre publique", "published": "2026-05-01T10:00:00+02:00",
             "start": "2026-06-09T18:00:00", "end": "2026-06-09T20:00:00",
             "timezone": "Europe/Paris", "location": "La Cale, 16 rue Royet, Saint-Étienne",
             "content_html": "<p>Entrée libre</p>"})

        async def items(state: str) -> dict[str, dict[str, Any]]:
            found = await _get_json(http, f"{b.base}/api/v1/syndication/items?state={state}",
                                    moderation)
            return {item["object"]: item for item in found["items"]}

        async def arrived() -> bool:
            return (len(await items("pending_review")) == 2 and len(await items("approved")) == 1
                    and len(await items("stored")) == 1)
        await until(arrived, "A's items at B", a.served.log, b.served.log)
        assert (await listing).count("accepted") == 3
        pending = await items("pending_review")
        assert set(pending) == {published["halte-article"], published["halte-event"]}
        assert set(await items("approved")) == {published["cap-article"]}
        assert set(await items("stored")) == {published["presse-article"]}

        # announce: the boost reaches B's follower at once; review: nothing yet.
        await until(lambda: _async(fran.of_type("Announce")), "the automatic boost", b.served.log)
        # review: B's moderator approves both items → two more boosts.
        for item in pending.values():
            async with http.post(f"{b.base}/api/v1/syndication/items/{item['id']}/approve",
                                 headers=moderation) as answer:
                assert answer.status == 200, await answer.text()
        await until(lambda: _async(len(fran.of_type("Announce")) == 3), "the approved boosts",
                    b.served.log)
        boosted = {announce["object"] for announce in fran.of_type("Announce")}
        assert boosted == {published["halte-article"], published["halte-event"],
                           published["cap-article"]}  # store: never boosted
        assert all(x["actor"] == f"{b.base}/actors/site" and PUBLIC in x["to"]
                   for x in fran.of_type("Announce"))

        feed = await _get_json(http, f"{b.base}/feeds/syndication.json", {})
        assert {i["id"] for i in feed["items"]} == {published[k] for k in published}
        calendar = await _get_text(http, f"{b.base}/feeds/syndication.ics")
        assert published["halte-event"] in calendar.replace("\r\n ", "")
        assert "Rencontre publique" in calendar

        # A deletes the reviewed article, the boosted one and the stored one.
        for collective in ("halte", "cap", "presse"):
            async with http.delete(f"{a.base}/api/v1/actors/{collective}/articles/{collective}-1",
                                   headers={"Authorization": f"Bearer {cms_token}"}) as answer:
                assert answer.status == 200, await answer.text()

        async def withdrawn() -> bool:
            return len(await items("withdrawn")) == 3 and len(fran.of_type("Undo")) == 2
        await until(withdrawn, "B to withdraw A's deleted items", a.served.log, b.served.log)
        undone = {undo["object"]["object"] for undo in fran.of_type("Undo")}
        assert undone == {published["halte-article"], published["cap-article"]}
        feed = await _get_json(http, f"{b.base}/feeds/syndication.json", {})
        assert [i["id"] for i in feed["items"]] == [published["halte-event"]]
        atom = await _get_text(http, f"{b.base}/feeds/syndication.atom")
        assert published["halte-article"] not in atom and published["halte-event"] in atom
        assert fran.refused == []


async def _async(value: Any) -> Any:
    return value


async def _get_json(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> Any:
    async with http.get(url, headers=headers) as answer:
        assert answer.status == 200, await answer.text()
        return json.loads(await answer.read())


async def _get_text(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as answer:
        assert answer.status == 200
        return await answer.text()


async def _moderator_token(site: Site) -> str:
    await site.cli("moderators", "add", "camille", stdin=PASSWORD + "\n")
    return (await site.cli("moderators", "token", "camille")).split()[0]


async def _cms_token(site: Site) -> str:
    out = await site.cli("tokens", "create", "cms")
    return out.strip().splitlines()[-1].strip()


async def _publish(http: aiohttp.ClientSession, site: Site, token: str, actor: str, kinds: str,
                   item_id: str, payload: dict[str, Any]) -> str:
    url = f"{site.base}/api/v1/actors/{actor}/{kinds}/{item_id}"
    async with http.put(url, json=payload, headers={"Authorization": f"Bearer {token}"}) as answer:
        assert answer.status == 201, await answer.text()
        return (await answer.json())["id"]
