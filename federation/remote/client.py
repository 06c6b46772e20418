"""The one hardened outbound HTTP client (security rule 8), built on aiohttp.

- Only ``http``/``https`` URLs without credentials, whose host has an origin
  (:func:`federation.protocol.uris.origin_of`); IP literals are checked before connecting —
  also one written so that it becomes an address once encoded (``１２７.0.0.1``).
- The client connects only where the origin checks look: a URL that aiohttp/yarl would read
  with another scheme, host or port than :func:`~federation.protocol.uris.origin_of` is refused
  (one host normalisation for both, checklist 37).
- Host names are checked at connect time by :class:`GuardedResolver`: the connector connects
  only to addresses that passed the check, so DNS cannot change between check and use.
- Redirects are followed by hand (GET only), each hop re-validated, at most ``max_redirects``.
- A POST (deliveries: never redirected) takes a short path (:meth:`HardenedClient._post_on`):
  a connection from the same connector as every other request (same resolver check,
  resolved address, TLS context, bound and idle pool), the request head written in one piece,
  the answer read by the connection's own aiohttp parser. It skips the per-request machinery
  of ``ClientSession`` (request and response objects, cookie jar, tracing, timers) that a
  delivery does not use.
- Bodies are capped while streaming, after decompression too (gzip bombs), with or without
  ``Content-Length``; one deadline covers every hop and the whole body.
- Every request may be signed by the ``signer`` hook (authorized fetch, deliveries).
- TLS is verified with a context built when the client opens its session
  (:func:`ssl.create_default_context`): the system's CAs, or those of ``SSL_CERT_FILE`` /
  ``SSL_CERT_DIR`` as set in the environment then (aiohttp's own default context is built when
  aiohttp is imported; ours follows the environment the client is opened in).
- At most ``limit`` connections are open at once, idle keep-alive ones included
  (:class:`BoundedConnector`): the process's sockets stay bounded however many hosts it talks to.

Errors: :class:`UnsafeURL`, :class:`RemoteTimeout`, :class:`RemoteTooLarge`,
:class:`RemoteBadResponse`, :class:`RemoteTLSError` (certificate not trusted, for another host,
expired, no TLS: named, never "cannot connect"), and :class:`RemoteError` for other connection
failures.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import re
import socket
import ssl
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict, CIMultiDictProxy

from federation.errors import (
    ConfigError,
    FederationError,
    Problem,
    RemoteBadResponse,
    RemoteError,
    RemoteTimeout,
    RemoteTLSError,
    RemoteTooLarge,
    UnsafeURL,
)
from federation.protocol.uris import (
    DEFAULT_PORTS,
    Origin,
    check_url_characters,
    never_resolves,
    normalise_host,
)
from federation.remote.addresses import is_allowed_address, parse_ip

logger = logging.getLogger(__name__)

#: A callable returning headers to add (e.g. ``Signature``) for (method, url, headers, body).
Signer = Callable[[str, str, Mapping[str, str], "bytes | None"], Mapping[str, str]]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_USER_AGENT = "federation/0.1 (ActivityPub publishing bridge)"
_READ_CHUNK = 65_536
#: Seconds between two firings of a client's deadline timer (:class:`_Deadlines`): how late a
#: request's deadline may be enforced when many pass at once.
DEADLINE_GRANULARITY = 0.01
#: Connection requests kept (one per origin POSTed to lately; only the connector reads them).
_CONNECT_REQUESTS = 4096
#: A header name (RFC 9110 token) and a value without CR, LF or NUL (no header injection).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
#: An authority every parser reads alike (no userinfo, no percent-encoding, no query or
#: fragment mark), and a path of plain segments (unreserved characters, none starting with a
#: dot: no dot segment) that yarl sends as written.
_PLAIN_AUTHORITY = re.compile(r"[A-Za-z0-9.:\[\]-]+\Z")
_PLAIN_PATH = re.compile(r"(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*/?\Z")
#: Origins POSTed to lately whose checks are done (a delivery's URL is checked per origin).
_PLACES = 4096


def split_plain_url(url: str) -> tuple[str, str] | None:
    """(``scheme://authority``, path) of an http(s) URL whose path is plain (see
    :data:`_PLAIN_PATH`), so that its checks and its parse are those of ``scheme://authority/``
    and its path is sent as written; ``None`` for any other URL (it takes the full parse)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ALLOWED_SCHEMES:
        return None
    slash = rest.find("/")
    if slash <= 0:
        return None
    authority, path = rest[:slash], rest[slash:]
    if not _PLAIN_AUTHORITY.match(authority) or not _PLAIN_PATH.match(path):
        return None
    return url[:len(scheme) + 3 + slash], path


@dataclass(frozen=True, slots=True)
class _Place:
    """Where POSTs to one origin go: the origin as sent (yarl's form, no trailing ``/``), the
    connector's key and request URL, and the ``Host`` of the head."""

    sent: str
    key: tuple[str, str, int | None]
    origin: yarl.URL
    host_port: str

    @classmethod
    def of(cls, target: yarl.URL) -> _Place:
        """The place of ``target``; ``sent`` is right for ``target``'s own path and, when that
        is ``/``, for every plain path (:func:`split_plain_url`)."""
        sent = str(target)
        sent = sent[:len(sent) - len(target.raw_path_qs)] if target.raw_path_qs else sent
        return cls(sent, (target.scheme, target.raw_host or "", target.port),
                   target.origin(), target.host_port_subcomponent or "")


_UNCHECKED = _Place("", ("", "", None), yarl.URL(), "")


@dataclass(frozen=True)
class ClientPolicy:
    """Limits of the outbound client. Loopback is refused unless explicitly allowed."""

    allow_loopback: bool = False
    max_redirects: int = 3
    total_timeout: float = 30.0
    connect_timeout: float = 10.0
    max_json_bytes: int = 1_000_000
    max_body_bytes: int = 10_000_000
    #: Connections open at once, idle keep-alive ones included.
    limit: int = 100
    limit_per_host: int = 4
    dns_cache_ttl: int = 10
    user_agent: str = DEFAULT_USER_AGENT


@dataclass(frozen=True)
class RemoteResponse:
    """A complete, size-capped answer: where it finally came from, status, headers, body."""

    final_url: str
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes = field(repr=False)

    @property
    def media_type(self) -> str:
        """The ``Content-Type`` without parameters, lower-cased ('' when absent)."""
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


class RefusedAddress(OSError):
    """Raised inside the connector when a host name resolves to a refused address."""


class GuardedResolver(AbstractResolver):
    """Wraps a resolver and refuses every answer that contains a non-public address."""

    def __init__(self, *, allow_loopback: bool, inner: AbstractResolver | None = None) -> None:
        self._allow_loopback = allow_loopback
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = aiohttp.ThreadedResolver()
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = parse_ip(result["host"])
            if address is None or not is_allowed_address(address, allow_loopback=self._allow_loopback):
                logger.info("refused connection to %s: resolves to a non-public address", host)
                raise RefusedAddress(f"{host} resolves to a private or reserved address")
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


def validate_url(url: str, *, allow_loopback: bool) -> Origin:
    """The origin of ``url`` if it may be fetched at all; :class:`UnsafeURL` otherwise."""
    try:
        check_url_characters(url)  # urlsplit would drop CR/LF/TAB: what we check is what we send
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, TypeError) as exc:
        raise UnsafeURL("unparsable URL") from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeURL(f"scheme {parts.scheme!r} is not allowed")
    if not parts.hostname:
        raise UnsafeURL("URL without host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("URL with credentials")
    if port == 0:
        raise UnsafeURL("port 0")
    try:  # origin_of(url), from the parts already split (one split per request, not three)
        scheme = parts.scheme.lower()
        origin = Origin(scheme, normalise_host(parts.hostname),
                        port if port is not None else DEFAULT_PORTS[scheme])
    except ValueError as exc:
        raise UnsafeURL("host name that cannot be compared as the client connects to it") from exc
    refusal = _literal_refusal(origin.host, allow_loopback)
    if refusal:
        raise UnsafeURL(refusal)
    if never_resolves(origin.host):  # the demo's instance: not even a DNS question
        raise UnsafeURL("a .invalid name never resolves (RFC 6761)")
    return origin


def _connected_origin(target: yarl.URL) -> Origin:
    """The origin aiohttp connects to for ``target`` (yarl's parse), normalised as ours."""
    if target.scheme not in ALLOWED_SCHEMES or not target.raw_host or target.port is None:
        raise ValueError("no origin")
    return Origin(target.scheme, normalise_host(target.raw_host), target.port)


@functools.lru_cache(maxsize=8192)
def _literal_refusal(hostname: str, allow_loopback: bool) -> str | None:
    """Why an IP literal host may not be contacted (None: allowed, or a name). Pure, cached."""
    address = parse_ip(hostname)
    if address is not None and not is_allowed_address(address, allow_loopback=allow_loopback):
        return f"address {address} is in a private or reserved range"
    return None


class _BodyReader:
    """Accumulates a body, decompressing if needed, refusing more than ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        if encoding in ("", "identity"):
            self._inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise RemoteBadResponse(f"unsupported Content-Encoding {encoding!r}")

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise RemoteTooLarge(f"body exceeds {self._limit} bytes")
        self._parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self._inflater is None:
            self._add(chunk)
            return
        data = chunk
        try:
            while data:
                out = self._inflater.decompress(data, self._limit - self._size + 1)
                self._add(out)
                data = self._inflater.unconsumed_tail
        except zlib.error as exc:
            raise RemoteBadResponse("corrupt compressed body") from exc

    def finish(self) -> bytes:
        if self._inflater is not None:
            try:
                self._add(self._inflater.flush())
            except zlib.error as exc:
                raise RemoteBadResponse("corrupt compressed body") from exc
        return b"".join(self._parts)


class BoundedConnector(aiohttp.TCPConnector):
    """A TCP connector with at most ``limit`` connections open, idle keep-alive ones included.

    aiohttp's ``limit`` counts only the connections in use: the idle ones it keeps for reuse
    (until ``keepalive_timeout``) come on top, one per host a process has talked to lately —
    thousands of sockets for a fanout to thousands of hosts. Here, before a new connection is
    made, idle connections are closed (those of the hosts idle longest first) until the ones in
    use, those being made and the idle ones fit in ``limit``.
    """

    #: Connections opened so far (a class default: aiohttp's ``__init__`` is not repeated here).
    connections_made = 0

    @property
    def open_connections(self) -> int:
        """Connections in use or being made, plus idle ones kept for reuse."""
        return len(self._acquired) + self.idle_connections

    @property
    def idle_connections(self) -> int:
        """Idle keep-alive connections kept for reuse."""
        return sum(map(len, self._conns.values()))

    def _close_idle_beyond_limit(self) -> bool:
        """Close idle connections until the new one fits in ``limit``; True if some were."""
        limit = self.limit
        if not limit:
            return False
        room = limit - len(self._acquired)  # the new connection is among the acquired already
        if self.limit_per_host and len(self._conns) * self.limit_per_host <= room:
            return False  # fast path: a host's idle pool never holds more than its limit
        excess = self.idle_connections - room
        closed = excess > 0
        for key in list(self._conns):  # hosts in the order their idle pools were started
            if excess <= 0:
                break
            idle = self._conns[key]
            while idle and excess > 0:
                protocol, _ = idle.popleft()
                protocol.close()
                excess -= 1
            if not idle:
                del self._conns[key]
        return closed

    async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> Any:
        if self._close_idle_beyond_limit():
            await asyncio.sleep(0)  # their sockets close before the new one opens
        self.connections_made += 1
        return await super()._create_connection(req, traces, timeout)


class _Deadlines:
    """The deadlines of a client's requests in flight, kept by one timer.

    ``asyncio.timeout`` gives each request a timer: a push on the event loop's heap, and its
    cancellation a pop later, each comparing timer handles in Python — ~6 µs a request with
    256 requests in flight (a delivery worker), on a delivery costing ~50 µs of the client.
    Here a request enters its task and deadline in a dict; one timer, due at the earliest
    deadline it knows of, cancels the tasks whose deadline has passed and is set again for
    the next (never sooner than :data:`DEADLINE_GRANULARITY` after it fired). The request
    turns that cancellation into :class:`RemoteTimeout` as ``asyncio.timeout`` turns its own
    into ``TimeoutError`` (:meth:`HardenedClient._request`). One request per task at a time.
    """

    __slots__ = ("_due", "_expired", "_timer", "_timer_at", "_loop")

    def __init__(self) -> None:
        self._due: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._loop: asyncio.AbstractEventLoop | None = None  # the timer's

    def enter(self, task: asyncio.Task[Any], deadline: float) -> None:
        self._due[task] = deadline
        # (a timer left on a loop that has ended, e.g. a client used by two asyncio.run
        # calls one after the other, would never fire: set it on this one)
        if deadline < self._timer_at or self._loop is not task.get_loop():
            self._arm(deadline)

    def leave(self, task: asyncio.Task[Any]) -> bool:
        """Forget ``task``'s deadline; True when it passed (the task was cancelled for it)."""
        self._due.pop(task, None)
        if task in self._expired:
            self._expired.discard(task)
            return True
        return False

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._loop = asyncio.get_running_loop()
        self._timer = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer, self._timer_at = None, math.inf
        now = asyncio.get_running_loop().time()
        following = math.inf
        for task, deadline in list(self._due.items()):
            if deadline <= now:
                del self._due[task]
                self._expired.add(task)
                task.cancel()
            elif deadline < following:
                following = deadline
        if following < math.inf:
            self._arm(max(following, now + DEADLINE_GRANULARITY))


class HardenedClient:
    """Outbound HTTP for everything: actors, keys, objects, WebFinger, media, deliveries."""

    def __init__(
        self,
        policy: ClientPolicy | None = None,
        signer: Signer | None = None,
        *,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.policy = policy or ClientPolicy()
        self._signer = signer
        self._inner_resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._default_headers = {"User-Agent": self.policy.user_agent,
                                 "Accept-Encoding": "gzip, deflate"}
        #: What the connector needs to open or reuse a connection, per origin (POST path).
        self._connect_requests: dict[tuple[str, str, int | None], aiohttp.ClientRequest] = {}
        #: Origins whose URL checks passed, by ``scheme://authority`` as written (POST path).
        self._places: dict[str, _Place | None] = {}
        self._deadlines = _Deadlines()
        self._heads = _HeadWriter(self._default_headers)

    async def __aenter__(self) -> HardenedClient:
        self._ensure_session()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = BoundedConnector(
                resolver=GuardedResolver(allow_loopback=self.policy.allow_loopback, inner=self._inner_resolver),
                limit=self.policy.limit,
                limit_per_host=self.policy.limit_per_host,
                ttl_dns_cache=self.policy.dns_cache_ttl,
                ssl=tls_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.policy.connect_timeout),
                headers=self._default_headers,
            )
            self._connect_requests.clear()
        return self._session

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def post_target(self, url: str) -> tuple[str, str, str] | None:
        """(URL as sent, request target, ``Host``) of a POST to ``url`` as :meth:`post` sends
        it — for a signature made before the request — when its origin's checks are done or
        pass now (once per origin: a delivery worker's inboxes share a few thousand origins).
        ``None`` when ``url`` takes the full path (not plain, or its origin is refused: the POST
        then raises the refusal)."""
        found = self._plain_place(url)
        if found is None:
            return None
        place, path = found
        return place.sent + path, path, place.host_port

    def _plain_place(self, url: str) -> tuple[_Place, str] | None:
        """The checked place and the path of ``url`` when it is plain and its origin passes
        the checks (done once per origin, :meth:`_check_place`); ``None`` otherwise."""
        plain = split_plain_url(url)
        if plain is None:
            return None
        place = self._places.get(plain[0], _UNCHECKED)
        if place is _UNCHECKED:
            place = self._check_place(plain[0])
        return None if place is None else (place, plain[1])

    async def get(
        self,
        url: str,
        *,
        accept: str = "application/activity+json",
        sign: bool = True,
        max_bytes: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> RemoteResponse:
        """GET ``url``, following up to ``max_redirects`` validated redirects."""
        extra = {"Accept": accept, **(headers or {})}
        return await self._request("GET", url, None, extra, sign, max_bytes, follow=True)

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        sign: bool = True,
        max_bytes: int | None = None,
        timeout: float | None = None,
    ) -> RemoteResponse:
        """POST ``body`` to ``url``. Redirects are not followed (the 3xx is returned).

        ``timeout`` (seconds) shortens the policy's ``total_timeout`` for this request.
        """
        return await self._request("POST", url, body, headers or {}, sign, max_bytes,
                                   follow=False, timeout=timeout)

    async def _request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        sign: bool,
        max_bytes: int | None,
        *,
        follow: bool,
        timeout: float | None = None,
    ) -> RemoteResponse:
        limit = self.policy.max_body_bytes if max_bytes is None else min(max_bytes, self.policy.max_body_bytes)
        session = self._ensure_session()
        deadline = self.policy.total_timeout if timeout is None else min(timeout, self.policy.total_timeout)
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        self._deadlines.enter(task, asyncio.get_running_loop().time() + deadline)
        timed_out = False
        try:
            try:
                for _hop in range(self.policy.max_redirects + 1):
                    response = await self._one_hop(session, method, url, body, headers, sign, limit)
                    location = response.headers.get("Location")
                    if not follow or response.status not in REDIRECT_STATUSES or not location:
                        return response
                    url = urljoin(url, location)
                    logger.debug("following redirect to host %s", urlsplit(url).hostname)
                raise UnsafeURL(f"more than {self.policy.max_redirects} redirects")
            finally:
                if self._deadlines.leave(task):  # the deadline passed: its cancellation is ours
                    timed_out = task.uncancel() <= cancelling  # and no other one came since
        except asyncio.CancelledError as exc:
            if timed_out:  # (as asyncio.timeout turns its cancellation into TimeoutError)
                raise RemoteTimeout(f"no complete answer within {deadline} s") from exc
            raise  # the caller's cancellation goes on

    async def _one_hop(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        sign: bool,
        limit: int,
    ) -> RemoteResponse:
        if method == "POST" and body is not None and not (sign and self._signer is not None):
            found = self._plain_place(url)
            if found is not None:  # a delivery: the origin's checks were done (or are now)
                place, path = found
                return await self._post(session, place, path, place.sent + path, body,
                                        headers, limit)
        origin = validate_url(url, allow_loopback=self.policy.allow_loopback)
        try:
            target = yarl.URL(url)  # signed and sent as parsed here (aiohttp keeps a URL as is)
            url = str(target)
            connected = _connected_origin(target)
        except (ValueError, TypeError) as exc:
            raise UnsafeURL("unparsable URL") from exc
        if connected != origin:
            raise UnsafeURL("the HTTP library reads this URL's origin differently")
        request_headers: Mapping[str, str] = headers
        if sign and self._signer is not None:
            request_headers = CIMultiDict(headers)
            request_headers.update(self._signer(method, url, request_headers, body))
        if method == "POST" and body is not None:
            return await self._post(session, _Place.of(target), target.raw_path_qs or "/", url,
                                    body, request_headers, limit)
        try:
            async with session.request(
                method, target, data=body, headers=request_headers, allow_redirects=False
            ) as response:
                length = response.content_length
                if length is not None and length > limit and method != "HEAD":
                    raise RemoteTooLarge(f"Content-Length {length} exceeds {limit} bytes")
                if length == 0:  # nothing to read (most inbox answers)
                    return RemoteResponse(str(response.url), response.status, response.headers, b"")
                encoding = response.headers.get("Content-Encoding", "").strip().lower()
                reader = _BodyReader(encoding, limit)
                async for chunk in response.content.iter_chunked(_READ_CHUNK):
                    reader.feed(chunk)
                return RemoteResponse(str(response.url), response.status, response.headers,
                                      reader.finish())
        except TimeoutError as exc:  # aiohttp's own connect timeout (a ClientError too)
            raise RemoteTimeout(f"timeout talking to {urlsplit(url).hostname}") from exc
        except aiohttp.ClientError as exc:
            raise _remote_error(url, exc) from exc

    def _check_place(self, origin: str) -> _Place | None:
        """The checks of every URL on ``origin`` (``scheme://authority``), done once: the
        checks of :meth:`_one_hop` on ``origin/``. ``None`` when they refuse it (the URL then
        takes the full path, which raises the same error)."""
        if len(self._places) >= _PLACES:
            self._places.clear()
        place = self._places[origin] = None  # refused: such URLs take the full path
        url = origin + "/"
        try:
            checked = validate_url(url, allow_loopback=self.policy.allow_loopback)
            target = yarl.URL(url)
            if _connected_origin(target) != checked:
                return None
            place = self._places[origin] = _Place.of(target)
        except (UnsafeURL, ValueError, TypeError):
            pass
        return place

    async def _post(self, session: aiohttp.ClientSession, place: _Place, path_qs: str, url: str,
                    body: bytes, headers: Mapping[str, str], limit: int) -> RemoteResponse:
        """:meth:`_post_on`, its aiohttp errors named as every request's."""
        try:
            return await self._post_on(session, place, path_qs, url, body, headers, limit)
        except TimeoutError as exc:  # aiohttp's own connect timeout (a ClientError too)
            raise RemoteTimeout(f"timeout talking to {urlsplit(url).hostname}") from exc
        except aiohttp.ClientError as exc:
            raise _remote_error(url, exc) from exc

    async def _post_on(
        self,
        session: aiohttp.ClientSession,
        place: _Place,
        path_qs: str,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        limit: int,
    ) -> RemoteResponse:
        """POST ``body`` to ``url`` (``path_qs`` on ``place``) on a connection of the session's
        connector.

        The connection is the one ``session.request`` would use (the connector's pool and
        bound, :class:`GuardedResolver`, the TLS context), and the answer is parsed by the
        connection's own protocol; the same aiohttp exceptions come out of both. The head
        carries what ``session.request`` sends: ``Host``, the session's ``User-Agent`` and
        ``Accept-Encoding``, ``headers``, ``Accept: */*`` and ``Content-Length``. A
        connection whose answer was not read to its end (cap, error, cancellation) is closed.
        """
        connector = session.connector
        assert connector is not None
        request = self._connect_requests.get(place.key)
        if request is None:
            if len(self._connect_requests) >= _CONNECT_REQUESTS:
                self._connect_requests.clear()
            request = self._connect_requests[place.key] = aiohttp.ClientRequest(
                "POST", place.origin, loop=asyncio.get_running_loop())
        head = self._heads.head(place.host_port, path_qs, headers, len(body))
        connection = await connector.connect(request, [], session.timeout)
        try:
            protocol = connection.protocol
            if protocol is None or protocol.transport is None:
                raise aiohttp.ServerDisconnectedError()
            protocol.set_response_params(auto_decompress=False, read_bufsize=_READ_CHUNK)
            protocol.transport.write(head + body)
            while True:
                message, payload = await protocol.read()
                if not 100 <= message.code < 200 or message.code == 101:
                    break  # 1xx informational answers precede the answer (as aiohttp skips them)
            status, answer_headers = message.code, message.headers
            if status == 101:  # a protocol switch nobody asked for: nothing more to read here
                connection.close()
                return RemoteResponse(url, status, answer_headers, b"")
            length = answer_headers.get("Content-Length")
            if length == "0":  # most inbox answers: the parser has ended the (empty) body
                data = b""
            else:
                if length is not None and length.isdigit() and int(length) > limit:
                    raise RemoteTooLarge(f"Content-Length {length} exceeds {limit} bytes")
                reader = _BodyReader(answer_headers.get("Content-Encoding", "").strip().lower(),
                                     limit)
                while chunk := await payload.readany():
                    reader.feed(chunk)
                data = reader.finish()
        except BaseException:
            connection.close()
            raise
        connection.release()  # back to the pool unless the answer or the protocol said close
        return RemoteResponse(url, status, answer_headers, data)


class _HeadWriter:
    """Heads of POSTs as ``ClientSession`` writes them with the client's default headers.

    What a set of header names makes of the head — names checked as tokens, ``Host`` given
    or not, the defaults not overridden, ``Accept`` added or not — is worked out once per set
    (a delivery worker sends the same five names every time); each head then only checks the
    values and joins them.
    """

    #: Sets of header names kept.
    SHAPES = 256

    __slots__ = ("_defaults", "_shapes")

    def __init__(self, defaults: Mapping[str, str]) -> None:
        self._defaults = dict(defaults)
        #: names → (the name giving Host or "", default lines, names not written, Accept?)
        self._shapes: dict[tuple[str, ...], tuple[str, list[str], frozenset[str], bool]] = {}

    def head(self, host: str, path_qs: str, headers: Mapping[str, str], length: int) -> bytes:
        """The head of a POST of ``length`` bytes to ``path_qs`` on ``host`` (``Host`` unless
        ``headers`` give one). ``ValueError`` for a header name that is not a token or a value
        with CR, LF or NUL."""
        names = tuple(headers)
        shape = self._shapes.get(names)
        if shape is None:
            shape = self._shape(names)
        if _BAD_VALUE.search("".join(headers.values())):  # one search: a value has CR, LF or NUL
            bad = next(name for name, value in headers.items() if _BAD_VALUE.search(value))
            raise ValueError(f"header {bad[:40]!r}: CR, LF or NUL in its value")
        host_name, default_lines, skipped, accept = shape
        head = [f"POST {path_qs} HTTP/1.1", f"Host: {headers[host_name] if host_name else host}",
                *default_lines,
                *[f"{name}: {value}" for name, value in headers.items() if name not in skipped]]
        if accept:
            head.append("Accept: */*")
        head.append(f"Content-Length: {length}\r\n\r\n")
        return "\r\n".join(head).encode("utf-8")

    def _shape(self, names: tuple[str, ...]) -> tuple[str, list[str], frozenset[str], bool]:
        host_name, skipped, given = "", set(), set()
        for name in names:
            if not _HEADER_NAME.match(name):
                raise ValueError(f"header name {name[:40]!r} is not a token")
            lowered = name.lower()
            given.add(lowered)
            if lowered == "host":
                host_name = name
            if lowered in ("host", "content-length"):  # written by the head itself
                skipped.add(name)
        default_lines = [f"{name}: {value}" for name, value in self._defaults.items()
                         if name.lower() not in given]
        shape = (host_name, default_lines, frozenset(skipped), "accept" not in given)
        if len(self._shapes) >= self.SHAPES:
            self._shapes.clear()
        self._shapes[names] = shape
        return shape


def _remote_error(url: str, exc: aiohttp.ClientError) -> FederationError:
    """The error a request to ``url`` raises for aiohttp's ``exc`` (module docstring)."""
    host = urlsplit(url).hostname or ""
    if isinstance(exc, aiohttp.ClientConnectorError):
        if _caused_by_refusal(exc):
            return UnsafeURL(f"{host} resolves to a refused address")
        tls = tls_failure(host, exc)
        if tls is not None:
            return RemoteTLSError(tls)
        return RemoteError(f"cannot connect to {host}{_os_reason(exc)}")
    if isinstance(exc, aiohttp.InvalidURL):
        return UnsafeURL("invalid URL")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return RemoteBadResponse("truncated or invalid body")
    tls = tls_failure(host, exc)
    if tls is not None:
        return RemoteTLSError(tls)
    return RemoteError(f"request to {host} failed: {type(exc).__name__}")


def tls_context() -> ssl.SSLContext:
    """The verifying context of outbound HTTPS (:func:`verifying_context`), HTTP/1.1 only, as
    aiohttp's own."""
    context = verifying_context()
    context.set_alpn_protocols(("http/1.1",))
    return context


def verifying_context() -> ssl.SSLContext:
    """A client context that checks certificates and host names, from the environment as it
    is now — outbound HTTPS and the moderators' SMTP (``moderation/mail.py``) trust the same
    authorities.

    :func:`ssl.create_default_context` loads the system's CAs — or, when set, the file named by
    ``SSL_CERT_FILE`` *instead of* the system bundle file and the directory ``SSL_CERT_DIR``
    instead of the system's directory (OpenSSL's rules).

    A ``SSL_CERT_FILE`` that cannot be read or holds no certificate would make every TLS
    peer fail (OpenSSL ignores it silently): :class:`ConfigError` instead.
    """
    cafile = os.environ.get("SSL_CERT_FILE")
    if cafile and not (os.path.isfile(cafile) and os.access(cafile, os.R_OK)):
        raise ConfigError("the environment", [Problem(
            "SSL_CERT_FILE", f"{cafile!r} is not a readable file (the CA bundle to trust)")])
    context = ssl.create_default_context()
    if cafile and not context.cert_store_stats()["x509"]:
        raise ConfigError("the environment", [Problem(
            "SSL_CERT_FILE", f"{cafile!r} holds no certificate (PEM) to trust")])
    return context


def tls_failure(host: str, exc: BaseException) -> str | None:
    """What went wrong in TLS with ``host``, in words, if ``exc`` was caused by TLS; else None.

    Certificate failures name OpenSSL's reason (``self-signed certificate``, ``Hostname
    mismatch…``, ``certificate has expired``, ``unable to get local issuer certificate``);
    other TLS failures name the handshake's (``wrong version number``: not TLS on that port).
    """
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        # aiohttp's own exceptions also derive from ssl's classes: read what they carry.
        candidates = [c for c in (getattr(seen, "certificate_error", None),
                                  getattr(seen, "os_error", None), seen)
                      if not isinstance(c, aiohttp.ClientError)]
        for candidate in candidates:
            if isinstance(candidate, ssl.SSLCertVerificationError):
                reason = (candidate.verify_message or candidate.reason or "unknown reason").rstrip(".")
                hint = _UNTRUSTED_HINT if candidate.verify_code in _UNTRUSTED_CODES else ""
                return f"TLS certificate verification failed for {host}: {reason}{hint}"
        for candidate in candidates:
            if isinstance(candidate, ssl.SSLError):
                reason = (candidate.reason or str(candidate)).lower().replace("_", " ")
                return f"TLS handshake with {host} failed: {reason}"
        seen = seen.__cause__ or seen.__context__
    return None


#: OpenSSL's X509_V_ERR_* codes of a certificate from an unknown authority.
_UNTRUSTED_CODES = frozenset({
    18,  # DEPTH_ZERO_SELF_SIGNED_CERT
    19,  # SELF_SIGNED_CERT_IN_CHAIN
    20,  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21,  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
})
_UNTRUSTED_HINT = " (not issued by a trusted authority; a private CA is trusted via SSL_CERT_FILE)"


def _os_reason(exc: aiohttp.ClientConnectorError) -> str:
    """``: connection refused`` and the like, from the underlying OS error (if any)."""
    error = exc.os_error
    if not isinstance(error, OSError):
        return ""
    if isinstance(error.errno, int) and error.errno > 0 and not isinstance(error, socket.gaierror):
        text = os.strerror(error.errno)  # "Connection refused", not asyncio's "Connect call failed (…)"
    else:
        text = error.strerror or ""
    return f": {text.lower()}" if text else ""


def _caused_by_refusal(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, RefusedAddress) or isinstance(getattr(seen, "os_error", None), RefusedAddress):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
