"""The publisher: moved events are edits, important corrections of the text a notice told once,
in the object's language."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from federation.db.content import ContentObject, ObjectKind, OutboxActivity
from federation.db.lifecycle import open_database
from federation.identity.directory import ActorDirectory
from federation.ingest.payloads import parse_item
from federation.publishing.items import ContentItem, EventFacts
from federation.publishing.service import Outcome, Publisher, notice_parts
from federation.settings import Settings
from federation.signing.keys import KeyVault


@pytest.fixture
async def directory(settings: Settings) -> AsyncIterator[ActorDirectory]:
    async with open_database(settings.effective_database_url):
        directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
        await directory.sync()
        yield directory


@pytest.fixture
def publisher(directory: ActorDirectory) -> Publisher:
    return Publisher(directory, clock=lambda: datetime(2024, 10, 5, tzinfo=UTC))


def _event(**overrides: object):
    payload = {"type": "event", "actor": "halte-au-controle-numerique", "id": "e1",
               "title": "Débat", "published": "2022-05-29T10:00:00+02:00",
               "start": "2022-06-09T18:00:00", "end": "2022-06-09T20:00:00",
               "location": "la Cale, 16 rue Royet, 42000 Saint-Étienne"}
    payload.update(overrides)
    return parse_item(payload)


async def test_moved_event_is_an_edit_with_the_new_date(publisher: Publisher) -> None:
    """A new date is an Update whose summary says the new date (Mastodon 4.5+ shows it as an
    edit): no Note beside it."""
    await publisher.upsert(_event())
    result = await publisher.upsert(_event(start="2022-06-16T18:00:00",
                                           end="2022-06-16T20:00:00"))
    assert result.outcome == Outcome.UPDATED and result.notice_uri is None
    [update] = [a.document for a in await OutboxActivity.filter(type="Update")]
    assert "jeudi 16 juin 2022, 18:00–20:00" in update["object"]["summary"]
    assert await ContentObject.filter(kind=ObjectKind.NOTE).count() == 0


async def test_event_moved_back_and_forth_is_an_edit_each_time(publisher: Publisher) -> None:
    """Moved, moved back, moved again to the same date: three Updates, each later than the last
    (the clock does not move: Mastodon would drop an edit with the same ``updated``)."""
    await publisher.upsert(_event())
    later = {"start": "2022-06-16T18:00:00", "end": "2022-06-16T20:00:00"}
    for moves in (later, {}, later):
        assert (await publisher.upsert(_event(**moves))).notice_uri is None
    updates = [a.document["object"] for a in
               await OutboxActivity.filter(type="Update").order_by("id")]
    assert ["16 juin" in u["summary"] for u in updates] == [True, False, True]
    stamps = [u["updated"] for u in updates]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    assert (await publisher.upsert(_event(**later))).outcome == Outcome.UNCHANGED


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
        "Create", "Announce", "Update", "Create", "Update"]


async def test_plain_edit_sends_update_without_note(publisher: Publisher) -> None:
    """Fixing a typo is an Update only, with a later `updated` time."""
    await publisher.upsert(_event())
    result = await publisher.upsert(_event(title="Débat public"))
    assert result.notice_uri is None
    row = await ContentObject.get(uri=result.object_uri)
    assert row.document["updated"] == "2024-10-05T00:00:00Z"
    assert row.updated_at - row.published_at > timedelta(days=1)


async def test_decisions_read_the_typed_columns_not_the_stored_document(
        publisher: Publisher) -> None:
    """What an Update decides (its ``updated``, cancelled or moved) comes from the object's
    columns: a stored document that says otherwise (a far ``updated``, no date, no status) is
    not read back."""
    await publisher.upsert(_event())
    await publisher.upsert(_event(title="Débat public"))  # updated 2024-10-05T00:00:00Z
    row = await ContentObject.get(kind=ObjectKind.EVENT)
    assert row.edited_at == datetime(2024, 10, 5, tzinfo=UTC)
    assert (row.start_at, row.end_at, row.timezone, row.event_status) == (
        datetime(2022, 6, 9, 16, tzinfo=UTC), datetime(2022, 6, 9, 18, tzinfo=UTC),
        "Europe/Paris", "CONFIRMED")
    assert row.place == "la Cale, 16 rue Royet, Saint-Étienne"
    row.document = {"type": "Event", "updated": "2031-01-01T00:00:00Z", "ical:status": "junk"}
    await row.save(update_fields=["document"])

    cancelled = _event(title="Débat public", status="cancelled")
    assert notice_parts(EventFacts.of_row(row), cancelled)[0] == \
        "Annulé : « Débat public », prévu jeudi 9 juin 2022, 18:00–20:00 (Europe/Paris)."
    moved = _event(title="Débat public", start="2022-06-16T18:00:00", end="2022-06-16T20:00:00")
    assert notice_parts(EventFacts.of_row(row), moved)[0].startswith("Nouvelle date")
    assert notice_parts(EventFacts.of_row(row), _event(title="Débat public"))[0] is None

    await publisher.upsert(cancelled)  # the same second as the last Update: one second later
    row = await ContentObject.get(kind=ObjectKind.EVENT)
    assert row.document["updated"] == "2024-10-05T00:00:01Z"
    assert (row.edited_at, row.event_status) == (datetime(2024, 10, 5, 0, 0, 1, tzinfo=UTC),
                                                 "CANCELLED")


# -- the language of notices ----------------------------------------------------------------

NEW_PLACE = "Maison de quartier, 3 rue Neuve, 42000 Saint-Étienne"


def _news(before: ContentItem, after: ContentItem, language: str | None = None) -> str | None:
    return notice_parts(EventFacts.of_item(before), after, language=language)[0]


def test_french_notices_are_unchanged() -> None:
    """French notices keep their exact wording and typography (« » with spaces)."""
    item = _event()
    assert _news(item, _event(status="cancelled")) == \
        "Annulé : « Débat », prévu jeudi 9 juin 2022, 18:00–20:00 (Europe/Paris)."
    assert _news(item, _event(location=NEW_PLACE)) == (
        "Nouveau lieu : « Débat », jeudi 9 juin 2022, 18:00–20:00 (Europe/Paris) — "
        "Maison de quartier, 3 rue Neuve, Saint-Étienne.")
    assert _news(_event(status="cancelled"), item) == (
        "Finalement maintenu : « Débat », jeudi 9 juin 2022, 18:00–20:00 (Europe/Paris) — "
        "la Cale, 16 rue Royet, Saint-Étienne.")
    corrected = replace(item, correction=" La salle a changé. ")
    assert notice_parts(EventFacts.of_item(item), corrected) == \
        (None, "Correction : « Débat » — La salle a changé.")


def test_english_notices() -> None:
    """An English event is cancelled, moved, reinstated and corrected in English."""
    item = _event(title="Debate", language="en")
    assert _news(item, _event(title="Debate", language="en", status="cancelled")) == \
        "Cancelled: “Debate”, planned for Thursday 9 June 2022, 18:00–20:00 (Europe/Paris)."
    assert _news(item, _event(title="Debate", language="en", location=NEW_PLACE)) == (
        "New venue: “Debate”, Thursday 9 June 2022, 18:00–20:00 (Europe/Paris) — "
        "Maison de quartier, 3 rue Neuve, Saint-Étienne.")
    moved = _event(title="Debate", language="en", location=NEW_PLACE,
                   start="2022-06-10T18:00:00", end="2022-06-11T12:00:00")
    assert _news(item, moved) == (
        "New date and venue: “Debate”, Friday 10 June 2022, 18:00 to Saturday 11 June 2022, "
        "12:00 (Europe/Paris) — Maison de quartier, 3 rue Neuve, Saint-Étienne.")
    online = _event(title="Debate", language="en", location=None, online=True,
                    start="2022-06-16T18:00:00", end="2022-06-16T20:00:00")
    assert _news(_event(title="Debate", language="en", location=None, online=True), online) == \
        "New date: “Debate”, Thursday 16 June 2022, 18:00–20:00 (Europe/Paris) — online."
    assert _news(_event(title="Debate", language="en", status="cancelled"), item) == (
        "Going ahead after all: “Debate”, Thursday 9 June 2022, 18:00–20:00 (Europe/Paris) — "
        "la Cale, 16 rue Royet, Saint-Étienne.")
    corrected = replace(item, correction="Room 2, not room 1.")
    assert notice_parts(EventFacts.of_item(item), corrected)[1] == \
        "Correction: “Debate” — Room 2, not room 1."


def test_other_languages_get_english_sentences_around_their_own_dates() -> None:
    """A German event's notice: English words, German date."""
    item = _event(title="Debatte", language="de")
    assert _news(item, _event(title="Debatte", language="de", status="cancelled")) == (
        "Cancelled: “Debatte”, planned for Donnerstag, 9. Juni 2022, 18:00–20:00 "
        "(Europe/Paris).")


def test_notice_language_argument_wins_over_the_document() -> None:
    """``language`` given wins; without it, the item's language (its object's ``contentMap``)."""
    before, after = _event(), _event(status="cancelled")
    assert _news(before, after, language="en").startswith("Cancelled: “Débat”, planned for")
    assert _news(before, after).startswith("Annulé : « Débat »")


async def _correction_note(publisher: Publisher, item: ContentItem) -> ContentObject:
    """Cancel ``item`` (an edit, no note), then correct its text: the correction's note."""
    await publisher.upsert(item)
    cancelled = replace(item, event=replace(item.event, status="CANCELLED"))
    assert (await publisher.upsert(cancelled)).notice_uri is None
    result = await publisher.upsert(replace(cancelled, content_html="<p>Report.</p>",
                                            correction="Report."))
    assert result.notice_uri is not None
    return await ContentObject.get(uri=result.notice_uri)


async def test_item_without_language_takes_the_site_language(directory: ActorDirectory) -> None:
    """On an English site, an item without a language gets an English event and notice."""
    publisher = Publisher(directory, site_language="en",
                          clock=lambda: datetime(2024, 10, 5, tzinfo=UTC))
    note = await _correction_note(publisher, replace(_event(title="Debate"), language=""))
    assert note.document["contentMap"].keys() == {"en"}
    assert note.document["content"].startswith("<p>Correction: “Debate” — Report.</p>")
    event = await ContentObject.get(kind=ObjectKind.EVENT)
    assert event.document["summary"].startswith("<p>CANCELLED — Thursday 9 June 2022, 18:00")


async def test_item_language_wins_over_the_site_language(directory: ActorDirectory) -> None:
    """A French item on an English site stays French; an English item on a French site is not."""
    english_site = Publisher(directory, site_language="en",
                             clock=lambda: datetime(2024, 10, 5, tzinfo=UTC))
    note = await _correction_note(english_site, _event(language="fr"))
    assert note.document["content"].startswith("<p>Correction : « Débat » — Report.</p>")
    french_site = Publisher(directory, clock=lambda: datetime(2024, 10, 5, tzinfo=UTC))
    note = await _correction_note(french_site, _event(id="e2", title="Debate", language="en"))
    assert note.document["content"].startswith("<p>Correction: “Debate” — Report.</p>")
    assert note.document["contentMap"].keys() == {"en"}


async def test_published_objects_carry_the_quote_policy(directory: ActorDirectory) -> None:
    """The Create we send and the object we store say ``[moderation] quotes`` in canQuote
    (Mastodon reads it from the Create), notices too."""
    publisher = Publisher(directory, quotes="moderated",
                          clock=lambda: datetime(2024, 10, 5, tzinfo=UTC))
    result = await publisher.upsert(_event())
    actor = directory.get("halte-au-controle-numerique").uri
    public = "https://www.w3.org/ns/activitystreams#Public"
    expected = {"automaticApproval": [actor], "manualApproval": [public],
                "always": [actor], "approvalRequired": [public]}
    row = await ContentObject.get(uri=result.object_uri)
    assert row.document["interactionPolicy"]["canQuote"] == expected
    create = await OutboxActivity.get(uri=result.activity_uri)
    assert create.document["object"]["interactionPolicy"]["canQuote"] == expected
    notice = await _correction_note(publisher, _event(id="e2"))
    assert notice.document["interactionPolicy"]["canQuote"] == expected
