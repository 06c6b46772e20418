"""The inbox reports a verified host to the delivery engine once a minute, in bounded memory."""

from __future__ import annotations

from federation.inbox.receive import RecentHosts


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_hosts_are_due_once_per_interval_and_forgotten_oldest_first():
    """Beyond the bound only the oldest host is forgotten (the others stay not due: dropping
    every entry at once made all of them due again); expired entries are dropped as time goes."""
    clock = Clock()
    recent = RecentHosts(60.0, 3, clock)
    assert [recent.due(h) for h in ("a", "b", "c")] == [True, True, True]
    clock.now = 10
    assert not recent.due("a")
    assert recent.due("d")  # a fourth host: the oldest (a) is forgotten
    assert len(recent) == 3
    assert [recent.due(h) for h in ("b", "c", "d")] == [False, False, False]
    assert recent.due("a")
    clock.now = 65  # c (reported at 0) expired; b was forgotten when a came back
    assert recent.due("b") and len(recent) == 3
    clock.now = 200
    assert recent.due("c") and len(recent) == 1
