"""Fixtures of the site-management pages: the whole bridge (no in-process worker: tests
deliver with their own), an admin and a plain moderator, peers from the inbox tests that verify
our signatures with the ``httpsig`` package, and rows as the inbox and the CLI make them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from inbox.conftest import Peer, make_peer, peer, peer_keys  # noqa: F401 - fixtures

from federation.app import create_app
from federation.db.social import Follower, FollowState, RemoteActor
from federation.delivery.worker import DeliveryWorker
from federation.moderation import accounts
from federation.web.state import CLIENT, DIRECTORY, SETTINGS

PASSWORD = "correct horse battery staple"
BASE = "http://127.0.0.1:8080"
MANUAL = "changer-de-cap"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


@dataclass
class Site:
    client: Any

    @property
    def app(self) -> Any:
        return self.client.server.app

    @property
    def directory(self) -> Any:
        return self.app[DIRECTORY]

    async def login(self, username: str = "ada") -> str:
        """Log ``username`` in; the session's CSRF token."""
        page = await self.client.get("/admin/login")
        response = await self.client.post("/admin/login", data={
            "csrf": csrf_of(await page.text()), "username": username, "password": PASSWORD},
            allow_redirects=False)
        assert response.status == 303, await response.text()
        return await self.csrf()

    async def csrf(self) -> str:
        return csrf_of(await (await self.client.get("/admin/")).text())

    async def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]]) -> Any:
        return await self.client.post(path, data=data, allow_redirects=False)

    async def page(self, path: str, status: int = 200) -> str:
        response = await self.client.get(path, allow_redirects=False)
        text = await response.text()
        assert response.status == status, text[:2000]
        return text

    async def deliver(self) -> None:
        """Run the delivery worker until the queue is empty (as ``serve``'s worker would)."""
        worker = DeliveryWorker(self.app[SETTINGS], self.directory, self.app[CLIENT],
                                random=lambda: 0.0)
        for _ in range(8):
            if not await worker.run_once():
                return

    def trust(self, server: Peer) -> None:
        server.trusted_keys = {a.key_id: a.rsa_public_pem for a in self.directory.signing_actors()}

    async def follower(self, server: Peer, name: str, *, of: str = MANUAL,
                       state: FollowState = FollowState.PENDING) -> Follower:
        """``name`` on ``server`` follows ``of`` (as the inbox records a Follow)."""
        uri = f"{server.base}/users/{name}"
        remote = await RemoteActor.create(
            uri=uri, domain="127.0.0.1", inbox=f"{uri}/inbox", username=name,
            acct=f"{name}@127.0.0.1", name=name.title(), fetched_at=datetime.now(UTC))
        return await Follower.create(actor_id=self.directory.get(of).db_id, remote=remote,
                                     state=state, follow_activity_uri=f"{uri}#follow-1")


@pytest.fixture
async def site(database_url: str, make_settings: Callable[..., Any], aiohttp_client: Any) -> Site:
    settings = make_settings(database_url, base_url=BASE, allow_loopback_fetch=True,
                             server={"run_worker": False})
    client = await aiohttp_client(create_app(settings))
    await accounts.create_account("ada", PASSWORD, is_admin=True)
    await accounts.create_account("camille", PASSWORD)
    return Site(client)
