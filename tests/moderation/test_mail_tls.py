"""The moderators' e-mail over TLS: real aiosmtpd servers on loopback speaking STARTTLS and SMTPS
with certificates from a local CA (``tests/tlsca.py``) that the bridge trusts through
``SSL_CERT_FILE`` only. Delivered with a login over TLS; an untrusted or misnamed certificate
and a server that does not offer STARTTLS are refused with a named reason — no login, no
message, the job retried — and the moderator's address is never logged; ``check-config --smtp``
against both kinds of server."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from federation.db.jobs import Job, JobState
from federation.jobs.kinds import NOTIFY_MAIL
from federation.moderation import notify
from tests.config_toml import config_toml
from tests.serve import clean_env
from tests.tlsca import Issued, LocalCA, self_signed

from .smtp import Credentials, MailInbox, smtp_server
from .test_notify import FROM, body_of, mail_worker, moderator, opened

ADDRESS = "camille@collectif.example"
UNTRUSTED = ("TLS certificate verification failed for 127.0.0.1: self-signed certificate (not "
             "issued by a trusted authority; a private CA is trusted via SSL_CERT_FILE)")
MISNAMED = ("TLS certificate verification failed for 127.0.0.1: IP address mismatch, "
            "certificate is not valid for '127.0.0.1'")
#: The system's bundle, which does not know the local CA (what a machine trusts by default).
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def tls_server(inbox: MailInbox, security: str, issued: Issued,
               credentials: Credentials | None = None) -> Any:
    """A server of the kind ``security`` names, presenting ``issued``."""
    if security == "starttls":
        return smtp_server(inbox, starttls=issued, credentials=credentials)
    return smtp_server(inbox, implicit_tls=issued, credentials=credentials)


def tls_config(port: int, security: str, **extra: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "security": security, "from_address": FROM,
            "timeout": 10, **extra}


@pytest.fixture
def local_ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalCA:
    """A local CA, the only one the bridge trusts (``SSL_CERT_FILE``)."""
    ca = LocalCA(tmp_path / "ca")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.cert))
    return ca


@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_mail_is_delivered_over_tls_with_a_login(database_url, make_settings, local_ca,
                                                        security):
    """STARTTLS (the server refuses AUTH and MAIL before it) and SMTPS: the certificate of the
    private CA is trusted through SSL_CERT_FILE; the login and the message went over TLS."""
    inbox = MailInbox()
    credentials = Credentials("bridge", "relay-pass")
    issued = local_ca.issue("127.0.0.1")
    async with tls_server(inbox, security, issued, credentials) as port:
        settings = make_settings(database_url, server={"run_worker": False}, smtp=tls_config(
            port, security, username="bridge", password="relay-pass"))
        async with opened(settings) as factory:
            await moderator("camille", "immediate", language="en", email=ADDRESS)
            reply = await factory.reply(await factory.article())
            await notify.item_received(settings, notify.REPLY, reply.id)
            assert await mail_worker(settings).run_once() == 1
            job = await Job.get(kind=NOTIFY_MAIL.name)
    assert job.state == JobState.DONE, job.last_error
    [message] = inbox.messages
    assert message["To"] == ADDRESS and f"#reply-{reply.id}" in body_of(message)
    assert inbox.over_tls == [True]
    assert credentials.logins == [b"bridge"] and credentials.over_tls == [True]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
@pytest.mark.parametrize("certificate", ["self-signed", "other host", "unknown CA"])
async def test_a_certificate_that_is_not_trusted_for_the_host_is_refused(
        database_url, make_settings, local_ca, tmp_path, monkeypatch, caplog, security,
        certificate):
    """A self-signed certificate, one of the trusted CA for another name, or one of a CA the
    bridge does not trust: the session stops at the handshake — no login (the password never
    reaches that server), no message; the job is retried by its policy (a TLS failure may be
    fixed by the admin) with the reason named; the log names the moderator, never the
    address."""
    issued = {"self-signed": lambda: self_signed(tmp_path / "rogue", "127.0.0.1"),
              "other host": lambda: local_ca.issue("mail.other.example"),
              "unknown CA": lambda: local_ca.issue("127.0.0.1")}[certificate]()
    if certificate == "unknown CA":
        monkeypatch.setenv("SSL_CERT_FILE", SYSTEM_BUNDLE)
    inbox = MailInbox()
    credentials = Credentials("bridge", "relay-pass")
    caplog.set_level(logging.INFO)
    async with tls_server(inbox, security, issued, credentials) as port:
        settings = make_settings(database_url, server={"run_worker": False}, smtp=tls_config(
            port, security, username="bridge", password="relay-pass"))
        async with opened(settings) as factory:
            await moderator("camille", "immediate", email=ADDRESS)
            reply = await factory.reply(await factory.article())
            await notify.item_received(settings, notify.REPLY, reply.id)
            assert await mail_worker(settings).run_once() == 1
            job = await Job.get(kind=NOTIFY_MAIL.name)
    assert (job.state, job.attempts) == (JobState.PENDING, 1)  # retried, 1 min later
    expected = {"self-signed": UNTRUSTED, "other host": MISNAMED,
                "unknown CA": UNTRUSTED.replace("self-signed certificate",
                                                "unable to get local issuer certificate")}
    assert job.last_error == expected[certificate]
    assert inbox.messages == [] and credentials.logins == []
    logged = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("federation"))
    assert "camille" in logged and expected[certificate] in logged
    assert ADDRESS not in logged


async def test_a_server_without_starttls_is_refused_not_used_in_clear(
        database_url, make_settings, local_ca, caplog):
    """``security = "starttls"`` and a server that does not offer it (a downgrade by someone
    on the path strips it just so): nothing is sent in clear — no login, no message; the
    job is retried with the reason named."""
    inbox = MailInbox()
    credentials = Credentials("bridge", "relay-pass")  # it would take the password in clear
    caplog.set_level(logging.INFO)
    async with smtp_server(inbox, credentials=credentials) as port:
        settings = make_settings(database_url, server={"run_worker": False}, smtp=tls_config(
            port, "starttls", username="bridge", password="relay-pass"))
        async with opened(settings) as factory:
            await moderator("camille", "immediate", email=ADDRESS)
            reply = await factory.reply(await factory.article())
            await notify.item_received(settings, notify.REPLY, reply.id)
            assert await mail_worker(settings).run_once() == 1
            job = await Job.get(kind=NOTIFY_MAIL.name)
    assert (job.state, job.attempts) == (JobState.PENDING, 1)
    assert job.last_error == ('127.0.0.1 does not offer STARTTLS (smtp.security = "starttls"): '
                              'nothing was sent without TLS')
    assert inbox.messages == [] and credentials.logins == []
    logged = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("federation"))
    assert ADDRESS not in logged


async def test_an_unusable_ssl_cert_file_is_named_not_ignored(database_url, make_settings,
                                                              tmp_path, monkeypatch):
    """SSL_CERT_FILE naming a missing file (OpenSSL would silently trust nothing): the session
    is not attempted and the job is retried saying why."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nowhere.pem"))
    inbox = MailInbox()
    async with smtp_server(inbox) as port:  # never reached
        settings = make_settings(database_url, server={"run_worker": False},
                                 smtp=tls_config(port, "ssl"))
        async with opened(settings) as factory:
            await moderator("camille", "immediate", email=ADDRESS)
            reply = await factory.reply(await factory.article())
            await notify.item_received(settings, notify.REPLY, reply.id)
            assert await mail_worker(settings).run_once() == 1
            job = await Job.get(kind=NOTIFY_MAIL.name)
    assert job.state == JobState.PENDING
    assert job.last_error == (f"SSL_CERT_FILE: {str(tmp_path / 'nowhere.pem')!r} is not a "
                              "readable file (the CA bundle to trust)")
    assert inbox.messages == []


async def _check_config(tmp_path: Path, port: int, security: str, ca_file: str) -> Any:
    """``federation check-config --smtp`` in a subprocess (the server runs in this loop)."""
    (tmp_path / "federation.toml").write_text(
        config_toml(sections={"smtp": {
            "host": "127.0.0.1", "port": port, "security": security, "username": "bridge",
            "password": "relay-pass", "from_address": FROM, "timeout": 10}}), encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "federation", "-c", "federation.toml", "check-config", "--smtp",
        cwd=tmp_path, env=clean_env(SSL_CERT_FILE=ca_file),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


@pytest.mark.slow
@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_check_config_smtp_over_tls(tmp_path: Path, security: str) -> None:
    """``check-config --smtp`` logs in over STARTTLS / SMTPS to a server of the CA named by
    SSL_CERT_FILE (exit 0, nothing sent); without that CA, or against a self-signed
    certificate, it exits 1 naming the TLS failure (no login attempted)."""
    ca = LocalCA(tmp_path / "ca")
    inbox = MailInbox()
    credentials = Credentials("bridge", "relay-pass")
    async with tls_server(inbox, security, ca.issue("127.0.0.1"), credentials) as port:
        code, out, err = await _check_config(tmp_path, port, security, str(ca.cert))
        assert code == 0, err
        assert f"e-mail notifications: {security} to 127.0.0.1:{port} as bridge" in out
        assert "SMTP server: connected and accepted (nothing sent)" in out
        assert credentials.over_tls == [True]
        code, out, err = await _check_config(tmp_path, port, security, SYSTEM_BUNDLE)
        assert code == 1, (out, err)
        assert "unable to get local issuer certificate" in err and "SSL_CERT_FILE" in err
    async with tls_server(inbox, security, self_signed(tmp_path / "rogue", "127.0.0.1"),
                          credentials) as port:
        code, out, err = await _check_config(tmp_path, port, security, str(ca.cert))
        assert code == 1, (out, err)
        assert UNTRUSTED in err and "Traceback" not in err
    assert inbox.messages == [] and credentials.logins == [b"bridge"]
