"""The server's start-up heap is frozen and its young generation collected less often; what
it makes afterwards is still collected."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import gc, weakref
    from federation.heap import YOUNG_THRESHOLD, settle_after_start

    class Node:
        pass

    before = Node(); before.me = before          # a cycle alive at start-up
    settle_after_start()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    frozen = weakref.ref(before); del before
    after = Node(); after.me = after              # a cycle made once the server runs
    collected = weakref.ref(after); del after
    gc.collect()
    print(collected() is None, frozen() is not None)
""")


def test_startup_objects_are_frozen_and_later_cycles_collected() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]
