"""The inbox's hand-written INSERTs (``federation.db.raw``): a per-model plan converts only
what needs converting, and still refuses what the ORM's conversion refuses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.exceptions import ValidationError

from federation.db import URI_LENGTH
from federation.db.jobs import Job, JobState
from federation.db.lifecycle import open_database
from federation.db.moderation import Reply, ReplyKind
from federation.db.raw import insert_new, insert_new_rows, insert_plan

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    async with open_database(database_url):
        yield database_url


def _orm_encoded(model: Any, given: dict[str, Any]) -> dict[str, Any]:
    """What the ORM's own conversion makes of ``given`` (the columns given only)."""
    return {name: model._meta.fields_map[name].to_db_value(value, model)
            for name, value in given.items()}


async def test_given_values_are_encoded_as_the_orm_encodes_them(db):
    reply = {"uri": "https://a.example/notes/1", "kind": ReplyKind.MENTION, "author_id": 7,
             "local_actor_id": None, "in_reply_to_uri": "https://b.example/x",
             "object_type": "Question", "name": "", "content_html": "<p>é</p>",
             "language": "fr", "attachments": [{"url": "https://a.example/i.png"}],
             "sensitive": True, "poll": {"mode": "oneOf", "options": []}, "history": [],
             "is_public": False, "state": "approved", "published_at": AT,
             "decided_at": None}
    plan = insert_plan(Reply)
    encoded = dict(zip(plan.names, plan.encode(reply), strict=True))
    assert {name: encoded[name] for name in reply} == _orm_encoded(Reply, reply)
    assert encoded["state"] == "approved" and encoded["kind"] == "mention"
    assert json.loads(encoded["attachments"]) == [{"url": "https://a.example/i.png"}]


async def test_defaults_are_applied_and_callable_ones_are_fresh(db):
    plan = insert_plan(Reply)
    before = datetime.now(UTC)
    first = dict(zip(plan.names, plan.encode({"uri": "https://a.example/1"}), strict=True))
    second = dict(zip(plan.names, plan.encode({"uri": "https://a.example/2"}), strict=True))
    assert (first["kind"], first["state"], first["object_type"]) == ("reply", "pending", "Note")
    assert (first["name"], first["sensitive"], first["is_public"], first["poll"]) == (
        "", False, True, None)
    assert first["attachments"] == first["history"] == "[]"
    assert before <= first["received_at"] <= second["received_at"]  # auto_now_add, per row
    assert second["uri"] == "https://a.example/2"  # nothing of the first row served again


async def test_an_over_long_value_is_refused_as_by_the_orm(db):
    too_long = "https://a.example/" + "x" * URI_LENGTH
    with pytest.raises(ValidationError) as orm:
        Reply._meta.fields_map["uri"].to_db_value(too_long, Reply)
    with pytest.raises(ValidationError) as planned:
        insert_plan(Reply).encode({"uri": too_long})
    assert str(planned.value) == str(orm.value)
    with pytest.raises(ValidationError):
        await insert_new(Job, {"kind": "k" * 65, "ref": "r", "next_attempt_at": AT})
    with pytest.raises(ValidationError):  # an enum's value longer than the column
        insert_plan(Job).encode({"kind": "k", "state": "x" * 17, "next_attempt_at": AT})
    assert await Job.all().count() == 0


async def test_none_for_a_non_null_field_is_refused(db):
    with pytest.raises(ValidationError):
        await insert_new(Job, {"kind": None, "ref": "r", "next_attempt_at": AT})
    with pytest.raises(ValidationError):  # not given, no default: refused as before
        await insert_new(Job, {"ref": "r", "next_attempt_at": AT})
    assert await Job.all().count() == 0


async def test_values_of_other_types_go_through_the_fields_conversion(db):
    """A naive datetime, a str for an enum field, an int-like str: the ORM's conversion runs
    (a value the enum does not hold raises ``ValueError`` there)."""
    new = await insert_new(Job, {"kind": "k", "ref": "r", "state": "running",
                                 "attempts": True, "next_attempt_at": AT,
                                 "payload": '{"a": 1}'})
    row = await Job.get(id=new)
    assert (row.state, row.attempts, row.payload) == (JobState.RUNNING, 1, {"a": 1})
    with pytest.raises(ValueError):
        insert_plan(Job).encode({"kind": "k", "state": "nope", "next_attempt_at": AT})


async def test_rows_written_read_back_through_the_orm(db):
    first = await insert_new(Job, {"kind": "k", "ref": "a", "next_attempt_at": AT})
    assert await insert_new(Job, {"kind": "k", "ref": "a", "next_attempt_at": AT}) is None
    written = await insert_new_rows(Job, [
        {"kind": "k", "ref": ref, "state": JobState.RUNNING, "attempts": 1,
         "lease_owner": "w/1", "lease_expires_at": AT + timedelta(minutes=1),
         "payload": {"n": n}, "next_attempt_at": AT} for n, ref in enumerate("abc")],
        ("ref",))
    assert sorted(ref for _, ref in written) == ["b", "c"]
    rows = {row.ref: row for row in await Job.all()}
    assert (rows["a"].id, rows["a"].state, rows["a"].payload, rows["a"].key) == (
        first, JobState.PENDING, {}, "")
    assert (rows["c"].state, rows["c"].payload, rows["c"].lease_owner) == (
        JobState.RUNNING, {"n": 2}, "w/1")
    assert rows["b"].created_at is not None and rows["b"].lease_expires_at == AT + timedelta(
        minutes=1)
