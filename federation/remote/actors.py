"""Remote actors kept in the database: fetched from their origin, upserted, keys cached on the row.

- :class:`RemoteActorStore` turns an actor id into a :class:`~federation.db.social.RemoteActor`
  row: a fresh row is used as is; otherwise the document is fetched with
  :func:`~federation.remote.fetch.fetch_ap_document` (AS media type, size and depth caps) and
  upserted. An actor is the document whose id it is: when its URL redirects to another
  document, no row stands in for it (checklist 36); only :meth:`RemoteActorStore.lookup`, for
  an address an administrator typed, follows the redirect to the actor it leads to. Failures are remembered for ``negative_ttl`` seconds
  (negative cache) so a flood naming a dead actor causes no fetch storm.
- :class:`DatabaseKeyCache` implements :class:`~federation.remote.keys.KeyCache` on the same
  rows, behind a small bounded in-memory layer: verified requests of known actors cost no query.
  A key is written to the row of the actor proven to own it, and only when its id is on that
  actor's origin (an actor never speaks for another origin's key ids); the row keeps one key (the
  last one that verified a request). A row holding a key id of another origin (written by an
  older release) is never read as that key.

Display names and handles are stored as plain text (markup removed, length capped): the UI
escapes them when it renders them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from federation.db import URI_LENGTH
from federation.db.social import RemoteActor
from federation.errors import BadRequest, RemoteBadResponse, RemoteError
from federation.protocol.handles import parse_handle
from federation.protocol.html import html_to_text
from federation.protocol.language import natural_text
from federation.protocol.uris import is_http_url, origin_of, same_origin
from federation.remote.client import HardenedClient
from federation.remote.fetch import fetch_ap_document
from federation.remote.keys import DEFAULT_NEGATIVE_TTL, MemoryKeyCache, RemoteKey, listed_keys
from federation.remote.webfinger import confirm_handle, lookup
from federation.signing.keys import load_public_key_pem, public_key_to_pem

logger = logging.getLogger(__name__)

#: Longest host name a RemoteActor row holds (DNS allows 253).
MAX_DOMAIN_LENGTH = 255

#: Actor types we accept as authors and followers.
ACTOR_TYPES = frozenset({"Person", "Group", "Organization", "Service", "Application"})
MAX_NAME_CHARS = 200
DEFAULT_REFRESH_AFTER = timedelta(hours=24)
MAX_NEGATIVE_ENTRIES = 10_000
#: Rows read recently are served from memory for this long (a Delete of the actor drops them).
ROW_CACHE_TTL = 60.0
MAX_CACHED_ROWS = 5_000
#: Actor documents fetched for a key, kept until the request they serve is verified.
MAX_PENDING = 1_000
PENDING_TTL = 120.0


def _plain(value: Any, limit: int = MAX_NAME_CHARS) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = html_to_text(value[: limit * 8])
    text = "".join(c for c in text if c.isprintable() or c == " ").strip()
    return text[:limit] or None


def _http_url(value: Any) -> str | None:
    return value if is_http_url(value) and len(value) <= URI_LENGTH else None


def _link(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("href")
    return _http_url(value)


def actor_fields(document: dict[str, Any]) -> dict[str, Any]:
    """The columns of a :class:`RemoteActor` from a fetched actor document.

    Raises :class:`RemoteBadResponse` when the document is not a usable actor (type, inbox).
    """
    uri = document["id"]
    kind = document.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if isinstance(k, str) and k in ACTOR_TYPES), None)
    if not isinstance(kind, str) or kind not in ACTOR_TYPES:
        raise RemoteBadResponse("document is not an actor")
    inbox = _http_url(document.get("inbox"))
    if inbox is None:
        raise RemoteBadResponse("actor has no usable inbox")
    endpoints = document.get("endpoints")
    shared = _http_url(endpoints.get("sharedInbox")) if isinstance(endpoints, dict) else None
    key_id, pem = None, None
    keys = {k: v for k, v in listed_keys(document).items() if is_http_url(k)}  # no CR/LF…
    if keys:
        key_id, key = next(iter(keys.items()))
        pem = public_key_to_pem(key)
    domain = origin_of(uri).host
    if len(domain) > MAX_DOMAIN_LENGTH:
        raise RemoteBadResponse("actor host name too long")
    return {
        "domain": domain,
        "inbox": inbox,
        "shared_inbox": shared,
        "username": _plain(document.get("preferredUsername"), 255),
        "name": _plain(natural_text(document, "name", MAX_NAME_CHARS * 8)[0]),
        "url": _link(document.get("url")),
        "type": kind,
        "key_id": key_id,
        "public_key_pem": pem,
    }


class RemoteActorStore:
    """Remote actor rows: read, fetched when missing or stale, upserted."""

    def __init__(
        self,
        client: HardenedClient,
        *,
        local_origin: str,
        refresh_after: timedelta = DEFAULT_REFRESH_AFTER,
        negative_ttl: float = DEFAULT_NEGATIVE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client, self._local_origin = client, local_origin
        self._refresh_after, self._negative_ttl, self._clock = refresh_after, negative_ttl, clock
        self._failures: dict[str, float] = {}
        self._pending: dict[str, tuple[float, dict[str, Any]]] = {}
        self._rows: dict[str, tuple[float, RemoteActor]] = {}

    async def get(self, uri: str) -> RemoteActor | None:
        """The row of ``uri`` if we know it (no fetch); recently read rows come from memory."""
        cached = self._rows.get(uri)
        if cached is not None and self._clock() - cached[0] < ROW_CACHE_TTL:
            return cached[1]
        row = await RemoteActor.get_or_none(uri=uri)
        if row is not None:
            self._cache_row(row)
        return row

    async def delete(self, uri: str) -> None:
        """Remove the row of ``uri`` (its replies, interactions and follows go with it)."""
        self._rows.pop(uri, None)
        self._pending.pop(uri, None)
        await RemoteActor.filter(uri=uri).delete()

    def _cache_row(self, row: RemoteActor) -> None:
        if len(self._rows) >= MAX_CACHED_ROWS:
            self._rows.pop(next(iter(self._rows)))
        self._rows[row.uri] = (self._clock(), row)

    def is_fresh(self, row: RemoteActor) -> bool:
        return row.fetched_at + self._refresh_after > datetime.now(UTC)

    async def ensure(self, uri: str, before_fetch: Callable[[], None] | None = None) -> RemoteActor:
        """A row for ``uri``: the known one when fresh, else fetched (the stale row if that fails).

        ``before_fetch`` runs just before a fetch (a budget may refuse it by raising). Raises
        :class:`RemoteError` (or a subclass) when nothing usable is known or fetched.
        """
        row = await self.get(uri)
        if row is not None and self.is_fresh(row):
            return row
        adopted = await self.adopt(uri)
        if adopted is not None:
            return adopted
        if before_fetch is not None:
            before_fetch()
        try:
            return await self.fetch(uri)
        except RemoteError:
            if row is not None:
                return row
            raise

    async def fetch_handle(self, text: str) -> RemoteActor:
        """The actor a handle names, once both hosts agree (:func:`confirm_handle`): fetched,
        upserted with the handle as its ``acct``. :class:`BadRequest` for a malformed handle or
        one naming our own actors; :class:`RemoteError` (or a subclass) when the handle is not
        confirmed or a fetch fails. Nothing is written before the handle is confirmed."""
        handle = parse_handle(text)
        uri = await lookup(self._client, handle)
        if same_origin(uri, self._local_origin):
            raise BadRequest("that is one of our own actors")
        document, fields = await self._fetch_fields(uri, exact=True)
        await confirm_handle(self._client, handle, document)
        acct = str(handle)
        await RemoteActor.filter(acct__iexact=acct).exclude(uri=document["id"]).update(acct=None)
        return await self.upsert(document["id"], {**fields, "acct": acct})

    async def fetch(self, uri: str) -> RemoteActor:
        """Fetch the actor ``uri`` from its origin and upsert its row.

        The document must be ``uri``'s own: a redirect to another id is refused
        (:class:`RemoteBadResponse`) and stores nothing. Refused while negatively cached.
        """
        document, fields = await self._fetch_fields(uri, exact=True)
        return await self.upsert(document["id"], fields)

    async def lookup(self, url: str) -> RemoteActor:
        """The actor an address leads to (a URL an administrator gave), redirects followed.

        The row is the final document's: its ``uri`` may differ from ``url``; callers use it.
        """
        document, fields = await self._fetch_fields(url, exact=False)
        return await self.upsert(document["id"], fields)

    async def _fetch_fields(self, uri: str, *, exact: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        """The actor document (its ``id`` proven) and its row's columns."""
        now = self._clock()
        failed_at = self._failures.get(uri)
        if failed_at is not None and now - failed_at < self._negative_ttl:
            raise RemoteError("actor fetch failed recently")
        try:
            fetched = await fetch_ap_document(self._client, uri, local_origin=self._local_origin,
                                              exact=exact)
            fields = actor_fields(fetched.document)
        except (RemoteError, ValueError) as exc:
            self._remember_failure(uri, now)
            logger.info("cannot fetch actor on %s: %s", _host(uri),
                        exc.message if isinstance(exc, RemoteError) else type(exc).__name__)
            if isinstance(exc, RemoteError):
                raise
            raise RemoteBadResponse("unusable actor document") from exc
        self._failures.pop(uri, None)
        return fetched.document, fields

    async def remember(self, document: dict[str, Any]) -> None:
        """Keep an actor document fetched elsewhere (the key resolver) for :meth:`adopt`.

        Nothing is written yet: the request that caused the fetch is not verified. The
        document's identity (its ``id``) was proven by :func:`fetch_ap_document`; an unusable actor (no
        inbox, not an actor type) is not kept. At most :data:`MAX_PENDING` documents, for
        ``pending_ttl`` seconds.
        """
        try:
            fields = actor_fields(document)
        except (RemoteError, ValueError):
            return
        now = self._clock()
        if len(self._pending) >= MAX_PENDING:
            self._pending = {u: p for u, p in self._pending.items() if now - p[0] < PENDING_TTL}
            while len(self._pending) >= MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
        self._pending[document["id"]] = (now, fields)

    async def adopt(self, uri: str) -> RemoteActor | None:
        """Store the document :meth:`remember` kept for ``uri`` (``None`` when there is none)."""
        entry = self._pending.pop(uri, None)
        if entry is None or self._clock() - entry[0] >= PENDING_TTL:
            return None
        self._failures.pop(uri, None)
        return await self.upsert(uri, entry[1])

    async def upsert(self, uri: str, fields: dict[str, Any]) -> RemoteActor:
        """Create or update the row of ``uri`` with ``fields`` (``fetched_at`` set to now)."""
        fields = {**fields, "fetched_at": datetime.now(UTC)}
        row = await RemoteActor.get_or_none(uri=uri)
        if row is None:
            try:
                row = await RemoteActor.create(uri=uri, **fields)
                self._cache_row(row)
                return row
            except IntegrityError:  # created concurrently: update that one
                row = await RemoteActor.get(uri=uri)
        await RemoteActor.filter(id=row.id).update(**fields)
        await row.refresh_from_db()
        self._cache_row(row)
        return row

    def _remember_failure(self, uri: str, now: float) -> None:
        if len(self._failures) >= MAX_NEGATIVE_ENTRIES:
            expired = [u for u, t in self._failures.items() if now - t >= self._negative_ttl]
            for stale in expired or list(self._failures)[: MAX_NEGATIVE_ENTRIES // 10]:
                del self._failures[stale]
        self._failures[uri] = now


def _host(uri: str) -> str:
    try:
        return origin_of(uri).host
    except ValueError:
        return "?"


class DatabaseKeyCache:
    """A :class:`~federation.remote.keys.KeyCache` on ``RemoteActor`` rows, memory in front."""

    def __init__(self, ttl: timedelta = DEFAULT_REFRESH_AFTER, *,
                 memory: MemoryKeyCache | None = None) -> None:
        self._ttl = ttl
        self._memory = memory or MemoryKeyCache(ttl.total_seconds())

    async def get(self, key_id: str) -> RemoteKey | None:
        cached = await self._memory.get(key_id)
        if cached is not None:
            return cached
        row = await self._row_holding(key_id)
        if row is None or row.public_key_pem is None:
            return None
        if row.fetched_at + self._ttl <= datetime.now(UTC):
            return None
        try:
            key = RemoteKey(key_id, row.uri, load_public_key_pem(row.public_key_pem))
        except ValueError:
            return None
        await self._memory.put(key)
        return key

    async def put(self, key: RemoteKey) -> None:
        if not same_origin(key.key_id, key.owner_uri):
            logger.warning("refused to cache a key id of another origin than its owner %s",
                           _host(key.owner_uri))
            return
        await self._memory.put(key)
        await RemoteActor.filter(uri=key.owner_uri).update(
            key_id=key.key_id, public_key_pem=public_key_to_pem(key.public_key)
        )

    async def forget(self, key_id: str) -> None:
        await self._memory.forget(key_id)

    async def known_owner(self, key_id: str) -> bool:
        """True when some actor row holds ``key_id`` (whatever its age): no fetch needed to know."""
        if await self._memory.get(key_id) is not None:
            return True
        return await self._row_holding(key_id) is not None

    @staticmethod
    async def _row_holding(key_id: str) -> RemoteActor | None:
        """The newest row holding ``key_id`` whose actor is on the key's origin."""
        try:
            host = origin_of(key_id).host
        except ValueError:
            return None
        rows = await RemoteActor.filter(key_id=key_id, domain=host).order_by("-fetched_at")
        return next((row for row in rows if same_origin(key_id, row.uri)), None)
