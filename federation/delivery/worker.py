"""The delivery worker: expands fanouts, claims due deliveries, POSTs them signed, records results.

:meth:`DeliveryWorker.run_once` does one deterministic cycle (tests drive it with a fake
clock); :meth:`DeliveryWorker.run_forever` keeps up to ``concurrency`` requests in flight,
claiming more as they finish, and on stop finishes what is in flight (within a grace period)
and gives back the leases of the rest.

Each delivery is a ``POST`` of the activity (``application/activity+json``), serialised once per
activity and cached, signed by the sender with draft-cavage over ``(request-target) host date
digest``. At most ``per_host_concurrency`` requests go to one host at a time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random as random_module
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import yarl

from federation.db.content import OutboxActivity
from federation.delivery.fanout import expand
from federation.delivery.outcomes import Outcome, record_outcomes
from federation.delivery.policy import Decision, Verdict, decide
from federation.delivery.queue import (
    ClaimedJob,
    LeaseTokens,
    claim_deliveries,
    claim_fanouts,
    reclaim_expired,
    release_deliveries,
)
from federation.errors import FederationError, NotFound, RemoteError, UnsafeURL
from federation.identity.directory import ActorDirectory, LocalActor
from federation.remote.client import HardenedClient
from federation.settings import Settings
from federation.signing.cavage import sign_request

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ACTIVITY_MEDIA_TYPE = "application/activity+json"
#: Bytes of an inbox's answer we read (we only need its status).
MAX_ANSWER_BYTES = 65_536
#: Activity bodies kept serialised in memory.
BODY_CACHE_SIZE = 64
#: Claimed jobs per host beyond the per-host concurrency (they wait for the semaphore).
PER_HOST_QUEUE_FACTOR = 2
FANOUTS_PER_CYCLE = 4
FLUSH_INTERVAL = 0.1
SHUTDOWN_GRACE = 10.0
#: Seconds between two looks for jobs whose worker died (their lease expired).
RECLAIM_INTERVAL = 5.0


def utc_now() -> datetime:
    return datetime.now(UTC)


def serialise(document: object) -> bytes:
    """The wire form of an activity (compact UTF-8 JSON)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class DeliveryWorker:
    """Delivers queued activities; several workers (processes) may share one database."""

    def __init__(
        self,
        settings: Settings,
        directory: ActorDirectory,
        client: HardenedClient,
        *,
        clock: Clock = utc_now,
        random: Callable[[], float] = random_module.random,
        owner: str | None = None,
        concurrency: int | None = None,
        poll_interval: float = 1.0,
        shutdown_grace: float = SHUTDOWN_GRACE,
    ) -> None:
        self._settings = settings
        self._config = settings.delivery
        self._directory = directory
        self._client = client
        self._clock = clock
        self._random = random
        self._tokens = LeaseTokens(owner)
        self._concurrency = concurrency or self._config.concurrency
        self._poll_interval = poll_interval
        self._shutdown_grace = shutdown_grace
        self._lease = timedelta(seconds=self._config.lease_seconds)
        self._per_host_claim = self._config.per_host_concurrency * PER_HOST_QUEUE_FACTOR
        self._host_limits: dict[str, asyncio.Semaphore] = {}
        self._bodies: OrderedDict[int, tuple[bytes, int]] = OrderedDict()
        self._busy: Counter[str] = Counter()

    @property
    def owner(self) -> str:
        return self._tokens.owner

    # -- one cycle ------------------------------------------------------------------------

    async def expand_fanouts(self) -> int:
        """Claim and expand waiting fanouts; return how many were expanded."""
        now = self._clock()
        fanouts = await claim_fanouts(self._tokens.next(), now, self._lease, FANOUTS_PER_CYCLE)
        for fanout in fanouts:
            try:
                await expand(fanout, self._settings, self._directory, self._client, now)
            except NotFound as error:  # the sender is not configured any more
                log.warning("fanout %d cannot be expanded: %s", fanout.id, error.message)
        return len(fanouts)

    async def claim(self, limit: int) -> list[ClaimedJob]:
        """Claim up to ``limit`` due deliveries and load their bodies."""
        jobs = await claim_deliveries(
            self._tokens.next(), self._clock(), self._lease, limit,
            busy=self._busy, per_host=self._per_host_claim,
        )
        if jobs:
            await self._load_bodies(jobs)
        return jobs

    async def run_once(self) -> int:
        """Expand fanouts, then claim one batch and attempt it; return the work items done."""
        await self._directory.refresh_if_stale()
        await reclaim_expired(self._clock())
        expanded = await self.expand_fanouts()
        jobs = await self.claim(min(self._config.batch_size, self._concurrency))
        outcomes = await asyncio.gather(*(self.attempt(job) for job in jobs))
        await record_outcomes(outcomes, self._clock())
        return expanded + len(jobs)

    # -- one delivery ---------------------------------------------------------------------

    async def _load_bodies(self, jobs: list[ClaimedJob]) -> None:
        missing = {job.activity_id for job in jobs} - self._bodies.keys()
        if missing:
            rows = await OutboxActivity.filter(id__in=list(missing)).values_list(
                "id", "actor_id", "document"
            )
            for activity_id, actor_id, document in rows:
                self._bodies[activity_id] = (serialise(document), actor_id)
        for job in jobs:
            if job.activity_id in self._bodies:
                self._bodies.move_to_end(job.activity_id)
        while len(self._bodies) > max(BODY_CACHE_SIZE, len({j.activity_id for j in jobs})):
            self._bodies.popitem(last=False)

    def _semaphore(self, host: str) -> asyncio.Semaphore:
        semaphore = self._host_limits.get(host)
        if semaphore is None:
            semaphore = asyncio.Semaphore(self._config.per_host_concurrency)
            self._host_limits[host] = semaphore
        return semaphore

    def _sender(self, actor_db_id: int) -> LocalActor:
        for actor in self._directory.all():
            if actor.db_id == actor_db_id:
                return actor
        raise NotFound(f"no local actor with id {actor_db_id}")

    def _decide(self, job: ClaimedJob, status: int | None, retry_after: str | None) -> Decision:
        return decide(attempt=job.attempts, now=self._clock(), status=status,
                      retry_after=retry_after, max_attempts=self._config.max_attempts,
                      random=self._random)

    async def attempt(self, job: ClaimedJob) -> Outcome:
        """POST ``job``'s activity to its inbox and decide what comes next (never raises)."""
        cached = self._bodies.get(job.activity_id)
        if cached is None:
            return Outcome(job, Decision(Verdict.FAILED), error="activity not found")
        body, actor_db_id = cached
        try:
            sender = self._sender(actor_db_id)
        except NotFound as error:
            return Outcome(job, Decision(Verdict.FAILED), error=error.message)
        async with self._semaphore(job.host):
            status, retry_after, error = None, None, None
            try:
                url = str(yarl.URL(job.inbox_url))
                headers = {"Content-Type": ACTIVITY_MEDIA_TYPE}
                headers.update(sign_request("POST", url, headers, body, sender.key_id,
                                            sender.rsa_private))
                async with asyncio.timeout(self._config.request_timeout):
                    response = await self._client.post(url, body, headers, sign=False,
                                                       max_bytes=MAX_ANSWER_BYTES)
                status, retry_after = response.status, response.headers.get("Retry-After")
                if not 200 <= status < 300:
                    error = f"status {status}"
            except UnsafeURL as exc:
                outcome = Outcome(job, Decision(Verdict.FAILED), error=exc.message)
                self._log(job, outcome)
                return outcome
            except (RemoteError, TimeoutError) as exc:
                error = exc.message if isinstance(exc, FederationError) else "timeout"
            except ValueError as exc:  # an unparsable inbox URL
                outcome = Outcome(job, Decision(Verdict.FAILED), error=f"bad inbox URL: {exc}")
                self._log(job, outcome)
                return outcome
        outcome = Outcome(job, self._decide(job, status, retry_after), status, error)
        self._log(job, outcome)
        return outcome

    def _log(self, job: ClaimedJob, outcome: Outcome) -> None:
        verdict = outcome.decision.verdict
        level = logging.DEBUG if verdict is Verdict.DELIVERED else logging.INFO
        if log.isEnabledFor(level):
            log.log(level, "delivery %d of activity %d to %s, attempt %d: %s%s", job.id,
                    job.activity_id, job.host, job.attempts, verdict.value,
                    f" ({outcome.error})" if outcome.error else "")

    # -- continuous operation -------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then finish in-flight requests or release them."""
        inflight: dict[asyncio.Task[Outcome], ClaimedJob] = {}
        finished: list[Outcome] = []
        flushed_at, reclaimed_at = time.monotonic(), time.monotonic() - RECLAIM_INTERVAL
        log.info("delivery worker %s started (concurrency %d)", self.owner, self._concurrency)
        try:
            while not stop.is_set():
                try:
                    await self._directory.refresh_if_stale()
                    if time.monotonic() - reclaimed_at >= RECLAIM_INTERVAL:
                        await reclaim_expired(self._clock())
                        reclaimed_at = time.monotonic()
                    await self.expand_fanouts()
                    room = self._concurrency - len(inflight)
                    if room > 0 and (not inflight or room >= self._concurrency // 4):
                        for job in await self.claim(min(room, self._config.batch_size)):
                            inflight[asyncio.create_task(self.attempt(job))] = job
                            self._busy[job.host] += 1
                    if inflight:
                        done, _ = await asyncio.wait(inflight, timeout=FLUSH_INTERVAL,
                                                     return_when=asyncio.FIRST_COMPLETED)
                        finished += self._collect(done, inflight)
                    if finished and (not inflight or len(finished) >= self._config.batch_size
                                     or time.monotonic() - flushed_at >= FLUSH_INTERVAL):
                        await record_outcomes(finished, self._clock())
                        finished, flushed_at = [], time.monotonic()
                    if not inflight:
                        await self._idle(stop)
                except (FederationError, OSError) as error:  # database or network trouble
                    log.warning("delivery worker %s: %s", self.owner, error)
                    await self._idle(stop)
        finally:
            await self._shutdown(inflight, finished)

    def _collect(self, done: set[asyncio.Task[Outcome]],
                 inflight: dict[asyncio.Task[Outcome], ClaimedJob]) -> list[Outcome]:
        outcomes = []
        for task in done:
            job = inflight.pop(task)
            self._busy[job.host] -= 1
            if self._busy[job.host] <= 0:
                del self._busy[job.host]
            if task.cancelled():
                continue
            error = task.exception()
            if error is None:
                outcomes.append(task.result())
            else:  # a bug: the job's lease expires and another attempt follows
                log.error("delivery %d crashed", job.id, exc_info=error)
        return outcomes

    async def _idle(self, stop: asyncio.Event) -> None:
        try:
            await asyncio.wait_for(stop.wait(), timeout=self._poll_interval)
        except TimeoutError:
            pass

    async def _shutdown(self, inflight: dict[asyncio.Task[Outcome], ClaimedJob],
                        finished: list[Outcome]) -> None:
        if inflight:
            done, pending = await asyncio.wait(inflight, timeout=self._shutdown_grace)
            finished += self._collect(done, inflight)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            unfinished = list(inflight.values())
            self._collect(set(pending), inflight)
            released = await release_deliveries(unfinished)
            log.info("delivery worker %s released %d lease(s)", self.owner, released)
        await record_outcomes(finished, self._clock())
        log.info("delivery worker %s stopped", self.owner)
