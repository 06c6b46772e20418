"""The delivery worker: expands fanouts, claims due deliveries, POSTs them signed, records results.

:meth:`DeliveryWorker.run_once` does one deterministic cycle (tests drive it with a fake
clock); :meth:`DeliveryWorker.run_forever` keeps up to ``concurrency`` requests in flight,
claiming more as they finish, and on stop finishes what is in flight (within a grace period)
and gives back the leases of the rest.

Each delivery is a ``POST`` of the activity (``application/activity+json``), serialised once per
activity and cached with its ``Digest``, signed by the sender with draft-cavage over
``(request-target) host date digest``. A claimed batch is signed at once (one ``Date`` per
batch, one signing string per inbox), in-process or in the signing processes of
:mod:`federation.delivery.signer`; signatures are never reused (each covers its inbox).
At most ``per_host_concurrency`` requests go to one host at a time, and fewer when fewer do:
a host's claimed deliveries wait for its busy connection and go out back to back on it; a
second request slot opens only when they still wait :data:`SPILL_AFTER` later (a slow host, a
long queue) and neither is the event loop behind nor the process's CPU saturated (:class:`_Lane`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random as random_module
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
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
from federation.delivery.signer import DeliverySigner
from federation.errors import FederationError, NotFound, RemoteError, UnsafeURL
from federation.identity.directory import ActorDirectory, LocalActor
from federation.metrics import Metrics
from federation.remote.client import HardenedClient
from federation.settings import Settings
from federation.signing.cavage import PreparedPost, algorithm_label, host_header_for, http_date

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ACTIVITY_MEDIA_TYPE = "application/activity+json"
#: Bytes of an inbox's answer we read (we only need its status).
MAX_ANSWER_BYTES = 65_536
#: Activity bodies kept serialised in memory.
BODY_CACHE_SIZE = 64
#: Claimed jobs per host beyond the per-host concurrency (they wait for a request slot).
PER_HOST_QUEUE_FACTOR = 2
FANOUTS_PER_CYCLE = 4
FLUSH_INTERVAL = 0.1
SHUTDOWN_GRACE = 10.0
#: Seconds between two looks for jobs whose worker died (their lease expired).
RECLAIM_INTERVAL = 5.0
#: Seconds between two looks for new fanouts while deliveries are in flight.
EXPAND_INTERVAL = 0.25
#: Seconds a host's queued deliveries wait for its one busy connection before the host gets
#: another request slot (up to ``per_host_concurrency``): a host that answers fast clears its
#: queue on one warm connection; a slow one (a long round trip, a big queue) gets a second.
SPILL_AFTER = 0.05
#: No slot is added while the spill timers fire later than this on average (seconds): the
#: event loop is behind — the worker's CPU, not the host, is the bottleneck (10,000
#: deliveries to 2,000 loopback hosts: timers 1–45 ms late), and another connection per host
#: would cost CPU (~0.15 ms to open one) and bring nothing.
SPILL_MAX_LAG = 0.005
#: Weight of the latest lateness in its moving average.
LAG_WEIGHT = 0.25
#: No slot is added while the worker's process used at least this share of a core (its CPU
#: time over wall time, looked at no more often than every :data:`BUSY_WINDOW` seconds): a
#: saturated worker is what is slow, even when its loop is on time (its callbacks are short,
#: so its timers fire on time while it runs flat out: 10,000 deliveries to 2,000 loopback
#: hosts opened ~400 second connections that brought nothing).
BUSY_SHARE = 0.8
BUSY_WINDOW = 0.1
#: Seconds after which a host's waiting deliveries get another slot even while the loop is
#: behind (a hung host: its queue waits out one request timeout, not one per delivery).
SPILL_ANYWAY = 1.0


class _Lane:
    """A host's request slots: runners sending to it (``active``) and deliveries waiting (FIFO).

    A runner (one task) sends the host's deliveries one after another, back to back on the
    same connection, which the connector gives back warm; another runner starts only when
    deliveries still wait :data:`SPILL_AFTER` after the first of them queued (the ``timer``,
    due at ``due``; ``since``: when the queue began to wait for that slot).
    """

    __slots__ = ("active", "queue", "timer", "due", "since")

    def __init__(self) -> None:
        self.active = 0
        self.queue: deque[Delivery] = deque()
        self.timer: asyncio.TimerHandle | None = None
        self.due = self.since = 0.0


class _Flight:
    """The deliveries handed to the lanes and not settled yet, and the outcomes they came to.

    ``changed`` is set whenever an outcome arrives (the run loop's wake-up)."""

    __slots__ = ("jobs", "outcomes", "changed")

    def __init__(self, changed: asyncio.Event) -> None:
        self.jobs: dict[int, ClaimedJob] = {}
        self.outcomes: list[Outcome] = []
        self.changed = changed

    def settle(self, job: ClaimedJob, outcome: Outcome | None) -> None:
        """``job`` is done (``None``: it crashed; its lease expires and it is tried again)."""
        self.jobs.pop(job.id, None)
        if outcome is not None:
            self.outcomes.append(outcome)
        self.changed.set()

    def take(self) -> list[Outcome]:
        outcomes, self.outcomes = self.outcomes, []
        return outcomes


def utc_now() -> datetime:
    return datetime.now(UTC)


def serialise(document: object) -> bytes:
    """The wire form of an activity (compact UTF-8 JSON)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Body:
    """An activity as sent: its bytes, its sender and the parts of the signature it fixes."""

    data: bytes
    actor_db_id: int
    prepared: PreparedPost | None  # None: the sender is not configured any more


@dataclass(slots=True)
class Delivery:
    """A claimed job ready to POST (its URL and signed headers), or already decided."""

    job: ClaimedJob
    url: str = ""
    body: bytes = b""
    headers: dict[str, str] | None = None
    outcome: Outcome | None = None


def request_parts(inbox_url: str) -> tuple[str, str, str]:
    """(URL as sent, request target, Host header) of a POST to ``inbox_url`` whose origin the
    client does not vouch for (:meth:`HardenedClient.post_target`); ValueError if bad."""
    url = yarl.URL(inbox_url)
    if not url.absolute or not url.raw_host:
        raise ValueError("not an absolute URL")
    sent = str(url)
    return sent, url.raw_path_qs or "/", host_header_for(sent)


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
        metrics: Metrics | None = None,
        spill_after: float = SPILL_AFTER,
        cpu_clock: Callable[[], float] = time.process_time,
    ) -> None:
        self._metrics = metrics or Metrics()
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
        self._per_host = self._config.per_host_concurrency
        self._spill_after = spill_after
        self._lanes: dict[str, _Lane] = {}
        #: The lanes' runner tasks (one per request slot in use).
        self._runners: set[asyncio.Task[None]] = set()
        #: Slots opened because a host's queue waited (not handed over): for tests and benches.
        self.spills = 0
        #: How late the spill timers fired lately (seconds, a moving average): the loop's lag
        #: (it starts at the limit: the first timer's lateness decides).
        self._lag = SPILL_MAX_LAG
        #: The process's CPU clock, its reading and the time of that reading (monotonic), and
        #: whether the process was saturated (:data:`BUSY_SHARE`) between the last two
        #: (None: not looked at yet — the first look covers the time since the worker began).
        self._cpu_clock = cpu_clock
        self._cpu, self._cpu_at = cpu_clock(), time.monotonic()
        self._saturated: bool | None = None
        self._bodies: OrderedDict[int, Body] = OrderedDict()
        self._signer = DeliverySigner(directory, self._config.signing_processes)
        #: The deliveries counter of each verdict (``labels`` looked up once, not per delivery).
        self._counted = {verdict: self._metrics.deliveries.labels(verdict.value)
                         for verdict in Verdict}

    @property
    def owner(self) -> str:
        return self._tokens.owner

    # -- one cycle ------------------------------------------------------------------------

    async def expand_fanouts(self) -> int:
        """Claim and expand waiting fanouts; return how many were expanded."""
        now = self._clock()
        fanouts = await claim_fanouts(self._tokens.next(), now, self._lease, FANOUTS_PER_CYCLE)
        if fanouts:
            self._signer.start_soon()
        for fanout in fanouts:
            try:
                await expand(fanout, self._settings, self._directory, self._client, now)
            except NotFound as error:  # the sender is not configured any more
                log.warning("fanout %d cannot be expanded: %s", fanout.id, error.message)
        return len(fanouts)

    async def claim(self, limit: int) -> list[Delivery]:
        """Claim up to ``limit`` due deliveries, load their bodies and sign them."""
        jobs = await claim_deliveries(
            self._tokens.next(), self._clock(), self._lease, limit, per_host=self._per_host_claim,
        )
        if not jobs:
            return []
        await self._load_bodies(jobs)
        return await self._prepare(jobs)

    async def run_once(self) -> int:
        """Expand fanouts, then claim one batch and attempt it; return the work items done."""
        await self._directory.refresh_if_stale()
        await reclaim_expired(self._clock())
        expanded = await self.expand_fanouts()
        deliveries = await self.claim(min(self._config.batch_size, self._concurrency))
        flight = _Flight(asyncio.Event())
        for delivery in deliveries:
            self._dispatch(delivery, flight)
        while flight.jobs:
            await flight.changed.wait()
            flight.changed.clear()
        await record_outcomes(flight.take(), self._clock())
        return expanded + len(deliveries)

    def close(self) -> None:
        """Stop the signing processes (if any)."""
        self._signer.close()

    # -- one delivery ---------------------------------------------------------------------

    async def _load_bodies(self, jobs: list[ClaimedJob]) -> None:
        missing = {job.activity_id for job in jobs} - self._bodies.keys()
        if missing:
            rows = await OutboxActivity.filter(id__in=list(missing)).values_list(
                "id", "actor_id", "document"
            )
            for activity_id, actor_id, document in rows:
                self._bodies[activity_id] = self._body(serialise(document), actor_id)
        for job in jobs:
            if job.activity_id in self._bodies:
                self._bodies.move_to_end(job.activity_id)
        while len(self._bodies) > max(BODY_CACHE_SIZE, len({j.activity_id for j in jobs})):
            self._bodies.popitem(last=False)

    def _body(self, data: bytes, actor_db_id: int) -> Body:
        try:
            sender = self._sender(actor_db_id)
        except NotFound:
            return Body(data, actor_db_id, None)
        return Body(data, actor_db_id,
                    PreparedPost(data, sender.key_id, algorithm_label(sender.rsa_private)))

    async def _prepare(self, jobs: list[ClaimedJob]) -> list[Delivery]:
        """Each job with its URL and signed headers (one Date and one signing call per sender)."""
        date = http_date(datetime.now(UTC))  # the real time: receivers check it
        deliveries = [Delivery(job) for job in jobs]
        to_sign: dict[int, list[tuple[Delivery, bytes]]] = {}
        for delivery in deliveries:
            job = delivery.job
            body = self._bodies.get(job.activity_id)
            if body is None:
                delivery.outcome = Outcome(job, Decision(Verdict.FAILED), error="activity not found")
                continue
            if body.prepared is None:
                delivery.outcome = Outcome(job, Decision(Verdict.FAILED),
                                           error=f"no local actor with id {body.actor_db_id}")
                continue
            try:
                url, target, host = (self._client.post_target(job.inbox_url)
                                     or request_parts(job.inbox_url))
                message = body.prepared.signing_string(target, host, date)
            except ValueError as exc:  # an unparsable inbox URL
                delivery.outcome = Outcome(job, Decision(Verdict.FAILED),
                                           error=f"bad inbox URL: {exc}")
                continue
            delivery.url, delivery.body = url, body.data
            delivery.headers = {"Content-Type": ACTIVITY_MEDIA_TYPE, "Host": host, "Date": date,
                                "Digest": body.prepared.digest}
            to_sign.setdefault(job.activity_id, []).append((delivery, message))
        for activity_id, pending in to_sign.items():
            body = self._bodies[activity_id]
            assert body.prepared is not None
            sender = self._sender(body.actor_db_id)
            started = time.perf_counter()
            signatures = await self._signer.sign(sender, [message for _, message in pending])
            self._metrics.signed(len(signatures), time.perf_counter() - started)
            for (delivery, _), signature in zip(pending, signatures, strict=True):
                assert delivery.headers is not None
                delivery.headers["Signature"] = body.prepared.signature_header(signature)
        return deliveries

    @property
    def tracked_hosts(self) -> int:
        """Hosts the worker holds request slots for (those with deliveries in flight)."""
        return len(self._lanes)

    def _sender(self, actor_db_id: int) -> LocalActor:
        actor = self._directory.by_db_id(actor_db_id)  # the instance actor included
        if actor is None:
            raise NotFound(f"no local actor with id {actor_db_id}")
        return actor

    def _decide(self, job: ClaimedJob, status: int | None, retry_after: str | None) -> Decision:
        return decide(attempt=job.attempts, now=self._clock(), status=status,
                      retry_after=retry_after, max_attempts=self._config.max_attempts,
                      random=self._random)

    def _dispatch(self, delivery: Delivery, flight: _Flight) -> None:
        """Hand ``delivery`` to its host's lane: sent at once by a new runner when nothing goes
        to that host, else queued behind the host's runner (FIFO)."""
        job = delivery.job
        flight.jobs[job.id] = job
        if delivery.outcome is not None:  # decided before any request (a bad URL…)
            self._log(job, delivery.outcome)
            flight.settle(job, delivery.outcome)
            return
        # A host's lane lives while some delivery to it is sent or waits, and is dropped with
        # the last one: the worker keeps no entry for every host it ever delivered to.
        host = job.host
        lane = self._lanes.get(host)
        if lane is None:
            lane = self._lanes[host] = _Lane()
        lane.queue.append(delivery)
        if not lane.active:
            self._start_runner(host, lane, flight)
        elif lane.timer is None and lane.active < self._per_host:
            lane.since = asyncio.get_running_loop().time()
            self._arm(host, lane, flight)

    def _start_runner(self, host: str, lane: _Lane, flight: _Flight) -> None:
        lane.active += 1
        runner = asyncio.create_task(self._run_lane(host, lane, flight))
        self._runners.add(runner)
        runner.add_done_callback(self._runners.discard)

    async def _run_lane(self, host: str, lane: _Lane, flight: _Flight) -> None:
        """Send the host's queued deliveries one after another (one request slot)."""
        try:
            while lane.queue:
                delivery = lane.queue.popleft()
                try:
                    outcome = await self.attempt(delivery)
                except Exception:  # a bug: the job's lease expires and another attempt follows
                    log.exception("delivery %d crashed", delivery.job.id)
                    flight.settle(delivery.job, None)
                else:
                    flight.settle(delivery.job, outcome)
        finally:  # (cancelled at shutdown: what is still queued is given back by its caller)
            lane.active -= 1
            self._drop_if_unused(host, lane)

    async def attempt(self, delivery: Delivery) -> Outcome:
        """POST ``delivery`` to its inbox and decide what comes next (never raises)."""
        job = delivery.job
        assert delivery.headers is not None
        status, retry_after, error = None, None, None
        try:
            response = await self._client.post(
                delivery.url, delivery.body, delivery.headers, sign=False,
                max_bytes=MAX_ANSWER_BYTES, timeout=self._config.request_timeout,
            )
            status, retry_after = response.status, response.headers.get("Retry-After")
            if not 200 <= status < 300:
                error = f"status {status}"
        except UnsafeURL as exc:
            outcome = Outcome(job, Decision(Verdict.FAILED), error=exc.message)
            self._log(job, outcome)
            return outcome
        except RemoteError as exc:
            error = exc.message
        outcome = Outcome(job, self._decide(job, status, retry_after), status, error)
        self._log(job, outcome)
        return outcome

    def _spill(self, host: str, lane: _Lane, flight: _Flight) -> None:
        """The host's queue waited :data:`SPILL_AFTER`: one more runner (up to the cap), unless
        the event loop is behind (:data:`SPILL_MAX_LAG`) or the process's CPU is saturated
        (:data:`BUSY_SHARE`): then the worker, not the host, is what is slow, and a second
        connection would only cost CPU — the queue waits on, at most :data:`SPILL_ANYWAY`."""
        loop = asyncio.get_running_loop()
        lane.timer = None
        if lane.active >= self._per_host or self._lanes.get(host) is not lane or not lane.queue:
            return
        now = loop.time()
        self._lag += (max(now - lane.due, 0.0) - self._lag) * LAG_WEIGHT
        if (self._lag <= SPILL_MAX_LAG and not self._busy()) or now - lane.since >= SPILL_ANYWAY:
            lane.since = now
            self.spills += 1
            self._start_runner(host, lane, flight)
        if lane.queue and lane.active < self._per_host:
            self._arm(host, lane, flight)

    def _busy(self) -> bool:
        """Whether the worker's process is saturated (:data:`BUSY_SHARE`), as of its last
        look at its CPU clock (at most :data:`BUSY_WINDOW` old)."""
        now = time.monotonic()
        if self._saturated is None or now - self._cpu_at >= BUSY_WINDOW:
            cpu = self._cpu_clock()
            self._saturated = cpu - self._cpu >= (now - self._cpu_at) * BUSY_SHARE
            self._cpu, self._cpu_at = cpu, now
        return self._saturated

    def _arm(self, host: str, lane: _Lane, flight: _Flight) -> None:
        loop = asyncio.get_running_loop()
        lane.due = loop.time() + self._spill_after
        lane.timer = loop.call_at(lane.due, self._spill, host, lane, flight)

    def _drop_if_unused(self, host: str, lane: _Lane) -> None:
        if not lane.active:
            if lane.timer is not None:
                lane.timer.cancel()
                lane.timer = None
            if self._lanes.get(host) is lane:
                del self._lanes[host]

    def _log(self, job: ClaimedJob, outcome: Outcome) -> None:
        verdict = outcome.decision.verdict
        self._counted[verdict].inc()
        level = logging.DEBUG if verdict is Verdict.DELIVERED else logging.INFO
        if log.isEnabledFor(level):
            log.log(level, "delivery %d of activity %d to %s, attempt %d: %s%s", job.id,
                    job.activity_id, job.host, job.attempts, verdict.value,
                    f" ({outcome.error})" if outcome.error else "")

    # -- continuous operation -------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then finish in-flight requests or release them.

        Claiming and signing the next batch runs in the background while the requests of the
        previous ones are in flight (the signing processes and the event loop work at once).
        Claimed deliveries go to their hosts' lanes (:meth:`_dispatch`): one task per request
        slot in use, not one per delivery.
        """
        wakeup = asyncio.Event()
        flight = _Flight(wakeup)
        claiming: asyncio.Task[list[Delivery]] | None = None
        now = time.monotonic()
        # After a claim found nothing while requests are in flight, the next one waits for a
        # request to finish (a host may be under its limit again), new fanouts or the poll
        # interval: claiming again at once would query the database in a busy loop.
        claim_after = now
        flushed_at, reclaimed_at, expanded_at = now, now - RECLAIM_INTERVAL, now - EXPAND_INTERVAL
        finished: list[Outcome] = []

        log.info("delivery worker %s started (concurrency %d, %d signing process(es))",
                 self.owner, self._concurrency, self._signer.processes)
        try:
            while not stop.is_set():
                try:
                    await self._directory.refresh_if_stale()
                    if time.monotonic() - reclaimed_at >= RECLAIM_INTERVAL:
                        await reclaim_expired(self._clock())
                        reclaimed_at = time.monotonic()
                    if time.monotonic() - expanded_at >= EXPAND_INTERVAL or not flight.jobs:
                        if await self.expand_fanouts():
                            claim_after = 0.0
                        expanded_at = time.monotonic()
                    if claiming is not None and claiming.done():
                        claim_task, claiming = claiming, None
                        claimed = claim_task.result()
                        for delivery in claimed:
                            self._dispatch(delivery, flight)
                        if not claimed and not flight.jobs and not flight.outcomes:
                            await self._idle(stop)
                            continue
                        if not claimed:
                            claim_after = time.monotonic() + self._poll_interval
                    room = self._concurrency - len(flight.jobs)
                    if claiming is None and room > 0 and time.monotonic() >= claim_after and (
                            not flight.jobs or room >= self._concurrency // 4):
                        claiming = asyncio.create_task(
                            self.claim(min(room, self._config.batch_size)))
                        claiming.add_done_callback(lambda _: wakeup.set())
                    if not flight.outcomes and (flight.jobs or claiming is not None):
                        try:
                            async with asyncio.timeout(FLUSH_INTERVAL):
                                await wakeup.wait()
                        except TimeoutError:
                            pass
                    wakeup.clear()
                    if flight.outcomes:
                        finished += flight.take()
                        claim_after = 0.0
                    if finished and (not flight.jobs or len(finished) >= self._config.batch_size
                                     or time.monotonic() - flushed_at >= FLUSH_INTERVAL):
                        await record_outcomes(finished, self._clock())
                        finished, flushed_at = [], time.monotonic()
                except (FederationError, OSError) as error:  # network trouble
                    log.warning("delivery worker %s: %s", self.owner, error)
                    await self._idle(stop)
                # a database fault (PostgreSQL restarting, SQLite's disk full) ends the loop:
                # its supervisor (federation.web.background) waits it out and starts it again
        finally:
            unsent: list[ClaimedJob] = []
            if claiming is not None:
                try:
                    unsent = [delivery.job for delivery in await claiming]
                except Exception:  # its jobs come back when their lease expires
                    log.exception("delivery worker %s: the last claim failed", self.owner)
            await self._shutdown(flight, finished, unsent)
            self._signer.close()

    async def _idle(self, stop: asyncio.Event) -> None:
        try:
            await asyncio.wait_for(stop.wait(), timeout=self._poll_interval)
        except TimeoutError:
            pass

    async def _shutdown(self, flight: _Flight, finished: list[Outcome],
                        unsent: list[ClaimedJob]) -> None:
        """Let the lanes finish within the grace period, cancel the rest, give back the leases
        of what was not sent (queued, or cut off mid-request) and record the outcomes."""
        runners = set(self._runners)
        if runners:
            _, pending = await asyncio.wait(runners, timeout=self._shutdown_grace)
            for runner in pending:
                runner.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        unsent += flight.jobs.values()
        flight.jobs.clear()
        finished += flight.take()
        if unsent:
            released = await release_deliveries(unsent)
            log.info("delivery worker %s released %d lease(s)", self.owner, released)
        await record_outcomes(finished, self._clock())
        log.info("delivery worker %s stopped", self.owner)
