"""The site's webhook: signed with HMAC-SHA256, queued durably (a job), sent under a lease by
the job engine, retried by its policy, failures not fatal."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp.test_utils import TestServer

from federation.db.jobs import Job, JobState
from federation.db.lifecycle import open_database
from federation.identity.directory import ActorDirectory
from federation.jobs.kinds import WEBHOOK
from federation.jobs.worker import Worker
from federation.moderation.service import ModerationService
from federation.moderation.webhook import WebhookSender, enqueue
from federation.remote.client import ClientPolicy, HardenedClient
from federation.signing.keys import KeyVault

from .conftest import Factory

SECRET = "a-long-shared-secret-for-tests"


class Receiver:
    """The site: verifies the signature with its own code and records what it got."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.refused = 0
        self.fail_next = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers["X-Federation-Timestamp"]
        expected = "sha256=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        given = request.headers.get("X-Federation-Signature", "")
        if not hmac.compare_digest(expected, given) or abs(time.time() - int(timestamp)) > 300:
            self.refused += 1
            return web.Response(status=401)
        if self.fail_next:
            self.fail_next -= 1
            return web.Response(status=503)
        self.received.append({"headers": dict(request.headers), "body": json.loads(body)})
        return web.Response(status=204)


def WebhookWorker(settings, client, **options) -> Worker:
    """The job engine running only the webhook's calls."""
    clock = options.pop("clock", None)
    sender = WebhookSender(settings, client, **({"clock": clock} if clock else {}))
    return Worker([sender.task()], random=lambda: 0.0, poll_interval=0.01,
                  **({"clock": clock} if clock else {}), **options)


async def _setup(make_settings, database_url, url):
    settings = make_settings(
        database_url, allow_loopback_fetch=True, server={"run_worker": False},
        moderation={"webhook_url": url, "webhook_secret": SECRET},
    )
    return settings


async def test_decision_calls_the_signed_webhook(database_url, make_settings):
    """An approval reaches the site once, with a valid HMAC, the event and the reply."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        settings = await _setup(make_settings, database_url, str(server.make_url("/hook")))
        async with open_database(settings.effective_database_url):
            directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
            await directory.sync()
            factory = Factory(directory)
            service = ModerationService(settings, directory)
            reply = await factory.reply(await factory.article())
            await service.approve(reply.id, "camille")
            async with HardenedClient(ClientPolicy(allow_loopback=True)) as client:
                worker = WebhookWorker(settings, client)
                assert await worker.run_once() == 1
                assert await worker.run_once() == 0  # sent once only
                assert (await Job.get()).state == JobState.DONE
    assert receiver.refused == 0
    [call] = receiver.received
    assert call["headers"]["X-Federation-Event"] == "reply.approve"
    body = call["body"]
    assert body["event"] == "reply.approve"
    assert body["decision"]["moderator"] == "camille"
    assert body["decision"]["to_state"] == "approved"
    assert body["reply"]["uri"] == reply.uri
    assert body["reply"]["content_html"] == reply.content_html
    assert "Signature" not in call["headers"]  # no HTTP signature of an actor: HMAC only


async def test_failed_calls_are_retried_later_and_never_raise(database_url, make_settings):
    """A 503 keeps the call pending with a later attempt; after the delay it is sent."""
    receiver = Receiver()
    receiver.fail_next = 1
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    now = datetime.now(UTC)
    clock = [now]
    async with TestServer(app, host="127.0.0.1") as server:
        settings = await _setup(make_settings, database_url, str(server.make_url("/hook")))
        async with open_database(settings.effective_database_url):
            directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
            await directory.sync()
            factory = Factory(directory)
            service = ModerationService(settings, directory, clock=lambda: clock[0])
            reply = await factory.reply(await factory.article())
            await service.reject(reply.id, "camille")
            async with HardenedClient(ClientPolicy(allow_loopback=True)) as client:
                worker = WebhookWorker(settings, client, clock=lambda: clock[0])
                assert await worker.run_once() == 1
                row = await Job.get()
                assert (row.kind, row.state, row.attempts) == (WEBHOOK.name, JobState.PENDING, 1)
                assert row.next_attempt_at == now + timedelta(seconds=30)
                assert "503" in row.last_error
                assert await worker.run_once() == 0  # not due yet
                clock[0] = now + timedelta(minutes=5)
                assert await worker.run_once() == 1
                assert (await Job.get()).state == JobState.DONE
    [call] = receiver.received
    assert call["body"]["event"] == "reply.reject"
    assert "content_html" not in call["body"]["reply"]  # not public: no content


async def test_unreachable_webhook_is_logged_not_fatal(database_url, make_settings, caplog):
    """A refused connection is recorded on the row; the decision itself stands."""
    settings = await _setup(make_settings, database_url, "http://127.0.0.1:9/hook")
    async with open_database(settings.effective_database_url):
        directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
        await directory.sync()
        factory = Factory(directory)
        reply = await factory.reply(await factory.article())
        await ModerationService(settings, directory).mark_spam(reply.id, "camille")
        async with HardenedClient(ClientPolicy(allow_loopback=True)) as client:
            assert await WebhookWorker(settings, client).run_once() == 1
        row = await Job.get()
        assert row.attempts == 1 and row.state == JobState.PENDING and row.last_error
    assert any("webhook" in r.getMessage() for r in caplog.records)


async def test_no_webhook_configured_queues_nothing(service, factory):
    """Without webhook_url, decisions write no webhook rows."""
    reply = await factory.reply(await factory.article())
    await service.approve(reply.id, "camille")
    assert await Job.filter(kind=WEBHOOK.name).count() == 0


async def test_stop_finishes_the_call_in_flight_and_gives_back_the_rest(database_url, make_settings):
    """Stopping the job worker while the site answers the first of three calls (one at a time:
    one host): that call is recorded as sent, the two not begun stay pending with no lease
    (sent by the next worker at once, not after a lease), and ``run`` returns."""
    arrived, answer = asyncio.Event(), asyncio.Event()
    received: list[int] = []

    async def slow_site(request: web.Request) -> web.Response:
        received.append(int(request.headers["X-Federation-Delivery"]))
        arrived.set()
        await answer.wait()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", slow_site)
    async with TestServer(app, host="127.0.0.1") as server:
        settings = await _setup(make_settings, database_url, str(server.make_url("/hook")))
        async with open_database(settings.effective_database_url):
            rows = [await enqueue(settings, "reply.approve", {"n": n}) for n in range(3)]
            async with HardenedClient(ClientPolicy(allow_loopback=True)) as client:
                stop = asyncio.Event()
                task = asyncio.create_task(WebhookWorker(settings, client).run(stop))
                await asyncio.wait_for(arrived.wait(), 10)
                stop.set()
                answer.set()
                await asyncio.wait_for(task, 10)
            states = {r.id: (r.state, r.attempts, r.lease_owner) for r in await Job.all()}
    assert received == [rows[0].id]
    assert states[rows[0].id][:2] == (JobState.DONE, 1)
    assert [states[r.id] for r in rows[1:]] == [(JobState.PENDING, 0, None)] * 2


async def test_a_permanent_refusal_ends_the_call_and_429_waits_as_asked(database_url,
                                                                          make_settings):
    """The one retry policy: 400 is final (failed, no retry), 429's Retry-After is honoured;
    after 8 attempts a failing call is abandoned."""
    answers = {"bad": 400, "slow": 429, "down": 503}

    async def site(request: web.Request) -> web.Response:
        event = request.headers["X-Federation-Event"]
        return web.Response(status=answers[event], headers={"Retry-After": "120"})

    app = web.Application()
    app.router.add_post("/hook", site)
    now = datetime.now(UTC)
    clock = [now]
    async with TestServer(app, host="127.0.0.1") as server:
        settings = await _setup(make_settings, database_url, str(server.make_url("/hook")))
        async with open_database(settings.effective_database_url):
            for event in answers:
                await enqueue(settings, event, {}, now=now)
            async with HardenedClient(ClientPolicy(allow_loopback=True)) as client:
                worker = WebhookWorker(settings, client, clock=lambda: clock[0])
                assert await worker.run_once() == 1  # one host: one call at a time
                assert await worker.run_once() == 1
                assert await worker.run_once() == 1
                rows = {r.payload["event"]: r for r in await Job.all()}
                assert rows["bad"].state == JobState.FAILED and "400" in rows["bad"].last_error
                assert rows["slow"].next_attempt_at == now + timedelta(seconds=120)
                assert rows["down"].next_attempt_at == now + timedelta(seconds=30)
                for _ in range(7):
                    clock[0] = (await Job.get(id=rows["down"].id)).next_attempt_at
                    await Job.filter(id=rows["slow"].id).update(state=JobState.DONE)
                    assert await worker.run_once() == 1
                down = await Job.get(id=rows["down"].id)
    assert (down.state, down.attempts) == (JobState.ABANDONED, 8)
