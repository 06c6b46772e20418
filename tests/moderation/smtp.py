"""A real SMTP server on loopback for the notification tests (aiosmtpd, in the test's loop):
plain, with STARTTLS, or with TLS from the first byte (SMTPS), presenting a certificate from
``tests/tlsca.py``. What arrived, and whether it arrived over TLS, is recorded."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.tlsca import Issued, server_context


def _encrypted(server: Any) -> bool:
    """Whether the session's transport is TLS now (after STARTTLS, or SMTPS)."""
    return server.transport is not None and server.transport.get_extra_info("ssl_object") is not None


class MailInbox:
    """What the server received, as parsed messages; ``refuse`` makes it refuse recipients."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()
        self.over_tls: list[bool] = []  # for each message, whether it came over TLS
        self.arrived = asyncio.Event()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.over_tls.append(_encrypted(server))
        self.arrived.set()
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Credentials:
    """An authenticator accepting one login (what a provider's relay asks for)."""

    def __init__(self, username: str, password: str) -> None:
        self.expected = (username.encode(), password.encode())
        self.logins: list[bytes] = []
        self.over_tls: list[bool] = []  # for each login attempt, whether it came over TLS

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append(data.login)
            self.over_tls.append(_encrypted(server))
            if (data.login, data.password) == self.expected:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@asynccontextmanager
async def smtp_server(inbox: MailInbox, *, port: int = 0, credentials: Credentials | None = None,
                      starttls: Issued | None = None,
                      implicit_tls: Issued | None = None) -> AsyncIterator[int]:
    """Serve SMTP on 127.0.0.1 (``port``, or a free one) while the block runs; yield the port.

    ``starttls``: offer STARTTLS with this certificate and require it before anything else
    (AUTH and MAIL are refused in clear); ``implicit_tls``: TLS from the first byte (SMTPS).
    Neither: plain SMTP, which the bridge accepts only on loopback."""
    assert not (starttls and implicit_tls)
    options: dict[str, Any] = {}
    if starttls is not None:
        options.update(tls_context=server_context(starttls), require_starttls=True)
    if credentials is not None:
        # aiosmtpd knows of STARTTLS only: over SMTPS or plain loopback it must be told that
        # AUTH is fine without it (the plain case is for the test: the bridge refuses plain
        # SMTP elsewhere)
        options.update(authenticator=credentials, auth_required=True,
                       auth_require_tls=starttls is not None)
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        with warnings.catch_warnings():  # "AUTH while not requiring TLS": wanted here
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(inbox, hostname="mail.test", **options)

    server = await loop.create_server(
        protocol, "127.0.0.1", port,
        ssl=server_context(implicit_tls) if implicit_tls is not None else None)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def hung_server() -> AsyncIterator[tuple[int, list[int]]]:
    """Accepts connections and never says a word (a wedged relay); yields the port and a list
    of the connections it got."""
    held: list[asyncio.StreamWriter] = []
    connections: list[int] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1]), connections
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
