"""Every job kind's state graph, walked edge by edge through the engine on a real database:
each declared transition is made by the engine's own function, every other one is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from federation.db.jobs import Job, JobState
from federation.jobs import store
from federation.jobs.graph import ONE_SHOT, RECURRING, Event, InvalidTransition, StateGraph
from federation.jobs.kinds import KINDS
from federation.jobs.worker import JobKind
from tests.jobs.conftest import Clock

LEASE = timedelta(seconds=60)


def test_every_kind_is_registered_once_with_a_sound_graph():
    """KINDS is the one list (names unique); every graph passes its own checks."""
    names = [kind.name for kind in KINDS]
    assert len(names) == len(set(names)) and len(names) >= 4
    for kind in KINDS:
        assert kind.graph.problems() == []
        assert JobState.PENDING in kind.graph.states and JobState.RUNNING in kind.graph.states


def test_unsound_graphs_are_refused():
    """No claim out of pending, a retry to a final state, an unreachable state: refused."""
    with pytest.raises(ValueError, match="contract"):
        StateGraph("broken", {(JobState.RUNNING, Event.SUCCEED): JobState.DONE})
    edges = dict(ONE_SHOT.edges)
    edges[(JobState.RUNNING, Event.RETRY)] = JobState.FAILED
    with pytest.raises(ValueError, match="retry"):
        StateGraph("broken", edges)
    edges = dict(ONE_SHOT.edges)
    edges[(JobState.DONE, Event.RETRY)] = JobState.PENDING
    edges[(JobState.ABANDONED, Event.CLAIM)] = JobState.RUNNING
    del edges[(JobState.RUNNING, Event.ABANDON)]
    with pytest.raises(ValueError, match="unreachable"):
        StateGraph("broken", edges)


async def _running(kind: JobKind, clock: Clock, token: str) -> store.ClaimedJob:
    await store.enqueue(kind.name, {"n": 1}, key="host.example", at=clock.now)
    [job] = await store.claim(kind.name, token, clock.now, LEASE, 1, per_key=1)
    return job


async def _walk(kind: JobKind, clock: Clock, state: JobState, event: Event) -> JobState:
    """Put a job of ``kind`` in ``state`` and make ``event`` happen through the engine."""
    assert state in (JobState.PENDING, JobState.RUNNING)  # the only states with edges
    await Job.all().delete()
    if state is JobState.PENDING:
        assert event is Event.CLAIM
        await store.enqueue(kind.name, key="host.example", at=clock.now)
        [job] = await store.claim(kind.name, "w/1", clock.now, LEASE, 1)
        return (await Job.get(id=job.id)).state
    job = await _running(kind, clock, "w/1")
    if event is Event.RELEASE:
        assert await store.release([job]) == 1
    elif event is Event.EXPIRE:
        assert await store.reclaim_expired(clock.now + LEASE * 2) == 1
    else:
        assert await store.finish(job, kind.graph, event, clock.now,
                                  next_attempt_at=clock.now + LEASE, error="x")
    return (await Job.get(id=job.id)).state


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
async def test_every_declared_transition_is_made_by_the_engine(db, clock, kind):
    for (state, event), target in kind.graph.edges.items():
        assert await _walk(kind, clock, state, event) == target, (state, event)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
async def test_every_undeclared_outcome_is_refused_and_leaves_the_job_running(db, clock, kind):
    for event in (Event.SUCCEED, Event.FAIL, Event.RETRY, Event.ABANDON, Event.RESCHEDULE):
        if kind.graph.allows(JobState.RUNNING, event):
            continue
        await Job.all().delete()
        job = await _running(kind, clock, "w/1")
        with pytest.raises(InvalidTransition):
            await store.finish(job, kind.graph, event, clock.now)
        assert (await Job.get(id=job.id)).state == JobState.RUNNING


def test_final_states_have_no_way_out():
    for graph in (ONE_SHOT, RECURRING):
        for state in graph.final:
            for event in Event:
                assert not graph.allows(state, event)
    assert ONE_SHOT.final == {JobState.DONE, JobState.FAILED, JobState.ABANDONED}
    assert RECURRING.final == {JobState.DONE}
