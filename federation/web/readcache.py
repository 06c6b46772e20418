"""Prepared answers to public GETs: rendered once, served as bytes, revalidated with 304s.

A public GET (actor, WebFinger, host-meta, NodeInfo, an object, a public activity, the outbox,
followers, following, featured, replies, likes, shares) is answered from a per-process cache
of prepared responses keyed by the path with its query and the representation asked for
(:func:`federation.web.negotiation.wants_activity_json`, or the raw ``Accept`` for host-meta).
Only answers that say ``Cache-Control: public`` are kept: an answer to one reader (a
non-public activity answered to its signed addressee, ``private, no-store``), an error (404,
410, 401) or a redirect is never stored, so what the cache serves is what everyone may read,
whoever asks. Public-ness is a property of the document (the activity's addressing), never of
the reader.

Every cached answer carries an ``ETag`` (a hash of its bytes) and a ``Last-Modified`` (the
first time these bytes were rendered); ``If-None-Match`` (or, without it,
``If-Modified-Since``) that still matches is answered 304 with no body. Concurrent requests for
a key not prepared yet wait for the one render under way (a burst on a new article renders it
once); only a prepared public answer is shared with them.

Invalidation: an entry lives at most ``[server] read_cache_seconds`` (default 5 s), which bounds
how long a write made by another process (``federation publish`` from the CLI, ``federation
worker``, this process's background loops) stays unseen. Every request of this process that can
write (any method but GET, HEAD, OPTIONS: the inbox, the publishing API, the admin forms) clears
the cache when it ends, and a render that began before such a clear is not stored (a
generation counter), so this process's own HTTP writes are seen at once. The cache is bounded
(:data:`MAX_BYTES`, least recently used first out). ``read_cache_seconds = 0`` turns it off.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime

from aiohttp import web
from multidict import CIMultiDict

#: At most this many bytes of bodies are kept per process (an outbox page is ~10-200 KB).
MAX_BYTES = 64 * 1024 * 1024

#: Validators (ETag, Last-Modified) remembered per key, across clears, so that new bytes always
#: get a later Last-Modified than the bytes a client may hold.
MAX_VALIDATORS = 65_536

#: Headers of the handler's answer kept with the body (the others are set per request).
_KEPT = ("Content-Type", "Cache-Control", "Vary", "Access-Control-Allow-Origin")

#: Headers a 304 repeats (RFC 9110 15.4.5).
_NOT_MODIFIED_KEPT = ("Cache-Control", "Vary", "ETag", "Last-Modified")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Prepared:
    """One rendered answer."""

    body: bytes
    headers: CIMultiDict[str]
    etag: str
    modified: int  # seconds since the epoch, for If-Modified-Since
    expires: float  # time.monotonic()

    def answer(self, request: web.Request) -> web.Response:
        """The prepared answer, or a 304 when the client's validator still matches."""
        if _not_modified(request, self):
            return web.Response(status=304, headers=CIMultiDict(
                (name, self.headers[name]) for name in _NOT_MODIFIED_KEPT
                if name in self.headers))
        return web.Response(body=self.body, headers=CIMultiDict(self.headers))


def _not_modified(request: web.Request, entry: Prepared) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")[:32]}
        return "*" in tags or entry.etag in tags
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        return False
    return entry.modified <= since.timestamp()


class ReadCache:
    """The per-process cache of prepared public answers (the rules are in the module's
    docstring)."""

    def __init__(self, seconds: float, max_bytes: int = MAX_BYTES) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.generation = 0
        self._entries: OrderedDict[tuple[str, str], Prepared] = OrderedDict()
        self._bytes = 0
        #: The renders under way, by key: requests for the same key wait for them.
        self.rendering: dict[tuple[str, str], asyncio.Future[Prepared | None]] = {}
        self._validators: OrderedDict[tuple[str, str], tuple[str, int]] = OrderedDict()
        #: Later than every Last-Modified forgotten with its key (see :meth:`_modified`).
        self._floor = 0

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    def get(self, key: tuple[str, str]) -> Prepared | None:
        """The live entry for ``key`` (an expired one stays until replaced or evicted)."""
        entry = self._entries.get(key)
        if entry is None or entry.expires < time.monotonic():
            return None
        self._entries.move_to_end(key)
        return entry

    def store(self, key: tuple[str, str], response: web.StreamResponse,
              generation: int) -> Prepared | None:
        """Keep ``response`` if it is a public 200 with a body rendered since the last clear;
        the prepared entry, or None when it is not kept."""
        if (not self.enabled or generation != self.generation or response.status != 200
                or not isinstance(response, web.Response)
                or not isinstance(response.body, bytes)
                or not response.headers.get("Cache-Control", "").startswith("public")):
            return None
        body = response.body
        etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._bytes -= len(previous.body)
        modified = self._modified(key, etag)
        headers = CIMultiDict((name, response.headers[name]) for name in _KEPT
                              if name in response.headers)
        headers["ETag"] = etag
        headers["Last-Modified"] = formatdate(modified, usegmt=True)
        entry = Prepared(body, headers, etag, modified, time.monotonic() + self.seconds)
        self._entries[key] = entry
        self._bytes += len(body)
        while self._bytes > self.max_bytes and self._entries:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted.body)
        return entry

    def _modified(self, key: tuple[str, str], etag: str) -> int:
        """The Last-Modified of ``etag`` at ``key``: the one it had if these are the bytes last
        rendered there, else later than every Last-Modified given there before (a client
        holding older bytes never gets a 304 for new ones, even within the same second)."""
        known = self._validators.pop(key, None)
        if known is not None and known[0] == etag:
            modified = known[1]
        else:
            modified = max(int(time.time()), known[1] + 1 if known is not None else self._floor)
        self._validators[key] = (etag, modified)
        if len(self._validators) > MAX_VALIDATORS:
            _, (_, forgotten) = self._validators.popitem(last=False)
            self._floor = max(self._floor, forgotten + 1)
        return modified

    def clear(self) -> None:
        """Forget every entry (a write was made); renders begun before are not stored. The
        validators stay (for :meth:`_modified`)."""
        self.generation += 1
        self._entries.clear()
        self._bytes = 0


#: The app's read cache (re-exported by :mod:`federation.web.state`).
READ_CACHE = web.AppKey("read_cache", ReadCache)

KeyFunction = Callable[[web.Request], str]


def cached(representation: KeyFunction) -> Callable[[Handler], Handler]:
    """Serve the handler's public answers from the app's :class:`ReadCache`, keyed by the path
    with its query and ``representation(request)`` (what else the answer depends on)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            cache = request.app[READ_CACHE]
            if not cache.enabled:
                return await handler(request)
            key = (request.path_qs, representation(request))
            entry = cache.get(key)
            if entry is not None:
                return entry.answer(request)
            rendering = cache.rendering.get(key)
            if rendering is not None:
                # one render per key at a time (a burst on a cold or expired entry); only a
                # prepared public answer is shared, else each request is answered for itself
                entry = await asyncio.shield(rendering)
                return entry.answer(request) if entry is not None else await handler(request)
            rendering = asyncio.get_running_loop().create_future()
            cache.rendering[key] = rendering
            entry = None
            try:
                generation = cache.generation
                response = await handler(request)
                entry = cache.store(key, response, generation)
            finally:
                del cache.rendering[key]
                rendering.set_result(entry)
            return response if entry is None else entry.answer(request)

        return wrapper

    return decorate


@web.middleware
async def invalidation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request that may write (not GET, HEAD or OPTIONS) clears the read cache when it ends,
    whatever its outcome."""
    if request.method in _SAFE_METHODS:
        return await handler(request)
    try:
        return await handler(request)
    finally:
        request.app[READ_CACHE].clear()
