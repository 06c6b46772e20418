"""Moderators are told: a new pending reply or report is e-mailed (at once, or in a daily
digest) to the moderators who asked, through a real SMTP server on loopback, and called to the
site's webhook — as jobs queued with the item, sent by the job worker, retried."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from federation.db.jobs import Job, JobState
from federation.db.lifecycle import open_database
from federation.db.moderation import ModeratorAccount, NotifyMode, ReplyState
from federation.errors import BadRequest, ConfigError
from federation.i18n import messages
from federation.identity.directory import ActorDirectory
from federation.jobs.kinds import NOTIFY_MAIL, WEBHOOK
from federation.jobs.worker import Task, Worker
from federation.moderation import accounts, notify
from federation.moderation.notify import Notifier, digest_due
from federation.moderation.service import ModerationService
from federation.moderation.webhook import WebhookSender
from federation.remote.client import ClientPolicy, HardenedClient
from federation.settings import Settings
from federation.signing.keys import KeyVault
from federation.web.state import SETTINGS
from tests.inbox.conftest import (  # noqa: F401 (fixtures)
    ARTICLE,
    Bridge,
    alice,
    create,
    make_peer,
    note,
    peer,
    peer_keys,
)

from .conftest import PASSWORD, Factory
from .smtp import Credentials, MailInbox, free_port, hung_server, smtp_server

SECRET = "a-long-shared-secret-for-tests"
FROM = "federation@bridge.example"
ZONE_HOUR = 8


def smtp_config(port: int, **extra: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "security": "none", "from_address": FROM,
            **extra}


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Factory]:
    async with open_database(settings.effective_database_url):
        directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
        await directory.sync()
        yield Factory(directory)


async def moderator(username: str, notify_mode: str, *, language: str = "fr",
                    email: str | None = None) -> ModeratorAccount:
    account = await accounts.create_account(username, PASSWORD, language=language)
    return await accounts.set_notifications(
        account, email=email if email is not None else f"{username}@collectif.example",
        notify=notify_mode)


def mail_worker(settings: Settings, clock: Callable[[], datetime] | None = None,
                **options: Any) -> Worker:
    """The job engine running only the moderators' e-mails."""
    notifier = Notifier(settings, **({"clock": clock} if clock else {}))
    return Worker([Task(NOTIFY_MAIL, notifier.send)], random=lambda: 0.0, poll_interval=0.01,
                  **({"clock": clock} if clock else {}), **options)


def body_of(message: Any) -> str:
    return message.get_content()


# -- one e-mail per new item ------------------------------------------------------------------


@pytest.fixture
async def mail_bridge(database_url: str, make_settings: Callable[..., Settings],
                      aiohttp_client: Any) -> AsyncIterator[tuple[Bridge, MailInbox]]:
    """The bridge with SMTP set to a real server on loopback (the workers run by the test)."""
    from federation.app import create_app

    inbox = MailInbox()
    async with smtp_server(inbox) as port:
        settings = make_settings(database_url, allow_loopback_fetch=True,
                                 server={"run_worker": False}, smtp=smtp_config(port))
        app = create_app(settings)
        yield Bridge(await aiohttp_client(app), app), inbox


async def test_a_reply_from_the_fediverse_mails_each_moderator_who_asked(mail_bridge, alice):
    """A reply arriving in the inbox queues one e-mail per moderator who chose immediate
    e-mails — nothing is sent in the request; the worker sends each in its moderator's language
    with the direct link to the reply in /admin/; a second delivery of the same activity
    queues nothing more; digest and off moderators get nothing now."""
    bridge, inbox = mail_bridge
    settings = bridge.app[SETTINGS]
    await bridge.article()
    await moderator("camille", "immediate", language="fr")
    await moderator("dana", "immediate", language="en")
    await moderator("eve", "digest")
    await moderator("frank", "off")
    activity = create(alice, note(alice, content="<p>Bravo pour le <b>débat</b> d'hier</p>"))
    assert (await bridge.post(activity, alice)).status == 202
    assert (await bridge.post(activity, alice)).status == 202  # a retry by the peer
    jobs = await Job.filter(kind=NOTIFY_MAIL.name).order_by("id")
    assert len(jobs) == 2 and inbox.messages == []  # queued, not sent in the request
    assert await mail_worker(settings).run_once() == 2
    assert await mail_worker(settings).run_once() == 0
    from federation.db.moderation import Reply

    reply = await Reply.get()
    link = f"https://bridge.example/admin/thread/{reply.id}#reply-{reply.id}"
    [french] = inbox.to("camille@collectif.example")
    [english] = inbox.to("dana@collectif.example")
    assert french["From"] == FROM and french["Content-Language"] == "fr"
    assert french["Subject"].startswith("[Le Numéro Zéro] Une réponse attend la modération")
    assert english["Subject"].startswith("[Le Numéro Zéro] A reply awaits moderation")
    for message, words in ((french, "Une nouvelle réponse attend"),
                           (english, "A new reply awaits")):
        text = body_of(message)
        assert words in text
        assert link in text
        # name and handle (the peer's non-default port is part of its handle)
        assert f"Alice (@alice@{alice.uri.split('/')[2]})" in text
        assert "Bravo pour le débat d'hier" in text  # the excerpt, as plain text
        assert "<b>" not in text
        assert "https://bridge.example/admin/notifications" in text
    assert french["Message-ID"] != english["Message-ID"]
    assert inbox.to("eve@collectif.example") == [] and inbox.to("frank@collectif.example") == []
    assert {j.state for j in await Job.filter(kind=NOTIFY_MAIL.name)} == {JobState.DONE}


async def test_a_report_is_mailed_with_its_link(database_url, make_settings):
    """A report (as the inbox stores it) is e-mailed with the link to it in /admin/reports."""
    inbox = MailInbox()
    async with smtp_server(inbox) as port:
        settings = make_settings(database_url, smtp=smtp_config(port),
                                 server={"run_worker": False})
        async with opened(settings) as factory:
            await moderator("camille", "immediate", language="en")
            article = await factory.article()
            report = await factory.report(await factory.remote("mod", "other.example"),
                                          [article.uri], content="Propos haineux\nà vérifier")
            await notify.item_received(settings, notify.REPORT, report.id)
            assert await mail_worker(settings).run_once() == 1
    [message] = inbox.messages
    text = body_of(message)
    assert message["Subject"].startswith("[Le Numéro Zéro] New report: ")
    assert f"https://bridge.example/admin/reports#report-{report.id}" in text
    assert "Propos haineux à vérifier" in text  # one line
    assert "Débat sur la numérisation" in text  # what it reports


async def test_no_mail_for_what_was_decided_or_a_moderator_who_changed_their_mind(
        database_url, make_settings):
    """The worker reads the present: a reply decided before its e-mail went, or a moderator who
    turned notifications off, sends nothing (the job is done, not retried)."""
    inbox = MailInbox()
    async with smtp_server(inbox) as port:
        settings = make_settings(database_url, smtp=smtp_config(port),
                                 server={"run_worker": False})
        async with opened(settings) as factory:
            camille = await moderator("camille", "immediate")
            await moderator("dana", "immediate")
            article = await factory.article()
            decided = await factory.reply(article)
            await notify.item_received(settings, notify.REPLY, decided.id)
            await ModerationService(settings, factory.directory, send=_no_send).reject(
                decided.id, "dana")
            waiting = await factory.reply(article)
            await notify.item_received(settings, notify.REPLY, waiting.id)
            await accounts.set_notifications(camille, notify="off")
            worker = mail_worker(settings)
            assert await worker.run_once() + await worker.run_once() == 4  # two at a time
            assert {j.state for j in await Job.filter(kind=NOTIFY_MAIL.name)} == {JobState.DONE}
    assert [m["To"] for m in inbox.messages] == ["dana@collectif.example"]
    assert f"#reply-{waiting.id}" in body_of(inbox.messages[0])


async def _no_send(*args: Any, **kwargs: Any) -> None:
    return None


# -- the daily digest -------------------------------------------------------------------------


async def test_the_digest_batches_what_arrived_once_a_day(database_url, make_settings):
    """At the digest hour one e-mail lists every reply and report that arrived since the last
    digest and still waits; planning again, or after a restart, queues nothing more; the next
    day only what is new is listed, and a day with nothing new sends nothing."""
    inbox = MailInbox()
    start = datetime.now(UTC)
    async with smtp_server(inbox) as port:
        settings = make_settings(database_url, smtp=smtp_config(port),
                                 server={"run_worker": False},
                                 moderation={"digest_hour": ZONE_HOUR})
        async with opened(settings) as factory:
            eve = await moderator("eve", "digest", language="fr")
            await moderator("camille", "immediate")  # not in the digest
            eve.digest_sent_at = start - timedelta(days=1, hours=1)
            await eve.save(update_fields=["digest_sent_at"])
            article = await factory.article()
            bob = await factory.remote("bob", "autre.example", name="Bob")
            replies = [await factory.reply(article, content=f"<p>Réponse numéro {n}</p>")
                       for n in range(3)]
            replies.append(await factory.reply(article, bob, content="<p>déjà vue</p>",
                                               state=ReplyState.APPROVED))
            report = await factory.report(bob, [article.uri], content="Signalé par Bob")
            clock = [start + timedelta(days=1)]
            notifier = Notifier(settings, clock=lambda: clock[0])
            assert await notifier.plan_digests(clock[0]) == "1 digest(s) queued"
            assert await notifier.plan_digests(clock[0]) == ""
            assert await Notifier(settings).plan_digests(clock[0]) == ""  # a restart
            worker = mail_worker(settings, clock=lambda: clock[0])
            assert await worker.run_once() == 1
            assert len(inbox.messages) == 1
            # the next day: one new reply only
            clock[0] += timedelta(days=1)
            fresh = await factory.reply(article, content="<p>La nouvelle</p>")
            await _received_at(fresh, clock[0] - timedelta(hours=2))
            assert await notifier.plan_digests(clock[0]) == "1 digest(s) queued"
            assert await worker.run_once() == 1
            # a day without anything new: planned, but nothing to send
            clock[0] += timedelta(days=1)
            assert await notifier.plan_digests(clock[0]) == "1 digest(s) queued"
            assert await worker.run_once() == 1
    first, second = inbox.messages
    assert first["To"] == "eve@collectif.example"
    assert first["Subject"] == ("[Le Numéro Zéro] Résumé de modération : "
                                "4 nouvel(s) élément(s) en attente")
    text = body_of(first)
    for reply in replies[:3]:
        assert f"#reply-{reply.id}" in text
    assert f"#reply-{replies[3].id}" not in text  # decided already
    assert f"#report-{report.id}" in text and "Signalé par Bob" in text
    assert "Réponse numéro 2" in text
    second_text = body_of(second)
    assert f"#reply-{fresh.id}" in second_text and f"#reply-{replies[0].id}" not in second_text
    assert len(inbox.messages) == 2  # the empty day sent nothing


async def _received_at(reply: Any, moment: datetime) -> None:
    from federation.db.moderation import Reply

    await Reply.filter(id=reply.id).update(received_at=moment)


def test_digest_hour_is_the_sites_local_hour():
    """The digest is due at ``digest_hour`` in the site's timezone, across a DST change."""
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    winter = datetime(2026, 1, 15, 7, 30, tzinfo=UTC)  # 08:30 in Paris
    assert digest_due(winter, 8, paris) == datetime(2026, 1, 15, 7, 0, tzinfo=UTC)
    early = datetime(2026, 1, 15, 6, 30, tzinfo=UTC)  # 07:30 in Paris: yesterday's
    assert digest_due(early, 8, paris) == datetime(2026, 1, 14, 7, 0, tzinfo=UTC)
    summer = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST, the day clocks moved
    assert digest_due(summer, 8, paris) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


# -- failures ---------------------------------------------------------------------------------


async def test_smtp_down_is_retried_then_delivered_when_it_comes_back(database_url,
                                                                     make_settings):
    """The SMTP server refusing connections: the e-mail job is retried by its policy (1 min
    first), not lost and not failed; once the server is back, the retry delivers it."""
    port = free_port()
    now = datetime.now(UTC)
    clock = [now]
    settings = make_settings(database_url, smtp=smtp_config(port), server={"run_worker": False})
    async with opened(settings) as factory:
        await moderator("camille", "immediate")
        reply = await factory.reply(await factory.article())
        await notify.item_received(settings, notify.REPLY, reply.id, now=now)
        worker = mail_worker(settings, clock=lambda: clock[0])
        assert await worker.run_once() == 1
        job = await Job.get(kind=NOTIFY_MAIL.name)
        assert (job.state, job.attempts) == (JobState.PENDING, 1)
        assert job.next_attempt_at == now + timedelta(seconds=60)
        assert job.last_error
        assert await worker.run_once() == 0  # not due yet
        inbox = MailInbox()
        async with smtp_server(inbox, port=port):
            clock[0] = now + timedelta(minutes=2)
            assert await worker.run_once() == 1
        job = await Job.get(kind=NOTIFY_MAIL.name)
        assert (job.state, job.attempts) == (JobState.DONE, 2)
    [message] = inbox.messages
    assert f"#reply-{reply.id}" in body_of(message)


async def test_a_hung_smtp_server_does_not_hold_the_worker(database_url, make_settings):
    """A relay that accepts and never answers: the attempt ends after ``[smtp] timeout`` and is
    retried later; meanwhile the worker's other jobs are not held up."""
    async with hung_server() as (port, connections):
        settings = make_settings(database_url, smtp=smtp_config(port, timeout=0.5),
                                 server={"run_worker": False})
        async with opened(settings) as factory:
            await moderator("camille", "immediate")
            reply = await factory.reply(await factory.article())
            await notify.item_received(settings, notify.REPLY, reply.id)
            started = time.monotonic()
            assert await mail_worker(settings).run_once() == 1
            elapsed = time.monotonic() - started
            job = await Job.get(kind=NOTIFY_MAIL.name)
    assert connections  # it did connect
    assert elapsed < 3.0, elapsed
    assert job.state == JobState.PENDING and "0.5 s" in (job.last_error or "")


async def test_a_refused_address_is_final_and_logged_without_it(database_url, make_settings,
                                                                 caplog):
    """A recipient the server refuses for good (550) fails the job (no retries); the log
    names the moderator, never their address."""
    inbox = MailInbox()
    inbox.refuse.add("camille@collectif.example")
    caplog.set_level(logging.INFO)
    async with smtp_server(inbox) as port:
        settings = make_settings(database_url, smtp=smtp_config(port),
                                 server={"run_worker": False})
        async with opened(settings) as factory:
            await moderator("camille", "immediate")
            reply = await factory.reply(await factory.article())
            await notify.item_received(settings, notify.REPLY, reply.id)
            assert await mail_worker(settings).run_once() == 1
            job = await Job.get(kind=NOTIFY_MAIL.name)
    assert job.state == JobState.FAILED and "550" in (job.last_error or "")
    assert inbox.messages == []
    logged = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("federation"))
    assert "camille" in logged
    assert "camille@collectif.example" not in logged


async def test_login_with_a_password_file(database_url, make_settings, tmp_path):
    """``[smtp] username`` and ``password_file``: the bridge logs in (the file is read when
    sending); a wrong password is retried (the admin may fix it), not failed."""
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret-relay-password\n", encoding="utf-8")
    inbox = MailInbox()
    credentials = Credentials("bridge", "s3cret-relay-password")
    async with smtp_server(inbox, credentials=credentials) as port:
        settings = make_settings(database_url, server={"run_worker": False}, smtp=smtp_config(
            port, username="bridge", password_file=str(secret)))
        async with opened(settings) as factory:
            await moderator("camille", "immediate")
            article = await factory.article()
            first = await factory.reply(article)
            await notify.item_received(settings, notify.REPLY, first.id)
            assert await mail_worker(settings).run_once() == 1
            assert len(inbox.messages) == 1
            secret.write_text("wrong\n", encoding="utf-8")
            second = await factory.reply(article)
            await notify.item_received(settings, notify.REPLY, second.id)
            assert await mail_worker(settings).run_once() == 1
            job = await Job.get(kind=NOTIFY_MAIL.name, ref=f"reply:{second.id}:"
                                f"{(await ModeratorAccount.get(username='camille')).id}")
    assert job.state == JobState.PENDING and "535" in (job.last_error or "")
    assert len(inbox.messages) == 1


# -- webhook ----------------------------------------------------------------------------------


class Site:
    """The site's webhook endpoint: checks the HMAC with its own code; 500 on demand."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0
        self.refused = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers["X-Federation-Timestamp"]
        expected = "sha256=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Federation-Signature", "")):
            self.refused += 1
            return web.Response(status=401)
        if self.fail_next:
            self.fail_next -= 1
            return web.Response(status=500)
        self.received.append({"event": request.headers["X-Federation-Event"],
                              "body": json.loads(body)})
        return web.Response(status=204)


async def test_received_items_call_the_signed_webhook_retried_after_a_500(database_url,
                                                                         make_settings):
    """``reply.received`` and ``report.received`` reach the site signed (HMAC as every call);
    a 500 is retried by the webhook's policy; a pending reply's text is not sent."""
    site = Site()
    site.fail_next = 1
    app = web.Application()
    app.router.add_post("/hook", site.handle)
    now = datetime.now(UTC)
    clock = [now]
    async with TestServer(app, host="127.0.0.1") as server:
        settings = make_settings(
            database_url, allow_loopback_fetch=True, server={"run_worker": False},
            moderation={"webhook_url": str(server.make_url("/hook")), "webhook_secret": SECRET})
        async with opened(settings) as factory:
            article = await factory.article()
            reply = await factory.reply(article, content="<p>secret until approved</p>")
            report = await factory.report(await factory.remote("mod", "other.example"),
                                          [article.uri])
            assert await notify.item_received(settings, notify.REPLY, reply.id, now=now) == 1
            assert await notify.item_received(settings, notify.REPORT, report.id, now=now) == 1
            assert await Job.filter(kind=NOTIFY_MAIL.name).count() == 0  # no [smtp]: no mail
            async with HardenedClient(ClientPolicy(allow_loopback=True)) as client:
                sender = WebhookSender(settings, client, clock=lambda: clock[0])
                worker = Worker([sender.task()], clock=lambda: clock[0], random=lambda: 0.0)
                assert await worker.run_once() == 1  # one at a time per host: the 500
                assert await worker.run_once() == 1  # the report's call
                first = await Job.filter(kind=WEBHOOK.name).order_by("id").first()
                assert first is not None
                assert (first.state, first.attempts) == (JobState.PENDING, 1)
                assert "500" in (first.last_error or "")
                clock[0] = now + timedelta(minutes=1)
                assert await worker.run_once() == 1
                assert {j.state for j in await Job.filter(kind=WEBHOOK.name)} == {JobState.DONE}
    assert site.refused == 0
    by_event = {call["event"]: call["body"] for call in site.received}
    assert set(by_event) == {"reply.received", "report.received"}
    sent_reply = by_event["reply.received"]
    assert sent_reply["event"] == "reply.received"
    assert sent_reply["reply"]["id"] == reply.id and sent_reply["reply"]["state"] == "pending"
    assert sent_reply["reply"]["author"]["handle"]
    assert "content_html" not in sent_reply["reply"]
    assert sent_reply["admin_url"] == (
        f"https://bridge.example/admin/thread/{reply.id}#reply-{reply.id}")
    sent_report = by_event["report.received"]
    assert sent_report["report"]["id"] == report.id
    assert sent_report["report"]["objects"] == [article.uri]
    assert sent_report["admin_url"] == f"https://bridge.example/admin/reports#report-{report.id}"


# -- without SMTP, preferences, settings ------------------------------------------------------


async def test_without_smtp_nothing_is_queued_and_one_line_says_so(service, factory, mod_settings,
                                                                    caplog):
    """No ``[smtp] host``: a new reply queues no e-mail job (and no error); the worker's start
    says once that e-mail notifications are off."""
    await moderator("camille", "immediate")
    reply = await factory.reply(await factory.article())
    assert await notify.item_received(mod_settings, notify.REPLY, reply.id) == 0
    assert await Job.filter(kind=NOTIFY_MAIL.name).count() == 0
    caplog.set_level(logging.INFO)
    notify.log_disabled(mod_settings)
    [line] = [r for r in caplog.records if "e-mail notifications" in r.getMessage()]
    assert line.levelno == logging.INFO and "[smtp]" in line.getMessage()


async def test_preferences_are_checked_before_anything_is_written(service, factory):
    """A bad address, an unknown mode, notifications without an address: 400, nothing changed.
    Choosing the digest starts its period now."""
    account = await accounts.create_account("camille", PASSWORD)
    for kwargs in ({"email": "not an address"}, {"email": "camille@local"},
                   {"email": "a@b.example\r\nBcc: x@y.example"}, {"notify": "hourly"},
                   {"notify": "immediate"}, {"email": "ça@exemple.fr"}):
        with pytest.raises(BadRequest):
            await accounts.set_notifications(await ModeratorAccount.get(id=account.id), **kwargs)
    fresh = await ModeratorAccount.get(id=account.id)
    assert (fresh.email, fresh.notify, fresh.digest_sent_at) == ("", NotifyMode.OFF, None)
    before = datetime.now(UTC)
    await accounts.set_notifications(fresh, email=" camille@collectif.example ", notify="digest")
    fresh = await ModeratorAccount.get(id=account.id)
    assert fresh.email == "camille@collectif.example" and fresh.notify == NotifyMode.DIGEST
    assert fresh.digest_sent_at is not None
    assert fresh.digest_sent_at >= before - timedelta(seconds=1)


def test_smtp_settings_are_validated(make_settings, database_url, tmp_path):
    """Every problem of ``[smtp]`` is reported at once, before start-up."""
    with pytest.raises(ConfigError) as caught:
        make_settings(database_url, smtp={"host": "mail.example", "security": "none",
                                          "password": "x", "port": 0})
    text = str(caught.value)
    assert "smtp.port" in text
    with pytest.raises(ConfigError) as caught:
        make_settings(database_url, smtp={"host": "mail.example", "security": "none",
                                          "password": "x"})
    text = str(caught.value)
    assert "from_address" in text
    for bad in ({"host": "mail.example", "from_address": FROM, "security": "none"},
                {"host": "mail.example", "from_address": FROM, "password": "x",
                 "password_file": "/x", "username": "u"},
                {"host": "mail.example", "from_address": "nobody"},
                {"host": "smtp://mail.example", "from_address": FROM},
                {"host": "mail.example", "from_address": FROM, "security": "tls"}):
        with pytest.raises(ConfigError):
            make_settings(database_url, smtp=bad)
    ok = make_settings(database_url, smtp={"host": "mail.example", "from_address": FROM,
                                           "username": "u", "password_file": "secret"})
    assert ok.smtp.effective_port == 587 and ok.smtp.password_file is not None


def test_mail_catalogues_have_the_same_keys():
    assert messages("fr").keys() == messages("en").keys()


async def test_hung_server_timeout_is_measured_against_a_deadline():
    """The whole session is bounded (not each read): a server that answers each command
    slowly, within a per-read timeout, is still cut at ``timeout``."""
    from email.message import EmailMessage

    from federation.moderation.mail import SendError, send
    from federation.settings import SmtpConfig

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(b"220 slow.test ESMTP\r\n")
            while await reader.readline():
                await asyncio.sleep(0.6)
                writer.write(b"250 ok\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass

    server = await asyncio.start_server(slow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = SmtpConfig(host="127.0.0.1", port=port, security="none", from_address=FROM,
                        timeout=1.0)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = FROM, "a@b.example", "x"
    message.set_content("x")
    started = time.monotonic()
    with pytest.raises(SendError) as caught:
        await send(config, message)
    assert "no answer within 1 s" in caught.value.message
    assert time.monotonic() - started < 2.0
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("policy", ["moderated", "automatic"])
async def test_a_quote_is_announced_only_when_it_waits(database_url, make_settings,
                                                      aiohttp_client, alice, policy):
    """quotes = moderated: a quote request waits, so the site's webhook gets ``quote.received``
    (and nothing else yet); quotes = automatic: approved at once, nothing waits — only the
    decision's ``quote.approve`` is queued."""
    from federation.app import create_app
    from tests.inbox.test_quotes import quote_note, quote_request

    settings = make_settings(
        database_url, allow_loopback_fetch=True, server={"run_worker": False},
        moderation={"quotes": policy, "webhook_url": "https://site.example/hook",
                    "webhook_secret": SECRET})
    client = await aiohttp_client(create_app(settings))
    bridge = Bridge(client, client.server.app)
    await bridge.article()
    note_document = quote_note(alice)
    assert (await bridge.post(quote_request(alice, note_document), alice)).status == 202
    events = [job.payload["event"] for job in await Job.filter(kind=WEBHOOK.name).order_by("id")]
    assert events == (["quote.received"] if policy == "moderated" else ["quote.approve"])


async def test_the_worker_of_serve_plans_and_sends_the_digest(database_url, make_settings):
    """The job worker's task list (``serve``, ``federation worker``) has the e-mails and the
    periodic digest planner when ``[smtp]`` is set (and neither without): run as the worker
    runs them, the planner queues the due digest and the next cycle sends it."""
    from federation.jobs.kinds import NOTIFY_DIGEST
    from federation.web.loops import job_tasks

    inbox = MailInbox()
    start = datetime.now(UTC)
    clock = [start + timedelta(days=1)]
    async with smtp_server(inbox) as port:
        settings = make_settings(database_url, smtp=smtp_config(port),
                                 server={"run_worker": False})
        async with opened(settings) as factory, HardenedClient(ClientPolicy()) as client:
            names = [t.kind.name for t in job_tasks(settings, client, None)]
            assert NOTIFY_MAIL.name in names and NOTIFY_DIGEST.name in names
            without = make_settings(database_url, server={"run_worker": False})
            assert not {NOTIFY_MAIL.name, NOTIFY_DIGEST.name} & {
                t.kind.name for t in job_tasks(without, client, None)}
            eve = await moderator("eve", "digest", language="en")
            eve.digest_sent_at = start - timedelta(days=1)
            await eve.save(update_fields=["digest_sent_at"])
            reply = await factory.reply(await factory.article())
            tasks = [t for t in job_tasks(settings, client, None, clock=lambda: clock[0])
                     if t.kind.name.startswith("moderation.")]
            worker = Worker(tasks, clock=lambda: clock[0], random=lambda: 0.0)
            assert await worker.run_once() == 1  # the planner (its row made at start)
            assert await worker.run_once() == 1  # the digest it queued
            assert await worker.run_once() == 0
    [message] = inbox.messages
    assert message["To"] == "eve@collectif.example"
    assert message["Subject"] == "[Le Numéro Zéro] Moderation digest: 1 new item(s) waiting"
    assert f"#reply-{reply.id}" in body_of(message)
