"""The publisher: notices for moved events and important corrections, told once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from federation.db.content import ContentObject, ObjectKind, OutboxActivity
from federation.db.lifecycle import open_database
from federation.identity.directory import ActorDirectory
from federation.ingest.payloads import parse_item
from federation.publishing.service import Outcome, Publisher
from federation.settings import Settings
from federation.signing.keys import KeyVault


@pytest.fixture
async def publisher(settings: Settings) -> AsyncIterator[Publisher]:
    async with open_database(settings.effective_database_url):
        directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
        await directory.sync()
        yield Publisher(directory, clock=lambda: datetime(2024, 10, 5, tzinfo=UTC))


def _event(**overrides: object):
    payload = {"type": "event", "actor": "halte-au-controle-numerique", "id": "e1",
               "title": "Débat", "published": "2022-05-29T10:00:00+02:00",
               "start": "2022-06-09T18:00:00", "end": "2022-06-09T20:00:00",
               "location": "la Cale, 16 rue Royet, 42000 Saint-Étienne"}
    payload.update(overrides)
    return parse_item(payload)


async def test_moved_event_publishes_a_note_with_the_new_date(publisher: Publisher) -> None:
    """A new date is an Update plus a Note saying the new date and place."""
    await publisher.upsert(_event())
    result = await publisher.upsert(_event(start="2022-06-16T18:00:00",
                                           end="2022-06-16T20:00:00"))
    assert result.outcome == Outcome.UPDATED and result.notice_uri
    note = await ContentObject.get(uri=result.notice_uri)
    assert "Nouvelle date" in note.document["content"]
    assert "jeudi 16 juin 2022, 18:00–20:00" in note.document["content"]


async def test_correction_is_told_once(publisher: Publisher) -> None:
    """A correction marked important makes one Note; later edits with the same one make none."""
    item = _event()
    await publisher.upsert(item)
    corrected = replace(item, content_html="<p>Salle 2.</p>", correction="La salle a changé.")
    first = await publisher.upsert(corrected)
    assert first.notice_uri is not None
    again = await publisher.upsert(replace(corrected, content_html="<p>Salle 2 !</p>"))
    assert again.outcome == Outcome.UPDATED and again.notice_uri is None
    assert await ContentObject.filter(kind=ObjectKind.NOTE).count() == 1
    assert [a.type for a in await OutboxActivity.all().order_by("id")] == [
        "Create", "Update", "Create", "Update"]


async def test_plain_edit_sends_update_without_note(publisher: Publisher) -> None:
    """Fixing a typo is an Update only, with a later `updated` time."""
    await publisher.upsert(_event())
    result = await publisher.upsert(_event(title="Débat public"))
    assert result.notice_uri is None
    row = await ContentObject.get(uri=result.object_uri)
    assert row.document["updated"] == "2024-10-05T00:00:00Z"
    assert row.updated_at - row.published_at > timedelta(days=1)
