"""The server's start-up heap is frozen; what it makes afterwards is still collected."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import gc, weakref
    from federation.heap import freeze_startup

    class Node:
        pass

    before = Node(); before.me = before          # a cycle alive at start-up
    freeze_startup()
    assert gc.get_freeze_count() > 0
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
