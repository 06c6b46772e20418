"""Open connections stay bounded by the policy's ``limit``, idle keep-alive ones included.

A real aiohttp server on loopback counts the connections it holds open; many host names
resolve to it (each is its own connection pool in the client), as a fanout's hosts would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.remote.conftest import StaticResolver


def client_connections(port: int) -> int:
    """Client ends of established TCP connections to 127.0.0.1:``port`` (``/proc/net/tcp``:
    the kernel's view, so a socket counts until it is really closed)."""
    # lines read "sl local_address rem_address st …", st 01 = ESTABLISHED
    return Path("/proc/net/tcp").read_bytes().count(f" 0100007F:{port:04X} 01 ".encode())


async def connection_counting_server(aiohttp_server) -> tuple[int, list[int]]:
    """A server answering 202 to every POST; returns its port and, per request, how many
    client connections to it were open at that moment."""
    open_counts: list[int] = []
    ports: list[int] = []

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        open_counts.append(client_connections(ports[0]))
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/inbox", inbox)
    server = await aiohttp_server(app)
    ports.append(server.port)
    return server.port, open_counts


def hosts(count: int) -> dict[str, str]:
    return {f"h{n}.fanout.test": "127.0.0.1" for n in range(count)}


async def test_open_connections_never_exceed_the_limit_with_many_hosts(aiohttp_server,
                                                                       make_client) -> None:
    """80 hosts, 24 requests at once, limit 12: never more than 12 connections are open (as the
    kernel counts them, at each request the server answers), nor in the connector's count."""
    port, open_counts = await connection_counting_server(aiohttp_server)
    table = hosts(80)
    client = make_client(resolver=StaticResolver(table), limit=12, limit_per_host=2,
                         total_timeout=60.0)
    connector = client._ensure_session().connector
    peaks: list[int] = []
    gate = asyncio.Semaphore(24)

    async def post(host: str, n: int) -> int:
        async with gate:
            response = await client.post(f"http://{host}:{port}/inbox", b"{}", sign=False)
            peaks.append(connector.open_connections)
            return response.status

    statuses = await asyncio.gather(*(post(host, n) for host in table for n in range(2)))
    assert statuses == [202] * 160
    assert max(open_counts) <= 12
    assert max(peaks) <= 12
    assert connector.open_connections <= 12


async def test_idle_connections_are_counted_and_closed(aiohttp_server, make_client) -> None:
    """Requests to 50 hosts one after another, limit 8: each host's idle keep-alive connection
    counts against the limit, so the oldest idle ones are closed (the kernel sees them go)
    and at most 8 stay open; a host used just before reuses its warm connection."""
    port, open_counts = await connection_counting_server(aiohttp_server)
    table = hosts(50)
    client = make_client(resolver=StaticResolver(table), limit=8, limit_per_host=2,
                         total_timeout=60.0)
    connector = client._ensure_session().connector
    for host in table:
        response = await client.post(f"http://{host}:{port}/inbox", b"{}", sign=False)
        assert response.status == 202
        assert connector.idle_connections <= 8
    assert max(open_counts) <= 8
    # 8 stay warm (fewer only if aiohttp's 15 s keep-alive ran out on a very slow machine)
    warm = connector.idle_connections
    assert 0 < warm <= 8 and client_connections(port) == warm
    # the last host's connection is reused: no new connection, the idle count is unchanged
    last = list(table)[-1]
    before = len(open_counts)
    await client.post(f"http://{last}:{port}/inbox", b"{}", sign=False)
    assert len(open_counts) == before + 1 and open_counts[-1] == warm
    assert connector.idle_connections == warm and client_connections(port) == warm


async def test_without_the_bound_idle_connections_pile_up(aiohttp_server) -> None:
    """The reported failure, on aiohttp's own connector: its limit counts only connections in
    use, so sequential requests to 50 hosts leave 50 idle sockets open (what the bound fixes)."""
    port, open_counts = await connection_counting_server(aiohttp_server)
    table = hosts(50)
    connector = aiohttp.TCPConnector(limit=8, resolver=StaticResolver(table))
    async with aiohttp.ClientSession(connector=connector) as session:
        for host in table:
            async with session.post(f"http://{host}:{port}/inbox", data=b"{}") as response:
                assert response.status == 202
        assert max(open_counts) > 8 and client_connections(port) > 8
