"""Generated text follows the object's language: French as before, English, CLDR dates elsewhere."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from federation.protocol.objects import (
    Addressing,
    EventView,
    PlaceView,
    build_event,
    event_summary,
    event_when,
)
from federation.protocol.wording import wording

PLACE = PlaceView("la Cale", "16 rue Royet", "42000", "Saint-Étienne", country="FR")
START = datetime(2022, 6, 9, 16, tzinfo=UTC)  # 18:00 in Paris
END = datetime(2022, 6, 9, 18, tzinfo=UTC)
NEW_YEAR = datetime(2024, 1, 1, 17, tzinfo=UTC)  # Monday 18:00 in Paris
TWO_DAYS_LATER = datetime(2024, 1, 3, 17, tzinfo=UTC)

#: The hand-written tables Babel replaced: French must not change by a letter.
FORMER_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
FORMER_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                 "septembre", "octobre", "novembre", "décembre")


def test_french_dates_are_the_former_ones_for_every_day_of_a_leap_year() -> None:
    """Babel's French day and month names and our ``1er`` equal the former tables, all year."""
    words = wording("fr")
    day = date(2024, 1, 1)
    while day.year == 2024:
        number = "1er" if day.day == 1 else str(day.day)
        expected = (f"{FORMER_DAYS[day.weekday()]} {number} {FORMER_MONTHS[day.month - 1]} "
                    f"{day.year}")
        assert words.day(day) == expected
        day += timedelta(days=1)


@pytest.mark.parametrize("language", ["fr", "fr-FR", "fr-BE"])
def test_french_summary_is_unchanged(language: str) -> None:
    """French (with or without a region) keeps the exact line and typography it had."""
    assert event_summary(START, END, "Europe/Paris", PLACE, language=language) == (
        "jeudi 9 juin 2022, 18:00–20:00 (Europe/Paris) — la Cale, 16 rue Royet, Saint-Étienne")
    assert event_summary(NEW_YEAR, TWO_DAYS_LATER, "Europe/Paris", None, language=language,
                         status="TENTATIVE", is_online=True) == (
        "À CONFIRMER — du lundi 1er janvier 2024, 18:00 au mercredi 3 janvier 2024, 18:00 "
        "(Europe/Paris) — en ligne")


def test_english_summary() -> None:
    """English: weekday, day before month, 24-hour clock, English words around the dates."""
    assert event_summary(START, END, "Europe/Paris", PLACE, language="en") == (
        "Thursday 9 June 2022, 18:00–20:00 (Europe/Paris) — la Cale, 16 rue Royet, "
        "Saint-Étienne")
    assert event_summary(NEW_YEAR, None, "Europe/Paris", None, language="en") == \
        "Monday 1 January 2024, 18:00 (Europe/Paris)"


def test_english_span_of_days_online_and_status() -> None:
    """A span of days says ``… to …``; online, cancelled and tentative are said in English."""
    assert event_summary(NEW_YEAR, TWO_DAYS_LATER, "Europe/Paris", None, language="en",
                         status="CANCELLED", is_online=True) == (
        "CANCELLED — Monday 1 January 2024, 18:00 to Wednesday 3 January 2024, 18:00 "
        "(Europe/Paris) — online")
    assert event_summary(START, END, "Europe/Paris", None, language="en-GB",
                         status="TENTATIVE").startswith("TO BE CONFIRMED — Thursday, 9 June")


def test_regional_english_follows_its_region() -> None:
    """``en-US`` gets CLDR's US formats (month first, 12-hour clock, narrow no-break space)."""
    assert event_when(START, END, "Europe/Paris", "en-US") == \
        "Thursday, June 9, 2022, 6:00\u202fPM–8:00\u202fPM (Europe/Paris)"


def test_german_and_spanish_dates() -> None:
    """Other languages get CLDR dates; a span of days takes no English word, only a dash."""
    assert event_summary(START, END, "Europe/Berlin", PLACE, language="de") == (
        "Donnerstag, 9. Juni 2022, 18:00–20:00 (Europe/Berlin) — la Cale, 16 rue Royet, "
        "Saint-Étienne")
    assert event_when(NEW_YEAR, TWO_DAYS_LATER, "Europe/Berlin", "de-DE") == (
        "Montag, 1. Januar 2024, 18:00 – Mittwoch, 3. Januar 2024, 18:00 (Europe/Berlin)")
    assert event_when(START, END, "Europe/Madrid", "es") == \
        "jueves, 9 de junio de 2022, 18:00–20:00 (Europe/Madrid)"


def test_times_are_shown_in_the_event_timezone_whatever_the_language() -> None:
    """UTC instants become local times of the event's zone, even when the local day differs."""
    late = datetime(2022, 6, 9, 23, 30, tzinfo=UTC)
    assert event_when(late, None, "Europe/Paris", "en") == \
        "Friday 10 June 2022, 01:30 (Europe/Paris)"
    assert event_when(late, None, "America/Montreal", "en") == \
        "Thursday 9 June 2022, 19:30 (America/Montreal)"
    assert event_when(NEW_YEAR, None, "America/Montreal", "de") == \
        "Montag, 1. Januar 2024, 12:00 (America/Montreal)"
    naive = datetime(2024, 1, 1, 18)  # already local
    assert event_when(naive, None, "Asia/Tokyo", "fr") == \
        "lundi 1er janvier 2024, 18:00 (Asia/Tokyo)"


@pytest.mark.parametrize("language", ["tlh", "x-private", "", "und", "de_DE"])
def test_unknown_tags_fall_back(language: str) -> None:
    """A tag Babel does not know is written in English; an underscore tag is still understood."""
    words = wording(language)
    if language == "de_DE":
        assert words.day(date(2022, 6, 9)) == "Donnerstag, 9. Juni 2022"
        assert words.language == "en"  # no German sentences: English ones around German dates
    else:
        assert words.day(date(2022, 6, 9)) == "Thursday 9 June 2022"
        assert words.language == "en"


def test_event_document_summary_follows_the_event_language() -> None:
    """``build_event`` writes ``summary`` and the preview in the view's language."""
    addressing = Addressing("https://site.example/actors/a",
                            "https://site.example/actors/a/followers")
    common: dict[str, Any] = {
        "object_uri": "https://site.example/objects/event/1", "addressing": addressing,
        "name": "Debate", "summary_text": "", "content_html": "<p>Text.</p>",
        "url": "https://site.example/e/1", "published_at": START, "start_at": START,
        "end_at": END, "timezone": "Europe/Paris", "place": PLACE}
    english = build_event(EventView(**common, language="en"))
    assert english["summary"] == ("<p>Thursday 9 June 2022, 18:00–20:00 (Europe/Paris) — "
                                  "la Cale, 16 rue Royet, Saint-Étienne</p>")
    assert "Thursday 9 June 2022" in english["preview"]["content"]
    assert english["inLanguage"] == "en" and english["contentMap"].keys() == {"en"}
    german = build_event(EventView(**common, language="de"))
    assert german["summary"].startswith("<p>Donnerstag, 9. Juni 2022, 18:00–20:00")
