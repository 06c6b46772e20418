"""Request deadlines: one timer for all the client's requests in flight (``_Deadlines``), each
request cut at its own deadline, the caller's cancellation left as it is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from federation.errors import RemoteTimeout
from federation.remote.client import DEADLINE_GRANULARITY, ClientPolicy, HardenedClient

JSON = {"Content-Type": "application/activity+json"}
#: Seconds a deadline may be late in these tests: the timer's granularity plus a slow machine.
SLACK = 0.5


@pytest.fixture
async def hung_url() -> AsyncIterator[str]:
    """A server that accepts connections and never answers."""

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/inbox"
    server.close()


async def timed_post(client, url: str, timeout: float) -> float:
    """Seconds until the POST with ``timeout`` failed with RemoteTimeout."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RemoteTimeout):
        await client.post(url, b"{}", JSON, timeout=timeout)
    return loop.time() - started


async def test_each_request_is_cut_at_its_own_deadline(make_client, hung_url: str) -> None:
    """Three requests in flight at once with deadlines 0.2, 0.6 and 1.0 s: each times out at
    its own (the one timer is set again for the next deadline), none early."""
    client = make_client()
    waits = await asyncio.gather(*(timed_post(client, hung_url, t) for t in (0.2, 0.6, 1.0)))
    for wait, timeout in zip(waits, (0.2, 0.6, 1.0), strict=True):
        assert timeout - DEADLINE_GRANULARITY <= wait < timeout + SLACK, (wait, timeout)


async def test_a_sooner_deadline_entered_later_is_kept(make_client, hung_url: str) -> None:
    """A request with a short deadline that starts while a long one waits is cut at its own
    deadline, not at the long one's (the timer is brought forward)."""
    client = make_client()
    long = asyncio.create_task(timed_post(client, hung_url, 3.0))
    await asyncio.sleep(0.1)
    short = await timed_post(client, hung_url, 0.2)
    assert short < 0.2 + SLACK and not long.done()
    long.cancel()
    with pytest.raises(asyncio.CancelledError):
        await long


async def test_the_callers_cancellation_is_not_a_timeout(make_client, hung_url: str) -> None:
    """Cancelling a task whose request is in flight cancels it (CancelledError, not
    RemoteTimeout), even when its deadline passes at the same moment; the task is left with
    no cancellation pending that is not the caller's."""
    client = make_client()
    task = asyncio.create_task(client.post(hung_url, b"{}", JSON, timeout=5.0))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # both at once: the deadline passes and the caller cancels in the same loop iteration
    task = asyncio.create_task(client.post(hung_url, b"{}", JSON, timeout=0.2))
    await asyncio.sleep(0.2)
    # cancel() is True unless the task already ended with its RemoteTimeout
    expected = asyncio.CancelledError if task.cancel() else RemoteTimeout
    with pytest.raises(expected):
        await task


async def test_a_timed_out_task_can_go_on_awaiting(make_client, hung_url: str) -> None:
    """After RemoteTimeout the task carries no leftover cancellation: its next awaits (the
    delivery worker's lane sends the host's next delivery) run normally."""
    client = make_client()

    async def two_requests() -> int:
        with pytest.raises(RemoteTimeout):
            await client.post(hung_url, b"{}", JSON, timeout=0.2)
        current = asyncio.current_task()
        assert current is not None and current.cancelling() == 0
        await asyncio.sleep(0.05)  # not cancelled
        with pytest.raises(RemoteTimeout):
            await client.post(hung_url, b"{}", JSON, timeout=0.2)
        return 2

    assert await asyncio.wait_for(two_requests(), 5.0) == 2
    assert not client._deadlines._due and not client._deadlines._expired


def test_a_client_used_by_two_event_loops_keeps_its_deadlines() -> None:
    """A client whose timer was set on an event loop that has ended (a command running
    ``asyncio.run`` twice) still cuts a request at its deadline on the next loop, even when
    that deadline comes after the stale timer's."""
    client = HardenedClient(ClientPolicy(allow_loopback=True, total_timeout=30.0))

    async def serve_and_post(answer: bool, timeout: float) -> float:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            if answer:
                writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
            else:
                await reader.read()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/inbox"
        try:
            if answer:  # answered at once: its deadline's timer stays set when the loop ends
                assert (await client.post(url, b"{}", JSON, timeout=timeout)).status == 202
                return 0.0
            return await asyncio.wait_for(timed_post(client, url, timeout), 10.0)
        finally:
            await client.close()
            server.close()

    asyncio.run(serve_and_post(answer=True, timeout=0.3))
    wait = asyncio.run(serve_and_post(answer=False, timeout=1.0))
    assert 1.0 - DEADLINE_GRANULARITY <= wait < 1.0 + SLACK, wait
