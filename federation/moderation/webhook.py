"""The site's webhook: each moderation decision is POSTed to ``[moderation] webhook_url``.

A call is a :class:`~federation.db.moderation.WebhookDelivery` row written in the same
transaction as the decision, so nothing is lost on a crash. :class:`WebhookWorker` sends due
rows through the hardened client (``run_once`` for tests, ``run_forever`` in the server), with a
lease so two workers never send the same row, and retries with a growing delay until
``MAX_ATTEMPTS``. Failures are logged, never fatal.

Signature: ``X-Federation-Signature: sha256=<hex>`` is HMAC-SHA256, keyed with the shared
secret, over ``<timestamp>.<body>`` where ``<timestamp>`` is ``X-Federation-Timestamp`` (Unix
seconds). Receivers recompute it over the raw body and refuse old timestamps (replays).
``X-Federation-Delivery`` is the same on every retry of one call (deduplication).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tortoise.expressions import Q

from federation.db.moderation import WebhookDelivery, WebhookState
from federation.errors import RemoteError
from federation.remote.client import HardenedClient
from federation.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 6 * 3600
LEASE_SECONDS = 60
#: On shutdown, the call being sent gets this long to finish before it is abandoned (it is
#: then sent again after its lease: the site deduplicates on X-Federation-Delivery).
WEBHOOK_GRACE = 10.0
BATCH = 20
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


def retry_delay(attempts: int) -> timedelta:
    """Delay before attempt ``attempts + 1``: 30 s, 1 min, 2 min … capped at 6 h."""
    return timedelta(seconds=min(FIRST_DELAY_SECONDS * 2 ** max(attempts - 1, 0),
                                 MAX_DELAY_SECONDS))


async def enqueue(settings: Settings, event: str, payload: dict[str, Any],
                  *, now: datetime | None = None) -> WebhookDelivery | None:
    """Queue one call (inside the caller's transaction); nothing when no webhook is set."""
    if not settings.moderation.webhook_url:
        return None
    return await WebhookDelivery.create(
        event=event[:64], payload=payload, next_attempt_at=now or datetime.now(UTC)
    )


class WebhookWorker:
    """Sends due webhook calls; ``run_once`` handles one batch and returns how many it sent."""

    def __init__(self, settings: Settings, client: HardenedClient, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock
        self.wake = asyncio.Event()

    async def _lease(self, now: datetime) -> list[WebhookDelivery]:
        due = await WebhookDelivery.filter(
            Q(leased_until__isnull=True) | Q(leased_until__lt=now),
            state=WebhookState.PENDING, next_attempt_at__lte=now,
        ).order_by("next_attempt_at", "id").limit(BATCH)
        leased = []
        for row in due:
            taken = await WebhookDelivery.filter(
                Q(leased_until__isnull=True) | Q(leased_until__lt=now),
                id=row.id, state=WebhookState.PENDING,
            ).update(leased_until=now + timedelta(seconds=LEASE_SECONDS))
            if taken:
                leased.append(row)
        return leased

    async def _send(self, row: WebhookDelivery) -> str | None:
        """POST one call; None on success, else the error (short, no secrets)."""
        config = self._settings.moderation
        assert config.webhook_url
        body = json.dumps(
            {"id": row.id, "event": row.event, **row.payload}, ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        timestamp = int(self._clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign_body(config.webhook_secret, timestamp, body),
            EVENT_HEADER: row.event,
            DELIVERY_HEADER: str(row.id),
        }
        try:
            answer = await self._client.post(config.webhook_url, body, headers, sign=False,
                                             max_bytes=MAX_ANSWER_BYTES)
        except RemoteError as error:
            return f"{type(error).__name__}: {error.message}"[:255]
        if 200 <= answer.status < 300:
            return None
        return f"HTTP {answer.status}"

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Send one batch of due calls; with ``stop`` set, the calls not begun are given back."""
        if not self._settings.moderation.webhook_url:
            return 0
        now = self._clock()
        sent = 0
        host = urlsplit(self._settings.moderation.webhook_url).hostname
        leased = await self._lease(now)
        for index, row in enumerate(leased):
            if stop is not None and stop.is_set():
                await WebhookDelivery.filter(id__in=[r.id for r in leased[index:]]).update(
                    leased_until=None)
                break
            error = await self._send(row)
            row.attempts += 1
            row.leased_until = None
            if error is None:
                row.state = WebhookState.SENT
                row.finished_at = self._clock()
                row.last_error = ""
                sent += 1
                log.info("webhook %s (%s) delivered to %s", row.id, row.event, host)
            elif row.attempts >= MAX_ATTEMPTS:
                row.state = WebhookState.FAILED
                row.finished_at = self._clock()
                row.last_error = error
                log.warning("webhook %s (%s) to %s given up after %s attempts: %s",
                            row.id, row.event, host, row.attempts, error)
            else:
                row.next_attempt_at = now + retry_delay(row.attempts)
                row.last_error = error
                log.warning("webhook %s (%s) to %s failed (attempt %s): %s",
                            row.id, row.event, host, row.attempts, error)
            await row.save(update_fields=["attempts", "leased_until", "state", "finished_at",
                                          "last_error", "next_attempt_at"])
        return sent

    async def run_forever(self, stop: asyncio.Event | None = None, idle_seconds: float = 5.0) -> None:
        """Background loop: woken by new decisions, else polls every few seconds, until ``stop``
        (the call being sent is finished and recorded; the others are given back)."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.run_once(stop)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug or the database away: log, keep going
                log.exception("webhook worker cycle failed")
            waits = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waits, timeout=idle_seconds, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
            self.wake.clear()
