"""State graphs of job kinds, declared as data.

A graph maps ``(state, event)`` to the next state. The engine moves a job only along a
declared edge (:meth:`StateGraph.next` refuses any other), and a test walks every edge of every
kind (``tests/jobs/test_graphs.py``). Every graph shares the contract's two working states:
``pending`` (claimable once due) and ``running`` (held under a lease); final states are the
states without an outgoing edge.

Events:

- ``claim``: a worker takes a due pending job under a lease (attempts + 1);
- ``release``: a worker that stops gives back a job it has not attempted (attempts - 1);
- ``expire``: the lease ran out (the worker died): pending and due again, the attempt counted;
- ``succeed``, ``fail`` (permanent), ``retry`` (later, by the retry policy), ``abandon``
  (retryable but out of attempts), ``reschedule`` (a recurring job: done for now, due again
  later, its attempts reset): the handler's outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from federation.db.jobs import JobState


class Event(StrEnum):
    CLAIM = "claim"
    RELEASE = "release"
    EXPIRE = "expire"
    SUCCEED = "succeed"
    FAIL = "fail"
    RETRY = "retry"
    ABANDON = "abandon"
    RESCHEDULE = "reschedule"


class InvalidTransition(ValueError):
    """An event the job's graph does not declare in the job's state."""


@dataclass(frozen=True)
class StateGraph:
    """A job kind's states and transitions: ``edges[(state, event)] = next state``."""

    name: str
    edges: Mapping[tuple[JobState, Event], JobState]
    initial: JobState = JobState.PENDING
    states: frozenset[JobState] = field(init=False)
    final: frozenset[JobState] = field(init=False)

    def __post_init__(self) -> None:
        states = {self.initial} | {s for s, _ in self.edges} | set(self.edges.values())
        sources = {s for s, _ in self.edges}
        object.__setattr__(self, "states", frozenset(states))
        object.__setattr__(self, "final", frozenset(states - sources))
        problems = self.problems()
        if problems:
            raise ValueError(f"state graph {self.name}: {'; '.join(problems)}")

    def problems(self) -> list[str]:
        """What makes the graph unusable by the engine (empty when it is sound)."""
        found = []
        for state, event in ((JobState.PENDING, Event.CLAIM), (JobState.RUNNING, Event.RELEASE),
                             (JobState.RUNNING, Event.EXPIRE)):
            if self.edges.get((state, event)) != (JobState.PENDING if state is JobState.RUNNING
                                                  else JobState.RUNNING):
                found.append(f"{state} --{event}--> is not the contract's")
        for (state, event), target in self.edges.items():
            if state is JobState.PENDING and event is not Event.CLAIM:
                found.append(f"only a claim leaves pending, not {event}")
            if event is Event.RETRY and target is not JobState.PENDING:
                found.append("a retry goes back to pending")
        reachable, frontier = {self.initial}, [self.initial]
        while frontier:
            state = frontier.pop()
            for (source, _), target in self.edges.items():
                if source is state and target not in reachable:
                    reachable.add(target)
                    frontier.append(target)
        if reachable != set(self.states):
            found.append(f"unreachable: {sorted(set(self.states) - reachable)}")
        return found

    def next(self, state: JobState, event: Event) -> JobState:
        """The state after ``event`` in ``state``; :class:`InvalidTransition` if undeclared."""
        try:
            return self.edges[(JobState(state), event)]
        except KeyError:
            raise InvalidTransition(f"{self.name}: no {event} from {state}") from None

    def allows(self, state: JobState, event: Event) -> bool:
        return (JobState(state), event) in self.edges


_LEASE_EDGES = {
    (JobState.PENDING, Event.CLAIM): JobState.RUNNING,
    (JobState.RUNNING, Event.RELEASE): JobState.PENDING,
    (JobState.RUNNING, Event.EXPIRE): JobState.PENDING,
}

#: A job done once: sent, refused for good, or given up after its attempts.
ONE_SHOT = StateGraph("one-shot", {
    **_LEASE_EDGES,
    (JobState.RUNNING, Event.SUCCEED): JobState.DONE,
    (JobState.RUNNING, Event.RETRY): JobState.PENDING,
    (JobState.RUNNING, Event.FAIL): JobState.FAILED,
    (JobState.RUNNING, Event.ABANDON): JobState.ABANDONED,
})

#: A job that comes back (a feed to poll, a purge): rescheduled after each run, retried
#: (never abandoned) after a failure, done when its subject is gone.
RECURRING = StateGraph("recurring", {
    **_LEASE_EDGES,
    (JobState.RUNNING, Event.RESCHEDULE): JobState.PENDING,
    (JobState.RUNNING, Event.RETRY): JobState.PENDING,
    (JobState.RUNNING, Event.SUCCEED): JobState.DONE,
})
