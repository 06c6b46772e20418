"""The heap of a long-running server process, and how often its garbage collector runs.

What a process loads to start (modules, classes, the ORM's models, settings, templates, the
actors' keys) lives until it exits, yet every full collection walked it again: in a delivery
worker, 50–80 ms per full collection. And Python's default young-generation threshold (a
collection every 700 net new container objects) made a delivery worker with 256 requests in
flight run 245 young collections per 10,000 deliveries, each walking the in-flight requests'
objects: 0.165 s of CPU, 16 µs per delivery (``bench/fanout.py``, gc callbacks timed).

:func:`settle_after_start` moves the start-up heap to the permanent generation
(:func:`gc.freeze`) and collects the young generation every :data:`YOUNG_THRESHOLD` net new
objects: 9 collections and 0.018 s for the same run (2 µs per delivery). Cyclic garbage waits
a little longer to be freed (at most that many objects); the rest is freed by reference
counting as before.
"""

from __future__ import annotations

import gc

#: Net new container objects between two young-generation collections (Python's default 700).
YOUNG_THRESHOLD = 10_000


def settle_after_start() -> None:
    """Collect once, exempt every object alive now from later collections, and collect the
    young generation less often.

    Call it once, from a long-running process's entry point (``serve``, ``worker``) when it
    has started — never from a library path run many times in one process (tests): what is
    frozen is never collected, so the cycles alive then would stay for good.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
