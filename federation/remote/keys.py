"""Remote public keys: fetched by ``keyId``, owned by the actor that lists them, cached.

Security principle 2: a key belongs to an actor only if the actor's own document lists it. When
``keyId`` names a separate key document, its ``owner`` is fetched and must list that key id.
Principle 10: refetches per document are bounded per interval, and failures are remembered for
``negative_ttl`` seconds (negative cache), so a flood of bad signatures causes no fetch storm.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from federation.errors import RemoteError, SignatureError
from federation.protocol.uris import same_uri, strip_fragment
from federation.remote.client import HardenedClient
from federation.remote.fetch import fetch_ap_document
from federation.signing.keys import PublicKey, load_ed25519_multibase, load_public_key_pem

logger = logging.getLogger(__name__)

DEFAULT_TTL = 24 * 3600.0
DEFAULT_NEGATIVE_TTL = 300.0
#: Fetches of one document allowed per ``negative_ttl`` interval (first fetch + one refetch).
MAX_FETCHES_PER_INTERVAL = 2
MAX_CACHED_KEYS = 10_000
MAX_KEYS_PER_ACTOR = 16
#: A longer key id is no key of ours to keep (it could not be stored, nor sent as a keyId).
MAX_KEY_ID_LENGTH = 2048


@dataclass(frozen=True)
class RemoteKey:
    """A public key and the actor proven to own it."""

    key_id: str
    owner_uri: str
    public_key: PublicKey


class KeyCache(Protocol):
    """Where resolved keys are kept (in memory here; the database later)."""

    async def get(self, key_id: str) -> RemoteKey | None: ...

    async def put(self, key: RemoteKey) -> None: ...

    async def forget(self, key_id: str) -> None: ...


class MemoryKeyCache:
    """A bounded in-memory key cache whose entries expire after ``ttl`` seconds."""

    def __init__(self, ttl: float = DEFAULT_TTL, *, max_entries: int = MAX_CACHED_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._max, self._clock = ttl, max_entries, clock
        self._entries: dict[str, tuple[float, RemoteKey]] = {}

    async def get(self, key_id: str) -> RemoteKey | None:
        entry = self._entries.get(key_id)
        if entry is None or entry[0] <= self._clock():
            self._entries.pop(key_id, None)
            return None
        return entry[1]

    async def put(self, key: RemoteKey) -> None:
        if len(self._entries) >= self._max and key.key_id not in self._entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key.key_id] = (self._clock() + self._ttl, key)

    async def forget(self, key_id: str) -> None:
        self._entries.pop(key_id, None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return (value if isinstance(value, list) else [value])[:MAX_KEYS_PER_ACTOR]


def find_listed_key(actor: dict[str, Any], key_id: str) -> PublicKey | None:
    """The key ``key_id`` if ``actor`` lists it in ``publicKey`` or ``assertionMethod``.

    A listed key whose ``owner``/``controller`` names someone else is not the actor's; a listed
    key that does not parse (PEM, multibase) raises :class:`SignatureError` ``key_unavailable``.
    """
    try:
        return _listed_key(actor, key_id)
    except ValueError:
        raise SignatureError("key_unavailable", "the actor lists this key in an unreadable form") from None


def _listed_key(actor: dict[str, Any], key_id: str) -> PublicKey | None:
    actor_id = actor.get("id")
    for entry in _as_list(actor.get("publicKey")):
        if isinstance(entry, dict) and entry.get("id") == key_id:
            if entry.get("owner", actor_id) != actor_id:
                return None
            pem = entry.get("publicKeyPem")
            return load_public_key_pem(pem) if isinstance(pem, str) else None
    for entry in _as_list(actor.get("assertionMethod")):
        if isinstance(entry, dict) and entry.get("id") == key_id and entry.get("type") == "Multikey":
            if entry.get("controller", actor_id) != actor_id:
                return None
            value = entry.get("publicKeyMultibase")
            return load_ed25519_multibase(value) if isinstance(value, str) else None
    return None


def listed_keys(actor: dict[str, Any]) -> dict[str, PublicKey]:
    """Every usable key ``actor`` lists as its own, by key id (unusable entries skipped)."""
    found: dict[str, PublicKey] = {}
    for entry in _as_list(actor.get("publicKey")) + _as_list(actor.get("assertionMethod")):
        key_id = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(key_id, str) and len(key_id) <= MAX_KEY_ID_LENGTH and key_id not in found:
            try:
                key = find_listed_key(actor, key_id)
            except SignatureError:
                continue
            if key is not None:
                found[key_id] = key
    return found


def _is_actor(document: dict[str, Any]) -> bool:
    return isinstance(document.get("inbox"), str)


class KeyResolver:
    """Resolves ``keyId`` to a :class:`RemoteKey` through the hardened client and a cache."""

    def __init__(
        self,
        client: HardenedClient,
        ttl: float = DEFAULT_TTL,
        negative_ttl: float = DEFAULT_NEGATIVE_TTL,
        *,
        cache: KeyCache | None = None,
        local_origin: str | None = None,
        max_fetches: int = MAX_FETCHES_PER_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        on_actor: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
        max_documents: int = MAX_CACHED_KEYS,
    ) -> None:
        """``on_actor`` receives every actor document fetched (e.g. to store it: no refetch).

        Fetch budgets and failures are remembered for at most ``max_documents`` documents
        each: the expired ones are forgotten first, then the oldest."""
        self._client = client
        self._on_actor = on_actor
        self._cache: KeyCache = cache or MemoryKeyCache(ttl, clock=clock)
        self._negative_ttl, self._max_fetches, self._clock = negative_ttl, max_fetches, clock
        self._local_origin = local_origin
        self._fetches: dict[str, list[float]] = {}
        self._failures: dict[str, float] = {}
        self._max_documents = max_documents

    async def resolve(self, key_id: str, refresh: bool = False) -> RemoteKey:
        """The key ``key_id``; ``refresh=True`` after a failed verification asks for a refetch.

        A refetch beyond the budget returns the cached key (or fails) without any fetch.
        Raises :class:`SignatureError` (``key_unavailable`` or ``key_not_owned``).
        """
        cached = await self._cache.get(key_id)
        if cached is not None and not refresh:
            return cached
        document_url = strip_fragment(key_id)
        now = self._clock()
        failed_at = self._failures.get(document_url)
        if failed_at is not None and now - failed_at < self._negative_ttl:
            raise SignatureError("key_unavailable", "key fetch failed recently")
        if not self._take_budget(document_url, now):
            if cached is not None:
                return cached
            raise SignatureError("key_unavailable", "key refetch budget exhausted")
        try:
            key, siblings = await self._fetch(key_id, document_url)
        except (RemoteError, ValueError) as exc:
            self._failed(document_url, now)
            logger.info("cannot resolve key of %s: %s", document_url, type(exc).__name__)
            raise SignatureError("key_unavailable", "key cannot be fetched") from exc
        except SignatureError:
            self._failed(document_url, now)
            raise
        self._failures.pop(document_url, None)
        for sibling in siblings:
            await self._cache.put(sibling)
        await self._cache.put(key)
        return key

    @property
    def tracked_documents(self) -> int:
        """Documents whose fetch budget or failure is remembered (bounded by ``max_documents``)."""
        return max(len(self._fetches), len(self._failures))

    def _failed(self, document_url: str, now: float) -> None:
        self._failures.pop(document_url, None)
        self._failures[document_url] = now  # last: the oldest failures come first
        if len(self._failures) > self._max_documents:
            self._prune(now)

    def _take_budget(self, document_url: str, now: float) -> bool:
        if len(self._fetches) >= self._max_documents and document_url not in self._fetches:
            self._prune(now)
        recent = [t for t in self._fetches.get(document_url, []) if now - t < self._negative_ttl]
        if len(recent) >= self._max_fetches:
            self._fetches[document_url] = recent
            return False
        self._fetches[document_url] = recent + [now]
        return True

    def _prune(self, now: float) -> None:
        """Forget expired budgets and failures; then, over the bound, the oldest ones."""
        for url in [u for u, ts in self._fetches.items() if all(now - t >= self._negative_ttl for t in ts)]:
            del self._fetches[url]
        for url in [u for u, t in self._failures.items() if now - t >= self._negative_ttl]:
            del self._failures[url]
        for entries in (self._fetches, self._failures):
            excess = len(entries) - self._max_documents + 1
            for url in list(itertools.islice(entries, max(0, excess))):
                del entries[url]

    async def _fetch(self, key_id: str, document_url: str) -> tuple[RemoteKey, list[RemoteKey]]:
        """The key, and the other keys its actor lists (cached too, saving fetches)."""
        document = await fetch_ap_document(self._client, document_url, local_origin=self._local_origin)
        if _is_actor(document):
            key = find_listed_key(document, key_id)
            if key is None:
                raise SignatureError("key_not_owned", "the actor does not list this key")
            await self._actor_fetched(document)
            return RemoteKey(key_id, document["id"], key), self._siblings(document, key_id)
        if not same_uri(document["id"], key_id):
            raise SignatureError("key_unavailable", "document is neither an actor nor the key")
        owner = document.get("owner") or document.get("controller")
        if not isinstance(owner, str):
            raise SignatureError("key_not_owned", "key document names no owner")
        actor = await fetch_ap_document(self._client, owner, local_origin=self._local_origin)
        if not _is_actor(actor):
            raise SignatureError("key_not_owned", "key owner is not an actor")
        key = find_listed_key(actor, key_id)
        if key is None:
            raise SignatureError("key_not_owned", "the owner's actor document does not list this key")
        await self._actor_fetched(actor)
        return RemoteKey(key_id, actor["id"], key), self._siblings(actor, key_id)

    async def _actor_fetched(self, actor: dict[str, Any]) -> None:
        if self._on_actor is not None:
            await self._on_actor(actor)

    @staticmethod
    def _siblings(actor: dict[str, Any], key_id: str) -> list[RemoteKey]:
        return [RemoteKey(other_id, actor["id"], other)
                for other_id, other in listed_keys(actor).items() if other_id != key_id]
