"""E-mail to moderators: the messages (plain text, in the moderator's language) and one SMTP
session per message.

The transport is :mod:`aiosmtplib` (asyncio: a server that hangs is cut by one deadline,
``[smtp] timeout``, for the whole session — connect, TLS, login, send — and the worker's other
jobs go on meanwhile). :class:`SendError` says whether a failure is worth retrying: a refused
recipient or a refused message (5xx) is not; an unreachable, slow or temporarily failing server
(4xx), a refused login (the admin may fix the password), a TLS failure (an untrusted or
misnamed certificate, a server that does not offer STARTTLS: the message names it) are.

What a message holds is what moderation needs: the item's author (handle and name), an excerpt
of its text, what it answers, and the direct link to it in ``/admin/``. Nothing about readers,
no address of anyone. Its ``Message-ID`` is the job's (stable across retries: a message sent
twice after a lost acknowledgement is one message to mail clients).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlsplit

import aiosmtplib

from federation.errors import ConfigError
from federation.i18n import translator
from federation.remote.client import tls_failure, verifying_context
from federation.settings import Settings, SmtpConfig, smtp_password

#: Characters of an item's text quoted in a message.
EXCERPT_CHARS = 300
#: Items listed in one digest (then "and N more").
DIGEST_ITEMS = 50
_SPACES = re.compile(r"\s+")


class SendError(Exception):
    """An SMTP session that did not deliver the message; ``permanent``: do not retry."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (header-safe: no CR/LF), at most ``limit`` characters."""
    flat = _SPACES.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# -- what a message says --------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One pending reply or report, as a message shows it."""

    kind: str  # "reply", "quote", "mention", "reply_request" or "report"
    author: str  # "Name (@user@host)" or "@user@host"
    excerpt: str
    about: str  # the title of what it answers or reports ("" when unknown)
    link: str


def item_lines(item: Item, _: Callable[[str], str]) -> list[str]:
    """The lines that describe ``item`` (labels from the catalogue, in the message's language)."""
    lines = [f"{_('mail.author')} {item.author}"]
    if item.about:
        lines.append(f"{_('mail.about.' + item.kind)} {item.about}")
    if item.excerpt:
        lines.append(f"{_('mail.excerpt')} {_('mail.quoted').format(text=item.excerpt)}")
    lines.append(f"{_('mail.link')} {item.link}")
    return lines


def _message(settings: Settings, *, to: str, subject: str, body: str, language: str,
             message_id: str, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp.from_address
    message["To"] = to
    message["Subject"] = one_line(subject, 200)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message.set_content(body)
    message["Content-Language"] = language  # (set_content replaces the Content-* headers)
    return message


def message_id(settings: Settings, job_id: int) -> str:
    host = urlsplit(settings.base_url).hostname or "localhost"
    return f"<moderation.{job_id}@{host}>"


def item_message(settings: Settings, item: Item, *, to: str, username: str, language: str,
                 job_id: int, now: datetime) -> EmailMessage:
    """The message of one new pending item."""
    _ = translator(language)
    site = settings.site.name
    kind = "report" if item.kind == "report" else "reply"
    subject = _(f"mail.subject.{kind}").format(site=site, author=one_line(item.author, 80))
    body = "\n".join([
        _("mail.hello").format(name=username), "",
        _(f"mail.intro.{kind}").format(site=site), "",
        *item_lines(item, _), "",
        "-- ",
        _("mail.why.immediate"),
        f"{_('mail.preferences')} {settings.base_url}/admin/notifications",
    ]) + "\n"
    return _message(settings, to=to, subject=subject, body=body, language=language,
                    message_id=message_id(settings, job_id), now=now)


def digest_message(settings: Settings, items: list[Item], *, more: int, waiting: int, to: str,
                   username: str, language: str, job_id: int, now: datetime) -> EmailMessage:
    """The daily digest: what arrived since the last one and still waits."""
    _ = translator(language)
    site = settings.site.name
    count = len(items) + more
    subject = _("mail.subject.digest").format(site=site, count=count)
    lines = [_("mail.hello").format(name=username), "",
             _("mail.intro.digest").format(site=site, count=count), ""]
    for number, item in enumerate(items, 1):
        lines.append(f"{number}. {_('mail.kind.' + item.kind)}")
        lines += [f"   {line}" for line in item_lines(item, _)]
        lines.append("")
    if more:
        lines += [_("mail.more").format(count=more), ""]
    lines += [f"{_('mail.queue')} {settings.base_url}/admin/",
              _("mail.waiting").format(count=waiting), "",
              "-- ", _("mail.why.digest"),
              f"{_('mail.preferences')} {settings.base_url}/admin/notifications"]
    return _message(settings, to=to, subject=subject, body="\n".join(lines) + "\n",
                    language=language, message_id=message_id(settings, job_id), now=now)


# -- sending --------------------------------------------------------------------------------


async def check_server(config: SmtpConfig) -> None:
    """Open a session (TLS, login) and close it, sending nothing (``check-config --smtp``)."""
    await _session(config, None)


async def send(config: SmtpConfig, message: EmailMessage) -> None:
    """Deliver ``message`` to the server in one session, within ``config.timeout`` seconds.

    Raises :class:`SendError` (never anything else for a server's behaviour)."""
    await _session(config, message)


async def _session(config: SmtpConfig, message: EmailMessage | None) -> None:
    """One session, read top to bottom: connect (TLS from the first byte for ``ssl``); for
    ``starttls``, EHLO and STARTTLS — refused when the server does not offer it, never a
    fallback to plain text; log in (only once TLS is up, unless ``none`` on loopback); send;
    QUIT. Certificates and host names are checked against :func:`verifying_context`'s
    authorities (the system's, or ``SSL_CERT_FILE``'s)."""
    try:
        password = smtp_password(config)
        context = (await asyncio.to_thread(verifying_context)
                   if config.security != "none" else None)
    except ConfigError as error:
        problem = error.problems[0]
        raise SendError(f"{problem.location}: {problem.message}") from None
    try:
        async with asyncio.timeout(config.timeout):
            client = aiosmtplib.SMTP(
                hostname=config.host, port=config.effective_port,
                use_tls=config.security == "ssl", start_tls=False, tls_context=context,
                timeout=config.timeout)
            async with client:  # connect; QUIT at the end
                if config.security == "starttls":
                    await client.ehlo()
                    if not client.supports_extension("starttls"):
                        raise SendError(f"{config.host} does not offer STARTTLS "
                                        "(smtp.security = \"starttls\"): nothing was sent "
                                        "without TLS")
                    await client.starttls()
                if config.username:
                    await client.login(config.username, password)
                if message is not None:
                    await client.send_message(message)
    except TimeoutError:
        raise SendError(f"no answer within {config.timeout:g} s") from None
    except aiosmtplib.SMTPRecipientsRefused as error:
        codes = [refusal.code for refusal in error.recipients]
        raise SendError(f"recipient refused ({', '.join(map(str, codes))})",
                        permanent=all(code >= 500 for code in codes)) from None
    except aiosmtplib.SMTPDataError as error:
        raise SendError(f"message refused ({error.code})", permanent=error.code >= 500) from None
    except aiosmtplib.SMTPResponseException as error:
        raise SendError(f"SMTP {error.code}: {one_line(error.message, 120)}") from None
    except (aiosmtplib.SMTPException, OSError) as error:
        tls = tls_failure(config.host, error)
        if tls is not None:  # "TLS certificate verification failed for …: self-signed …"
            raise SendError(tls) from None
        raise SendError(f"{type(error).__name__}: {one_line(str(error), 120)}") from None
