"""A bridge (database, directory, publisher) without HTTP, and a feed server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from federation.db.lifecycle import open_database
from federation.identity.directory import ActorDirectory
from federation.publishing.service import Publisher
from federation.remote.client import ClientPolicy, HardenedClient
from federation.settings import Settings
from federation.signing.keys import KeyVault

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str, **fill: str) -> bytes:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for key, value in fill.items():
        text = text.replace("{" + key + "}", value)
    return text.encode("utf-8")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2024, 10, 5, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Bridge:
    directory: ActorDirectory
    publisher: Publisher
    clock: Clock
    client: HardenedClient


@pytest.fixture
async def bridge(settings: Settings) -> AsyncIterator[Bridge]:
    async with open_database(settings.effective_database_url):
        directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
        await directory.sync()
        clock = Clock()
        async with HardenedClient(ClientPolicy(allow_loopback=True, total_timeout=5)) as client:
            yield Bridge(directory, Publisher(directory, clock=clock), clock, client)


@dataclass
class FeedServer:
    """Serves ``body`` at ``/feed`` with an ETag; records the conditional headers it got."""

    body: bytes = b""
    content_type: str = "application/rss+xml"
    status: int = 200
    etag: str | None = '"v1"'
    last_modified: str | None = "Sat, 04 Oct 2024 10:00:00 GMT"
    seen: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append({k: v for k, v in request.headers.items()
                          if k in ("If-None-Match", "If-Modified-Since", "Accept")})
        if self.status != 200:
            return web.Response(status=self.status)
        if self.etag and request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304)
        headers = {}
        if self.etag:
            headers["ETag"] = self.etag
        if self.last_modified:
            headers["Last-Modified"] = self.last_modified
        return web.Response(body=self.body, headers=headers,
                            content_type=self.content_type, charset="utf-8")


@pytest.fixture
async def feed_server(aiohttp_server: Callable[..., Any]) -> FeedServer:
    server_state = FeedServer()
    app = web.Application()
    app.router.add_get("/feed", server_state.handle)
    server = await aiohttp_server(app)
    server_state.url = f"http://127.0.0.1:{server.port}/feed"
    return server_state
