"""Two bridges behind Debian's nginx, configured from the documented example, over real TLS.

As deployed: nginx (Debian's package, the example of docs/deploy.md rendered for two virtual
hosts, run unprivileged) terminates TLS for ``site.test`` and ``peer.test`` (``/etc/hosts``),
with certificates from a local CA that both bridges trust through ``SSL_CERT_FILE`` only. Each
bridge is a ``federation serve`` process on 127.0.0.1 whose ``base_url`` is its public
``https://NAME.test:PORT``. The peer follows a collective of the site by handle (WebFinger over
https), the site publishes through its push API (over https), the article reaches the peer:
every delivery and signed fetch crossed nginx and had its signature — which covers ``Host`` —
verified. Then a proxy that does not pass ``Host`` (nginx's default) is shown to break them.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import aiohttp
import pytest
from httpsig.sign import HeaderSigner

from federation.signing.digests import sha256_digest_header
from federation.signing.keys import generate_rsa_key, private_key_to_pem
from tests.config_toml import config_toml
from tests.deploy.nginx import Nginx, VirtualHost, example, host_names
from tests.serve import Served, clean_env, free_port, until
from tests.tlsca import LocalCA

pytestmark = pytest.mark.slow

AS_JSON = "application/activity+json"


@dataclass
class Bridge:
    """One ``federation serve`` behind nginx at ``https://NAME.test:HTTPS_PORT``."""

    name: str
    directory: Path
    https_port: int
    ca: Path
    port: int = field(default_factory=free_port)
    served: Served = field(init=False)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = self.name
        self.config.write_text(config_toml(
            base_url=f"https://{name}.test:{self.https_port}", allow_loopback_fetch=True,
            port=self.port, server={"trusted_proxies": ["127.0.0.1", "::1"]},
            site={"name": f"Site {name}", "home_page": f"https://www.{name}.test/"},
            site_actor={"identifier": "site", "username": "site", "name": f"Site {name}"},
            collectives=[{"identifier": "halte", "username": "halte", "name": f"Halte {name}"}],
        ), encoding="utf-8")
        env = {k: v for k, v in clean_env(FEDERATION_LOG_LEVEL="INFO").items()
               if not k.startswith("SSL_CERT_")}
        env["SSL_CERT_FILE"] = str(self.ca)  # the local CA only: nothing else is trusted
        self.served = Served(self.config, self.port, self.directory / "serve.log", env)

    @property
    def host(self) -> str:
        return f"{self.name}.test"

    @property
    def base(self) -> str:
        return f"https://{self.host}:{self.https_port}"

    @property
    def config(self) -> Path:
        return self.directory / "federation.toml"

    async def cli(self, *args: str) -> str:
        return await self.served.command(*args)


@asynccontextmanager
async def deployment(tmp_path: Path) -> AsyncIterator[tuple[Bridge, Bridge, Nginx, LocalCA]]:
    """Local CA, host names, both bridges migrated and serving, nginx in front of them."""
    ca = LocalCA(tmp_path / "ca")
    https_port, http_port = free_port(), free_port()
    site = Bridge("site", tmp_path / "site", https_port, ca.cert)
    peer = Bridge("peer", tmp_path / "peer", https_port, ca.cert)
    nginx = Nginx([VirtualHost(b.host, https_port, http_port, *_issue(ca, b.host), b.port)
                   for b in (site, peer)])
    with host_names(site.host, peer.host):
        try:
            nginx.write()
            nginx.test_config()  # `nginx -t` on the example as rendered
            await asyncio.gather(site.cli("migrate"), peer.cli("migrate"))
            await asyncio.gather(site.served.start(), peer.served.start(), nginx.start())
            yield site, peer, nginx, ca
        finally:
            await asyncio.gather(site.served.stop(), peer.served.stop(), nginx.stop())
            nginx.cleanup()


def _issue(ca: LocalCA, name: str) -> tuple[Path, Path]:
    issued = ca.issue(name)
    return issued.cert, issued.key


async def test_two_bridges_federate_through_the_documented_nginx(tmp_path: Path) -> None:
    """Follow by handle, Accept, publish, delivery: all over https through nginx, verified."""
    started = time.monotonic()
    marks: list[tuple[str, float]] = []

    def mark(what: str) -> None:  # phases, printed at the end (pytest -s)
        marks.append((what, time.monotonic() - started - sum(t for _, t in marks)))

    async with deployment(tmp_path) as (site, peer, nginx, ca):
        mark("CA, nginx -t, migrate")
        tls = ssl.create_default_context(cafile=str(ca.cert))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as http:
            logs = (site.served.log, peer.served.log, nginx.log)
            token_made = asyncio.create_task(site.cli("tokens", "create", "cms"))  # meanwhile

            async def ready(bridge: Bridge) -> bool:
                try:
                    async with http.get(f"{bridge.base}/.well-known/nodeinfo") as answer:
                        return answer.status == 200
                except aiohttp.ClientError:
                    return False
            await until(lambda: _both(ready(site), ready(peer)), "both bridges behind nginx",
                        *logs)
            mark("serving")

            # The served ids are the public https origin, whatever a client claims.
            async with http.get(f"{site.base}/actors/halte", headers={
                    "Accept": AS_JSON, "X-Forwarded-Host": "evil.example",
                    "X-Forwarded-Proto": "http"}) as answer:
                actor = json.loads(await answer.read())
            assert actor["id"] == f"{site.base}/actors/halte"
            assert actor["inbox"].startswith(f"{site.base}/") and "evil" not in json.dumps(actor)
            # Plain http is redirected to https (the example's second server).
            async with http.get(f"http://{site.host}:{nginx.hosts[0].http_port}/actors/halte",
                                allow_redirects=False) as answer:
                assert answer.status == 301
                assert answer.headers["Location"] == f"https://{site.host}/actors/halte"

            # The peer follows the site's collective by handle: WebFinger, actor, Follow,
            # Accept, each over https through nginx, each POST verified by its receiver.
            out = await peer.cli("follow", f"@halte@{site.host}:{site.https_port}",
                                 "--policy", "store")
            assert "pending" in out

            async def accepted() -> bool:  # the peer's following collection counts it
                async with http.get(f"{peer.base}/actors/site/following",
                                    headers={"Accept": AS_JSON}) as answer:
                    return json.loads(await answer.read()).get("totalItems") == 1
            await until(accepted, "the site to accept the peer's follow", *logs)
            mark("follow and Accept")
            following, followers = await asyncio.gather(peer.cli("following", "--json"),
                                                        site.cli("followers", "halte"))
            assert [(row["state"], row["handle"]) for row in json.loads(following)["following"]
                    ] == [("accepted", f"@halte@{site.host}:{site.https_port}")]
            assert f"{peer.base}/actors/site" in followers

            # The site publishes (push API over https); the peer stores the article.
            token = (await token_made).strip().splitlines()[-1]
            async with http.put(f"{site.base}/api/v1/actors/halte/articles/tls-1",
                                headers={"Authorization": f"Bearer {token}"},
                                json={"title": "Derrière nginx",
                                      "published": "2026-05-01T10:00:00+02:00",
                                      "content_html": "<p>Chiffré de bout en bout.</p>"}) as answer:
                assert answer.status == 201, await answer.text()
                article = (await answer.json())["id"]
            assert article.startswith(f"{site.base}/")

            async def stored() -> list[str]:  # the peer's public feed of sister sites' items
                async with http.get(f"{peer.base}/feeds/syndication.json") as answer:
                    return [item["id"] for item in json.loads(await answer.read())["items"]]
            assert await until(stored, "the article at the peer", *logs) == [article]
            mark("publish and delivery")
            items, *queues = await asyncio.gather(
                peer.cli("syndication", "list", "--state", "stored", "--json"),
                site.cli("deliveries", "--json"), peer.cli("deliveries", "--json"))
            assert [item["object"] for item in json.loads(items)["items"]] == [article]
            for bridge, queue in zip((site, peer), queues, strict=True):  # nothing failed
                lines = [json.loads(line) for line in queue.splitlines()]
                assert lines and all(line["pending"] == 0 and line["failed"] == 0
                                     and not line["last_error"] for line in lines), lines
                # trusted_proxies as documented
                assert "not told to trust" not in bridge.served.log()

            # Why Host must pass unchanged: nginx's default (no proxy_set_header Host) sends
            # the upstream's address, and every signed request is refused for it. Through the
            # example, the same request passes the Host check (and fails later: its signer's
            # key is nowhere to be fetched).
            status, text = await _signed_post(http, site)
            assert status == 401 and "another host" not in text, text
            await nginx.reload(example().replace("proxy_set_header Host $http_host;\n", ""))
            status, text = await _signed_post(http, site)
            assert status == 401 and "request signed for another host" in text, text
            mark("checks, reload without Host")
    print(f"\nnginx deployment test: {time.monotonic() - started:.1f} s (" + ", ".join(
        f"{what} {seconds:.1f} s" for what, seconds in marks) + ")")


async def _both(a: Awaitable[bool], b: Awaitable[bool]) -> bool:
    return all(await asyncio.gather(a, b))


async def _signed_post(http: aiohttp.ClientSession, site: Bridge) -> tuple[int, str]:
    """A Follow signed (by the httpsig package) for ``site``'s public Host: status, answer."""
    key = generate_rsa_key()
    actor = "https://www.peer.test/users/fran"  # unresolvable: its key cannot be fetched
    body = json.dumps({"@context": "https://www.w3.org/ns/activitystreams",
                       "id": f"{actor}#follow", "type": "Follow", "actor": actor,
                       "object": f"{site.base}/actors/halte"}).encode()
    headers = {"Host": f"{site.host}:{site.https_port}",
               "Date": format_datetime(datetime.now(UTC), usegmt=True),
               "Digest": sha256_digest_header(body)}
    signer = HeaderSigner(f"{actor}#main-key", private_key_to_pem(key), algorithm="rsa-sha256",
                          sign_header="signature",
                          headers=["(request-target)", "host", "date", "digest"])
    signed = signer.sign(headers, method="POST", path="/actors/halte/inbox")
    signed["Content-Type"] = AS_JSON
    async with http.post(f"{site.base}/actors/halte/inbox", data=body, headers=signed) as answer:
        return answer.status, await answer.text()
