"""The site's webhook: each moderation decision is POSTed to ``[moderation] webhook_url``.

A call is a job (:data:`federation.jobs.kinds.WEBHOOK`) written in the same transaction as the
decision, so nothing is lost on a crash. The job engine sends it (:meth:`WebhookSender.task`)
through the hardened client under a lease owned by one worker, and retries it by the kind's
policy (30 s, 1 min, 2 min … 6 h; 8 attempts; a 4xx other than 401/408/429 is final, 429's
``Retry-After`` is honoured). Failures are logged, never fatal.

Signature: ``X-Federation-Signature: sha256=<hex>`` is HMAC-SHA256, keyed with the shared
secret, over ``<timestamp>.<body>`` where ``<timestamp>`` is ``X-Federation-Timestamp`` (Unix
seconds). Receivers recompute it over the raw body and refuse old timestamps (replays).
``X-Federation-Delivery`` (the job's id) is the same on every retry of one call
(deduplication).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from federation.db.jobs import Job
from federation.errors import RemoteError
from federation.jobs import store
from federation.jobs.kinds import WEBHOOK
from federation.jobs.policy import Verdict, decide
from federation.jobs.store import ClaimedJob
from federation.jobs.worker import Result, Task
from federation.remote.client import HardenedClient
from federation.settings import Settings

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 16_384
SIGNATURE_HEADER = "X-Federation-Signature"
TIMESTAMP_HEADER = "X-Federation-Timestamp"
EVENT_HEADER = "X-Federation-Event"
DELIVERY_HEADER = "X-Federation-Delivery"


def sign_body(secret: str, timestamp: int, body: bytes) -> str:
    """The value of ``X-Federation-Signature`` for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, *,
                     now: int, tolerance: int = 300) -> bool:
    """What a receiver does (documented in docs/replies-export.md; used by our tests)."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs(now - moment) > tolerance:
        return False
    return hmac.compare_digest(sign_body(secret, moment, body), signature)


def _host(settings: Settings) -> str:
    return (urlsplit(settings.moderation.webhook_url or "").hostname or "").lower()


async def enqueue(settings: Settings, event: str, payload: dict[str, Any],
                  *, now: datetime | None = None) -> Job | None:
    """Queue one call (inside the caller's transaction); nothing when no webhook is set."""
    if not settings.moderation.webhook_url:
        return None
    return await store.enqueue(WEBHOOK.name, {"event": event[:64], "payload": payload},
                               key=_host(settings), at=now or datetime.now(UTC))


class WebhookSender:
    """Sends one call per job (the job engine's handler of :data:`WEBHOOK` jobs)."""

    def __init__(self, settings: Settings, client: HardenedClient, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock

    def task(self) -> Task:
        return Task(WEBHOOK, self.send)

    async def send(self, job: ClaimedJob) -> Result:
        """POST one call; what comes next by the webhook's retry policy."""
        config = self._settings.moderation
        event = str(job.payload.get("event", ""))
        if not config.webhook_url:  # the webhook was turned off: the call is dropped
            return Result.fail("no webhook_url configured any more")
        body = json.dumps({"id": job.id, "event": event, **job.payload.get("payload", {})},
                          ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(self._clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign_body(config.webhook_secret, timestamp, body),
            EVENT_HEADER: event,
            DELIVERY_HEADER: str(job.id),
        }
        host = _host(self._settings)
        status, retry_after, error = None, None, ""
        try:
            answer = await self._client.post(config.webhook_url, body, headers, sign=False,
                                             max_bytes=MAX_ANSWER_BYTES)
            status, retry_after = answer.status, answer.headers.get("Retry-After")
            error = f"HTTP {status}"
        except RemoteError as failure:
            error = f"{type(failure).__name__}: {failure.message}"
        decision = decide(attempt=job.attempts, now=self._clock(), status=status,
                          retry_after=retry_after, max_attempts=None, policy=WEBHOOK.policy)
        if decision.verdict is Verdict.DELIVERED:
            log.info("webhook %s (%s) delivered to %s", job.id, event, host)
            return Result.done()
        if decision.verdict is Verdict.RETRY:
            if WEBHOOK.policy.gives_up(job.attempts):
                log.warning("webhook %s (%s) to %s given up after %s attempts: %s",
                            job.id, event, host, job.attempts, error)
            else:
                log.warning("webhook %s (%s) to %s failed (attempt %s): %s",
                            job.id, event, host, job.attempts, error)
            return Result.retry(error, at=decision.retry_at)
        log.warning("webhook %s (%s) to %s refused for good: %s", job.id, event, host, error)
        return Result.fail(error)
