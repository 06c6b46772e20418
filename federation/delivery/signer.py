"""Signing deliveries: in the worker's process, or in a small pool of signing processes.

RSA-2048 signing costs 0.25–0.3 ms per delivery on the 2-core x86_64 machines measured in
``docs/performance.md`` (0.8 ms on an older, slower VM) and holds the GIL: in-process it is
about half of the worker's CPU per delivery, and caps a worker core near 4,000 deliveries/s
before any HTTP work. With ``[delivery] signing_processes`` > 0
the signing strings are signed in that many processes (``spawn``, so nothing of the worker's
state, threads or sockets is inherited): the keys are sent once, to each process's initializer
(:func:`federation.signing.batch.load_keys`), and a claimed batch costs one round trip per
process. A key rotation (another set of keys in the directory) starts a new pool.

Signatures are never cached: each covers its inbox's host, path and the current ``Date``.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from federation.identity.directory import ActorDirectory, LocalActor
from federation.signing.batch import load_keys, sign_batch
from federation.signing.cavage import sign_bytes
from federation.signing.keys import private_key_to_pem

log = logging.getLogger(__name__)

#: Fewer messages than this are not split between processes (a round trip costs ~0.1 ms).
MIN_CHUNK = 16
#: In-process signing yields to the event loop after this many signatures.
INLINE_SLICE = 16


class DeliverySigner:
    """Signs signing strings with a local actor's RSA key, in-process or in ``processes``."""

    def __init__(self, directory: ActorDirectory, processes: int = 0) -> None:
        self._directory = directory
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._pool_keys: frozenset[tuple[str, str]] = frozenset()

    @property
    def processes(self) -> int:
        return self._processes

    async def sign(self, actor: LocalActor, messages: Sequence[bytes]) -> list[bytes]:
        """The signatures of ``messages`` by ``actor``'s RSA key, in order."""
        if not messages:
            return []
        if not self._processes:
            return await self._sign_inline(actor, messages)
        pool = self._pool_with(actor)
        loop = asyncio.get_running_loop()
        parts = max(1, min(self._processes, len(messages) // MIN_CHUNK))
        size = -(-len(messages) // parts)
        chunks = [list(messages[i : i + size]) for i in range(0, len(messages), size)]
        results = await asyncio.gather(
            *(loop.run_in_executor(pool, sign_batch, actor.key_id, chunk) for chunk in chunks)
        )
        return [signature for result in results for signature in result]

    async def _sign_inline(self, actor: LocalActor, messages: Sequence[bytes]) -> list[bytes]:
        key = actor.rsa_private
        signatures: list[bytes] = []
        for start in range(0, len(messages), INLINE_SLICE):
            if start:
                await asyncio.sleep(0)  # let responses in between slices
            signatures += [sign_bytes(key, m) for m in messages[start : start + INLINE_SLICE]]
        return signatures

    def _pool_with(self, actor: LocalActor) -> ProcessPoolExecutor:
        if self._pool is None or (actor.key_id, actor.rsa_public_pem) not in self._pool_keys:
            self.start()
        assert self._pool is not None
        return self._pool

    def start(self) -> None:
        """(Re)start the pool with the directory's current keys (no-op when in-process)."""
        if not self._processes:
            return
        actors = self._directory.signing_actors()
        old, self._pool = self._pool, ProcessPoolExecutor(
            self._processes, mp_context=multiprocessing.get_context("spawn"),
            initializer=load_keys,
            initargs=({a.key_id: private_key_to_pem(a.rsa_private) for a in actors},),
        )
        self._pool_keys = frozenset((a.key_id, a.rsa_public_pem) for a in actors)
        if old is not None:
            log.info("signing pool restarted (keys changed)")
            old.shutdown(wait=False)

    def start_soon(self) -> None:
        """Start the signing processes now, without waiting (work is coming: a fanout)."""
        if not self._processes or self._pool is not None:
            return
        self.start()
        assert self._pool is not None
        for _ in range(self._processes):  # spawning happens on submission
            self._pool.submit(sign_batch, next(iter(self._pool_keys))[0], [])

    def close(self) -> None:
        """Stop the signing processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def pids(self) -> list[int]:
        """Process ids of the signing processes (for measurements)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return list(processes)
