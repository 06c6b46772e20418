"""Remote public keys: fetched by ``keyId``, owned by the actor that lists them, cached.

Security principle 2: a key belongs to an actor only if the actor's own document lists it, under
an id on the actor's own origin (an actor cannot speak for another origin's key ids, so nothing it
lists is ever cached under a victim's key id). When ``keyId`` names a separate key document, its
``owner`` is fetched and must list that key id.

Principle 10: fetches are bounded per key id and interval, and failures are remembered for
``negative_ttl`` seconds (negative cache), so a flood of bad signatures causes no fetch storm.
Both are kept **per key id**: a made-up key id on someone's actor (``VICTIM#nope``) fails alone
and never stops the actor's real keys from verifying; and once an actor document was fetched,
for ``negative_ttl`` seconds the key ids it does not list are refused without fetching it again
(made-up fragments cost no GET), while the keys it lists are cached. Every GET is also counted by a
:class:`~federation.remote.budget.FetchLimiter` (per remote host and in total): past it
:class:`~federation.errors.TooManyRequests` (429), which is neither a failure nor a spent fetch.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from federation.errors import RemoteBadResponse, RemoteError, SignatureError, TooManyRequests
from federation.protocol.uris import normalise_uri, same_origin, same_uri, strip_fragment
from federation.remote.budget import FetchLimiter
from federation.remote.client import HardenedClient
from federation.remote.fetch import check_identity, fetch_ap_document, fetch_ap_json
from federation.signing.keys import PublicKey, load_ed25519_multibase, load_public_key_pem

logger = logging.getLogger(__name__)

DEFAULT_TTL = 24 * 3600.0
DEFAULT_NEGATIVE_TTL = 300.0
#: Fetches for one key id allowed per ``negative_ttl`` interval (first fetch + one refetch).
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

    A listed key whose ``owner``/``controller`` names someone else, or whose id is not on the
    actor's origin, is not the actor's; a listed key that does not parse (PEM, multibase) raises
    :class:`SignatureError` ``key_unavailable``.
    """
    try:
        return _listed_key(actor, key_id)
    except ValueError:
        raise SignatureError("key_unavailable", "the actor lists this key in an unreadable form") from None


def _listed_key(actor: dict[str, Any], key_id: str) -> PublicKey | None:
    actor_id = actor.get("id")
    if not isinstance(actor_id, str) or not same_origin(key_id, actor_id):
        return None
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


def _document_key(url: str) -> str:
    """The document part of a key id or actor id, normalised to compare them."""
    try:
        return normalise_uri(strip_fragment(url))
    except ValueError:
        return strip_fragment(url)


def _stub_owner(document: dict[str, Any], key_id: str, fetched_from: str) -> Any:
    """The ``owner`` named by the ``publicKey`` entry of ``key_id`` in a document served at the
    key id under another id (GoToSocial's stub); :class:`SignatureError` when there is none."""
    if same_uri(fetched_from, strip_fragment(key_id)):
        for entry in _as_list(document.get("publicKey")):
            if isinstance(entry, dict) and entry.get("id") == key_id:
                return entry.get("owner")
    raise SignatureError("key_unavailable", "document id does not match the URL it was fetched from")


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
        limiter: FetchLimiter | None = None,
        max_documents: int = MAX_CACHED_KEYS,
    ) -> None:
        """``on_actor`` receives every actor document fetched (e.g. to store it: no refetch);
        ``limiter`` counts every GET (default: its default budgets). Fetch budgets and failures
        are remembered for at most ``max_documents`` key ids each: the expired ones are
        forgotten first, then the oldest."""
        self._client = client
        self._limiter = limiter or FetchLimiter(clock=clock)
        self._on_actor = on_actor
        self._cache: KeyCache = cache or MemoryKeyCache(ttl, clock=clock)
        self._negative_ttl, self._max_fetches, self._clock = negative_ttl, max_fetches, clock
        self._local_origin = local_origin
        self._fetches: dict[str, list[float]] = {}
        self._failures: dict[str, float] = {}
        #: Actor documents fetched recently: when, and the key ids they list.
        self._listed: dict[str, tuple[float, frozenset[str]]] = {}
        self._max_documents = max_documents

    async def resolve(self, key_id: str, refresh: bool = False) -> RemoteKey:
        """The key ``key_id``; ``refresh=True`` after a failed verification asks for a refetch.

        A refetch beyond the budget returns the cached key (or fails) without any fetch. The
        negative cache and the budget are kept per key id: the failure of one key id never
        stops another key of the same actor. Raises :class:`SignatureError`
        (``key_unavailable`` or ``key_not_owned``).
        """
        cached = await self._cache.get(key_id)
        if cached is not None and not refresh:
            return cached
        now = self._clock()
        failed_at = self._failures.get(key_id)
        if failed_at is not None and now - failed_at < self._negative_ttl:
            raise SignatureError("key_unavailable", "key fetch failed recently")
        listed = self._listed.get(_document_key(key_id))
        if not refresh and listed is not None and now - listed[0] < self._negative_ttl \
                and key_id not in listed[1]:
            raise SignatureError("key_not_owned", "the actor fetched recently does not list this key")
        if not self._take_budget(key_id, now):
            if cached is not None:
                return cached
            raise SignatureError("key_unavailable", "key refetch budget exhausted")
        document_url = strip_fragment(key_id)
        try:
            key = await self._fetch(key_id, document_url)
        except TooManyRequests:
            self._give_back_budget(key_id)
            raise
        except (RemoteError, ValueError) as exc:
            self._remember_failure(key_id, now)
            logger.info("cannot resolve key of %s: %s", document_url,
                        exc.message if isinstance(exc, RemoteError) else type(exc).__name__)
            raise SignatureError("key_unavailable", "key cannot be fetched") from exc
        except SignatureError:
            self._remember_failure(key_id, now)
            raise
        self._failures.pop(key_id, None)
        await self._cache.put(key)
        return key

    @property
    def tracked_documents(self) -> int:
        """Key ids whose fetch budget or failure is remembered (bounded by ``max_documents``)."""
        return max(len(self._fetches), len(self._failures))

    def _take_budget(self, key_id: str, now: float) -> bool:
        if len(self._fetches) >= self._max_documents and key_id not in self._fetches:
            self._prune(now)
        recent = [t for t in self._fetches.get(key_id, []) if now - t < self._negative_ttl]
        if len(recent) >= self._max_fetches:
            self._fetches[key_id] = recent
            return False
        self._fetches[key_id] = recent + [now]
        return True

    def _give_back_budget(self, key_id: str) -> None:
        """A fetch refused by the limiter was not made: it does not count for the key id."""
        recent = self._fetches.get(key_id)
        if recent:
            recent.pop()

    def _remember_failure(self, key_id: str, now: float) -> None:
        self._failures.pop(key_id, None)
        self._failures[key_id] = now  # last: the oldest failures come first
        if len(self._failures) > self._max_documents:
            self._prune(now)

    def _prune(self, now: float) -> None:
        """Forget expired entries; past the bound, the oldest go too (memory stays bounded)."""
        for url in [u for u, ts in self._fetches.items() if all(now - t >= self._negative_ttl for t in ts)]:
            del self._fetches[url]
        for url in [u for u, t in self._failures.items() if now - t >= self._negative_ttl]:
            del self._failures[url]
        for url in [u for u, (t, _) in self._listed.items() if now - t >= self._negative_ttl]:
            del self._listed[url]
        for table in (self._fetches, self._failures, self._listed):
            excess = len(table) - self._max_documents + 1
            for url in list(itertools.islice(table, max(0, excess))):
                del table[url]

    async def _fetch(self, key_id: str, document_url: str) -> RemoteKey:
        """The key (the other keys its actor lists are cached too, saving fetches).

        The document at the key id is one of three things. An actor (its id is the URL fetched)
        that lists the key: it owns it. A key document (its id is the key id) naming its
        ``owner``. Or a stub whose id is something else — GoToSocial serves at
        ``…/users/x/main-key`` a minimal actor ``{"id": "…/users/x", "publicKey": {"id": <key
        id>, "owner": "…/users/x", …}}`` — that proves nothing by itself: only its
        ``publicKey`` entry with the key id is read, for the owner's URL. In the last two cases
        the owner must be on the key's origin, its actor document (fetched, identity proven)
        must list the key id, and the key is the one *that* document lists.
        """
        self._limiter.take(document_url)
        document, fetched_from = await fetch_ap_json(self._client, document_url,
                                                     local_origin=self._local_origin)
        try:
            check_identity(document, fetched_from, local_origin=self._local_origin)
        except RemoteBadResponse:
            return await self._from_owner(key_id, _stub_owner(document, key_id, fetched_from))
        if _is_actor(document):
            await self._actor_fetched(document, key_id)
            key = find_listed_key(document, key_id)
            if key is None:
                raise SignatureError("key_not_owned", "the actor does not list this key")
            return RemoteKey(key_id, document["id"], key)
        if not same_uri(document["id"], key_id):
            raise SignatureError("key_unavailable", "document is neither an actor nor the key")
        return await self._from_owner(key_id, document.get("owner") or document.get("controller"))

    async def _from_owner(self, key_id: str, owner: Any) -> RemoteKey:
        """The key as the actor document of ``owner`` (on the key's origin) lists it."""
        if not isinstance(owner, str):
            raise SignatureError("key_not_owned", "key document names no owner")
        if not same_origin(owner, key_id):
            raise SignatureError("key_not_owned", "key owner is not on the key's origin")
        self._limiter.take(owner)
        actor = (await fetch_ap_document(self._client, owner, local_origin=self._local_origin,
                                         exact=True)).document
        if not _is_actor(actor):
            raise SignatureError("key_not_owned", "key owner is not an actor")
        await self._actor_fetched(actor, key_id)
        key = find_listed_key(actor, key_id)
        if key is None:
            raise SignatureError("key_not_owned", "the owner's actor document does not list this key")
        return RemoteKey(key_id, actor["id"], key)

    async def _actor_fetched(self, actor: dict[str, Any], key_id: str) -> None:
        """Note what the actor (identity proven) lists, cache its keys other than ``key_id``
        (even when ``key_id`` is not among them: no refetch for them), hand it to ``on_actor``."""
        keys = listed_keys(actor)
        now = self._clock()
        if len(self._listed) > MAX_CACHED_KEYS:
            self._prune(now)
        self._listed[_document_key(actor["id"])] = (now, frozenset(keys))
        for other_id, other in keys.items():
            if other_id != key_id:
                await self._cache.put(RemoteKey(other_id, actor["id"], other))
        if self._on_actor is not None:
            await self._on_actor(actor)
