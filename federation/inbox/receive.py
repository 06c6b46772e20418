"""The receive pipeline: authenticate, then authorize by origin, then act (security principle 1).

The steps run in this order; each refuses with its own status and leaves nothing stored,
queued or fetched (the body size cap is enforced by the web handler, before buffering):

1. media type — ActivityStreams types or ``application/json`` (415);
2. a JSON object within depth and item budgets with ``id``, ``type`` and ``actor`` (400);
3. an HTTP signature, present and parseable: RFC 9421 when ``Signature-Input`` is present,
   draft-cavage otherwise (401);
4. the body digest (``Digest`` or ``Content-Digest``), the time window and the signed host
   (ours), all without any key (401);
5. the signer's domain and the actor's domain are not blocked (403, before any fetch);
6. a ``Delete`` from an actor we never knew is acknowledged (202) without fetching anything;
   its object id is kept as an unverified tombstone (:mod:`federation.inbox.deletions`);
7. the key, resolved by a signed GET through the hardened client, cached, refetched once when
   verification fails (401);
8. the key belongs to ``activity.actor`` — the actor document lists it (401);
9. the actor is not blocked (403); the activity id lives on the actor's origin (403);
10. the delivery engine learns the host is alive, and the processor stores the activity as a
    job (one insert; an activity id already stored is a duplicate), then acts on it: a
    listener's refusal (403, 429) deletes the job and is answered; a database fault is a 503
    and leaves the job to the engine (:mod:`federation.inbox.processor`).

LD signatures in bodies are never looked at (principle 7).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from federation.db.social import RemoteActor
from federation.errors import BadRequest, Forbidden, SignatureError, UnsupportedMediaType
from federation.inbox.blocks import BlockList
from federation.inbox.context import Activity, FetchBudget, InboxServices
from federation.inbox.deletions import UnverifiedDeletions
from federation.inbox.limits import InboxLimits
from federation.inbox.processor import Outcome, Processor
from federation.inbox.wire import id_of
from federation.jobs.worker import Task
from federation.metrics import Metrics
from federation.protocol.uris import origin_of, same_origin
from federation.remote.actors import DatabaseKeyCache
from federation.remote.jsonlimits import JSONLimitError, parse_json_limited
from federation.remote.keys import KeyResolver, RemoteKey
from federation.signing.cavage import (
    SignatureParams,
    check_request,
    verify_checked_request,
)
from federation.signing.headers import HeadersLike, header_value
from federation.signing.rfc9421 import (
    Rfc9421Params,
    check_request_rfc9421,
    detect_scheme,
    verify_checked_request_rfc9421,
)

logger = logging.getLogger(__name__)

#: Largest inbox body accepted (checklist item 27).
MAX_INBOX_BYTES = 1_000_000
#: Deepest JSON nesting accepted in an activity.
MAX_ACTIVITY_DEPTH = 32
#: Most JSON items (≈ commas) accepted in an activity.
MAX_ACTIVITY_ITEMS = 20_000
#: A host's liveness is reported to the delivery engine at most this often.
HOST_CONTACT_INTERVAL = 60.0
MAX_CONTACTED_HOSTS = 10_000
ACCEPTED_MEDIA_TYPES = frozenset({
    "application/activity+json", "application/ld+json", "application/json",
})

HostContacted = Callable[[str], Awaitable[Any]]
#: A cavage signature parsed and checked without its key (parameters, signing time).
Checked = tuple[SignatureParams, datetime] | tuple[Rfc9421Params, datetime]


class Scheme(StrEnum):
    CAVAGE = "cavage"
    RFC9421 = "rfc9421"


@dataclass(frozen=True)
class IncomingRequest:
    """An inbox POST as the web layer hands it over (body already read within the cap)."""

    method: str
    path_qs: str
    headers: HeadersLike
    body: bytes
    content_type: str


def parse_activity(content_type: str, body: bytes) -> dict[str, Any]:
    """Steps 1–2: the media type and a bounded JSON object with ``id``, ``type``, ``actor``."""
    if content_type.split(";", 1)[0].strip().lower() not in ACCEPTED_MEDIA_TYPES:
        raise UnsupportedMediaType("an inbox accepts ActivityStreams JSON only")
    try:
        document = parse_json_limited(body, max_depth=MAX_ACTIVITY_DEPTH, max_items=MAX_ACTIVITY_ITEMS)
    except JSONLimitError as exc:
        raise BadRequest(f"body refused: {exc}") from None
    if not isinstance(document, dict):
        raise BadRequest("an activity is a JSON object")
    if not isinstance(document.get("type"), str) or not document["type"]:
        raise BadRequest("activity without type")
    if id_of(document.get("id")) is None or not isinstance(document["id"], str):
        raise BadRequest("activity without id")
    actor = id_of(document.get("actor"))
    if actor is None:
        raise BadRequest("activity without actor")
    try:
        origin_of(actor)
        origin_of(document["id"])
    except ValueError:
        raise BadRequest("actor and id must be http(s) URIs") from None
    return document


class RecentHosts:
    """Hosts reported within the last ``interval`` seconds, at most ``max_hosts`` of them.

    :meth:`due` says whether a host should be reported now. Entries are kept in report order:
    those older than the interval (useless: the host is due again) are dropped from the front,
    and beyond ``max_hosts`` the oldest go, so many hosts at once never make every other host
    due again (which dropping all of them at once did).
    """

    def __init__(self, interval: float, max_hosts: int, clock: Callable[[], float]) -> None:
        self._interval, self._max, self._clock = interval, max_hosts, clock
        self._reported: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._reported)

    def due(self, host: str) -> bool:
        """True when ``host`` was not reported within the interval (it counts as reported now)."""
        now = self._clock()
        while self._reported:
            oldest, at = next(iter(self._reported.items()))
            if now - at < self._interval:
                break
            del self._reported[oldest]
        if host in self._reported:
            return False
        self._reported[host] = now
        while len(self._reported) > self._max:
            self._reported.popitem(last=False)
        return True


class Receiver:
    """Runs the pipeline for one request and hands verified activities to the processor."""

    def __init__(
        self,
        services: InboxServices,
        resolver: KeyResolver,
        keys: DatabaseKeyCache,
        processor: Processor,
        host_contacted: HostContacted | None = None,
        *,
        blocks: BlockList | None = None,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()
        self._services, self._resolver, self._keys = services, resolver, keys
        self._processor, self._host_contacted = processor, host_contacted
        self._settings = services.settings
        self._blocks = blocks or services.blocks
        self._contacted = RecentHosts(HOST_CONTACT_INTERVAL, MAX_CONTACTED_HOSTS, clock)
        self._unverified_deletions = UnverifiedDeletions(services.settings, clock=clock)

    @property
    def processor(self) -> Processor:
        return self._processor

    def inbox_task(self) -> Task:
        """The job engine's task running stored activities with this receiver's services."""
        return self._processor.task(self._services)

    @property
    def services(self) -> InboxServices:
        """The long-lived services the listeners use (blocks, limits, the followed actors)."""
        return self._services

    @property
    def limits(self) -> InboxLimits:
        """The per remote host limits the listeners count against."""
        return self._services.limits

    async def receive(self, request: IncomingRequest, inbox_owner: str | None = None) -> Outcome:
        """Verify and process ``request``; raise a :mod:`federation.errors` error to refuse it."""
        document = parse_activity(request.content_type, request.body)
        actor_uri = id_of(document["actor"])
        assert actor_uri is not None
        scheme, key_id, checked = self._check_signature(request)
        await self._refuse_blocked_domains(key_id, actor_uri)
        if document["type"] == "Delete" and not await self._knows(actor_uri, key_id):
            logger.info("Delete %s from an unknown actor acknowledged", document["id"])
            await self._unverified_deletions.record(document, actor_uri, key_id)
            return Outcome.IGNORED
        budget = FetchBudget(self._settings.inbox.max_fetches_per_activity)
        with self.metrics.timed_verification():
            key = await self._verified_key(request, scheme, key_id, budget, checked)
        if key.owner_uri != actor_uri:
            raise SignatureError("key_not_owned", "the signer is not the activity's actor")
        if (await self._blocks.current()).actor_blocked(actor_uri):
            raise Forbidden("actor blocked")
        if not same_origin(document["id"], actor_uri):
            raise Forbidden("activity id is not on the actor's origin")
        await self._report_contact(key_id)
        activity = Activity(document, actor_uri, self._services, budget, inbox_owner)
        return await self._processor.process(activity)

    async def verified_signer(self, method: str, path_qs: str, headers: HeadersLike) -> str:
        """The actor that signed a GET of one of our documents (authorized fetch): the same
        signature checks as an inbox POST without a body (host ours, time window, the key
        listed by its actor, fetched within the budget). :class:`SignatureError` (401) when it
        does not verify; :class:`Forbidden` for a blocked signer."""
        request = IncomingRequest(method, path_qs, headers, b"", "")
        scheme, key_id, checked = self._check_signature(request)
        await self._refuse_blocked_domains(key_id, key_id)
        budget = FetchBudget(self._settings.inbox.max_fetches_per_activity)
        key = await self._verified_key(request, scheme, key_id, budget, checked)
        await self._refuse_blocked_domains(key_id, key.owner_uri)
        if (await self._blocks.current()).actor_blocked(key.owner_uri):
            raise Forbidden("actor blocked")
        return key.owner_uri

    def _check_signature(self, request: IncomingRequest) -> tuple[Scheme, str, Checked]:
        """Steps 3–4: parse the signature, check digest, time and host — no key needed.

        What was parsed and checked is kept for step 7 (verified as is, not parsed and hashed
        again)."""
        detected = detect_scheme(request.headers)
        if detected is None:
            raise SignatureError("missing", "the request is not signed")
        host = self._settings.host
        if detected == "rfc9421":
            if (header_value(request.headers, "host") or "").strip().lower() != host:
                raise SignatureError("host_mismatch", "request addressed to another host")
            rfc9421 = check_request_rfc9421(request.headers, request.body)
            return Scheme.RFC9421, rfc9421[0].key_id, rfc9421
        checked = check_request(request.method, request.headers, expected_host=host,
                                body=request.body)
        return Scheme.CAVAGE, checked[0].key_id, checked

    async def _refuse_blocked_domains(self, key_id: str, actor_uri: str) -> None:
        """Step 5: the signer's and the actor's domains, configuration and Block rows."""
        try:
            hosts = {origin_of(key_id).host, origin_of(actor_uri).host}
        except ValueError:
            raise SignatureError("malformed", "keyId is not an http(s) URL") from None
        blocks = await self._blocks.current()
        if any(blocks.domain_blocked(host) for host in hosts):
            raise Forbidden("domain blocked")

    async def _report_contact(self, key_id: str) -> None:
        """Tell the delivery engine the signer's host is alive (once a minute per host)."""
        if self._host_contacted is None:
            return
        if self._contacted.due(str(origin_of(key_id))):
            await self._host_contacted(key_id)

    async def _knows(self, actor_uri: str, key_id: str) -> bool:
        return await self._keys.known_owner(key_id) or await RemoteActor.exists(uri=actor_uri)

    async def _verified_key(
        self, request: IncomingRequest, scheme: Scheme, key_id: str, budget: FetchBudget,
        checked: Checked,
    ) -> RemoteKey:
        """Step 7: resolve the key (fetch when unknown), verify, refetch once on failure."""
        cached = await self._keys.get(key_id)
        if cached is None:
            budget.spend()
        key = cached or await self._resolver.resolve(key_id)
        try:
            self._verify(request, scheme, key, checked)
            return key
        except SignatureError as error:
            if error.reason != "invalid" or cached is None:
                raise
        logger.info("cached key %s failed: refetching once", key_id)
        budget.spend()
        key = await self._resolver.resolve(key_id, refresh=True)
        self._verify(request, scheme, key, checked)
        return key

    def _verify(self, request: IncomingRequest, scheme: Scheme, key: RemoteKey, checked: Checked) -> None:
        params, signed_at = checked
        if isinstance(params, Rfc9421Params):
            url = self._settings.base_url + request.path_qs
            verify_checked_request_rfc9421(params, signed_at, request.method, url, request.headers,
                                           key.public_key)
        else:
            verify_checked_request(params, signed_at, request.method, request.path_qs,
                                   request.headers, key.public_key)
