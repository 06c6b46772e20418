"""HTTPS through the hardened client: a private CA via ``SSL_CERT_FILE``, and named TLS failures.

Real TLS servers on loopback present a certificate from a local CA, a self-signed one, one for
another host and an expired one; the client must say which ("TLS certificate verification
failed for peer.test: …"), never "cannot connect to peer.test".
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from federation.errors import ConfigError, RemoteError, RemoteTLSError, SignatureError
from federation.remote.actors import RemoteActorStore
from federation.remote.keys import KeyResolver
from tests.tlsca import Issued, LocalCA, self_signed, serving

from .conftest import StaticResolver

pytestmark = pytest.mark.slow

Serve = Callable[[Issued | None], Awaitable[int]]


@pytest.fixture
def ca(tmp_path: Path) -> LocalCA:
    return LocalCA(tmp_path / "ca")


@pytest.fixture
async def serve_tls() -> AsyncIterator[Serve]:
    """``await serve_tls(issued)``: a server on 127.0.0.1 presenting ``issued`` (None: plain
    HTTP) that answers ``/hello``; returns its port."""
    async with contextlib.AsyncExitStack() as stack:
        async def start(issued: Issued | None) -> int:
            app = web.Application()
            app.router.add_get("/hello", lambda request: web.Response(text="hello"))
            return await stack.enter_async_context(serving(app, issued))

        yield start


def peer_client(make_client: Callable[..., object]) -> object:
    return make_client(resolver=StaticResolver({"peer.test": "127.0.0.1"}))


async def test_private_ca_trusted_through_ssl_cert_file(ca, serve_tls, make_client, monkeypatch):
    """SSL_CERT_FILE naming the local CA makes its certificates trusted; without it they are not."""
    port = await serve_tls(ca.issue("peer.test"))
    url = f"https://peer.test:{port}/hello"
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(RemoteTLSError) as refused:
        await peer_client(make_client).get(url, accept="text/plain")  # type: ignore[attr-defined]
    assert refused.value.message == (
        "TLS certificate verification failed for peer.test: unable to get local issuer "
        "certificate (not issued by a trusted authority; a private CA is trusted via "
        "SSL_CERT_FILE)")

    monkeypatch.setenv("SSL_CERT_FILE", str(ca.cert))
    response = await peer_client(make_client).get(url, accept="text/plain")  # type: ignore[attr-defined]
    assert (response.status, response.body) == (200, b"hello")


@pytest.mark.parametrize(("case", "reason"), [
    ("self-signed", "self-signed certificate (not issued by a trusted authority; a private CA "
                    "is trusted via SSL_CERT_FILE)"),
    ("other host", "Hostname mismatch, certificate is not valid for 'peer.test'"),
    ("expired", "certificate has expired"),
])
async def test_certificate_failures_are_named(ca, serve_tls, make_client, monkeypatch, tmp_path,
                                              case, reason):
    """An untrusted, wrong-host or expired certificate is a RemoteTLSError saying which."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.cert))
    issued = {"self-signed": lambda: self_signed(tmp_path / "rogue", "peer.test"),
              "other host": lambda: ca.issue("other.test"),
              "expired": lambda: ca.issue("peer.test", expired=True)}[case]()
    port = await serve_tls(issued)
    with pytest.raises(RemoteTLSError) as failure:
        await peer_client(make_client).get(  # type: ignore[attr-defined]
            f"https://peer.test:{port}/hello", accept="text/plain")
    assert failure.value.message == f"TLS certificate verification failed for peer.test: {reason}"


async def test_plain_http_on_an_https_url_is_a_named_handshake_failure(serve_tls, make_client):
    """A server that does not speak TLS: the handshake's failure is named, not 'cannot connect'."""
    port = await serve_tls(None)
    with pytest.raises(RemoteTLSError) as failure:
        await peer_client(make_client).get(  # type: ignore[attr-defined]
            f"https://peer.test:{port}/hello", accept="text/plain")
    assert failure.value.message.startswith("TLS handshake with peer.test failed: ")
    assert "cannot connect" not in failure.value.message


async def test_key_and_actor_fetch_logs_name_the_certificate_failure(tmp_path, serve_tls,
                                                                     make_client, caplog):
    """A signer's key or an actor behind a self-signed certificate: the log says so, not a
    bare exception class name (what 'cannot connect' hid even at debug level)."""
    port = await serve_tls(self_signed(tmp_path / "rogue", "peer.test"))
    expected = ("TLS certificate verification failed for peer.test: self-signed certificate")
    client = peer_client(make_client)
    with caplog.at_level(logging.INFO, logger="federation.remote"):
        with pytest.raises(SignatureError) as refused:
            await KeyResolver(client).resolve(f"https://peer.test:{port}/users/a#main-key")  # type: ignore[arg-type]
        assert refused.value.reason == "key_unavailable"
        store = RemoteActorStore(client, local_origin="https://site.test")  # type: ignore[arg-type]
        with pytest.raises(RemoteTLSError, match=expected):
            await store.fetch(f"https://peer.test:{port}/users/a")
    lines = [record.getMessage() for record in caplog.records]
    assert f"cannot resolve key of https://peer.test:{port}/users/a: {expected}" in "\n".join(lines)
    assert any(line.startswith("cannot fetch actor on peer.test") and expected in line
               for line in lines), lines


async def test_network_failures_still_say_cannot_connect_with_the_reason(make_client):
    """Not TLS: a closed port is "cannot connect to HOST: connection refused"."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the request is made
    with pytest.raises(RemoteError) as failure:
        await peer_client(make_client).get(  # type: ignore[attr-defined]
            f"https://peer.test:{port}/hello", accept="text/plain")
    assert not isinstance(failure.value, RemoteTLSError)
    assert failure.value.message == "cannot connect to peer.test: connection refused"


@pytest.mark.parametrize("content", [None, "not a certificate\n"])
async def test_unusable_ssl_cert_file_is_a_configuration_error(tmp_path, make_client, monkeypatch,
                                                               content):
    """A missing SSL_CERT_FILE, or one without certificates, would fail every TLS peer
    silently (OpenSSL ignores it): the client refuses to start, naming the variable."""
    path = tmp_path / "ca-bundle.pem"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    with pytest.raises(ConfigError) as refused:
        async with make_client():  # type: ignore[attr-defined]
            pass
    assert "SSL_CERT_FILE" in refused.value.message and str(path) in refused.value.message
