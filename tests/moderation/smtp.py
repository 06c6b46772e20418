"""A real SMTP server on loopback for the notification tests (aiosmtpd, in the test's loop)."""

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


class MailInbox:
    """What the server received, as parsed messages; ``refuse`` makes it refuse recipients."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()
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

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append(data.login)
            if (data.login, data.password) == self.expected:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@asynccontextmanager
async def smtp_server(inbox: MailInbox, *, port: int = 0,
                      credentials: Credentials | None = None) -> AsyncIterator[int]:
    """Serve SMTP on 127.0.0.1 (``port``, or a free one) while the block runs; yield the port."""
    options: dict[str, Any] = {}
    if credentials is not None:
        # loopback without TLS: allowed for the test (the bridge refuses plain SMTP elsewhere)
        options.update(authenticator=credentials, auth_require_tls=False, auth_required=True)
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        with warnings.catch_warnings():  # "AUTH while not requiring TLS": on loopback, wanted
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(inbox, hostname="mail.test", **options)

    server = await loop.create_server(protocol, "127.0.0.1", port)
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
