"""Real aiohttp servers on 127.0.0.1:0, a static resolver for test host names, and clients."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver

from federation.remote.client import ClientPolicy, HardenedClient


class StaticResolver(AbstractResolver):
    """Resolves test host names from a table; counts how often it was asked."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def resolve(self, host, port=0, family=socket.AF_INET):
        self.calls.append(host)
        if host not in self.table:
            raise OSError(f"unknown test host {host}")
        address = self.table[host]
        return [{"hostname": host, "host": address, "port": port,
                 "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self):
        return None


class Recorder:
    """Remembers every request a test server received."""

    def __init__(self) -> None:
        self.requests: list[web.Request] = []

    @web.middleware
    async def middleware(self, request, handler):
        self.requests.append(request)
        return await handler(request)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def serve(aiohttp_server, recorder) -> Callable:
    """``await serve(routes)`` starts a server and returns its base URL ``http://127.0.0.1:PORT``."""

    async def start(routes: web.RouteTableDef | list) -> str:
        app = web.Application(middlewares=[recorder.middleware])
        app.add_routes(routes)
        server = await aiohttp_server(app)
        return f"http://127.0.0.1:{server.port}"

    return start


@pytest.fixture
async def make_client():
    """``make_client(**policy)`` returns a HardenedClient closed at teardown."""
    clients: list[HardenedClient] = []

    def factory(signer=None, resolver=None, **policy) -> HardenedClient:
        policy.setdefault("allow_loopback", True)
        policy.setdefault("total_timeout", 5.0)
        client = HardenedClient(ClientPolicy(**policy), signer, resolver=resolver)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()


class FakeClock:
    """A monotonic clock that tests advance by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
