"""Pure parsing: places, payload problems, feeds in other encodings, iCal edge cases."""

from __future__ import annotations

import pytest

from federation.errors import Unprocessable
from federation.ingest.feeds import parse_feed
from federation.ingest.ical import parse_calendar
from federation.ingest.payloads import parse_item, parse_place


@pytest.mark.parametrize(("text", "expected"), [
    ("la Cale, 16 rue Royet, 42000 Saint-Étienne",
     ("la Cale", "16 rue Royet", "42000", "Saint-Étienne")),
    ("la Cale (16 rue Royet, Saint-Étienne)", ("la Cale", "16 rue Royet", None, "Saint-Étienne")),
    ("Bourse du travail", ("Bourse du travail", None, None, None)),
    ("12 bis place Jean Jaurès, 42000 Saint-Étienne, France",
     ("12 bis place Jean Jaurès", "12 bis place Jean Jaurès", "42000", "Saint-Étienne")),
])
def test_parse_place(text: str, expected: tuple[str | None, ...]) -> None:
    """One-line locations are split into name, street, postal code and locality."""
    place = parse_place(text)
    assert (place.name, place.street_address, place.postal_code, place.locality) == expected


def test_event_payload_problems_are_all_listed() -> None:
    """Bad timezone, end before start and external mode without URL are reported."""
    with pytest.raises(Unprocessable) as caught:
        parse_item({"type": "event", "actor": "a", "id": "1", "title": "x",
                    "published": "2022-05-29T10:00:00", "start": "2022-06-09T18:00",
                    "timezone": "Mars/Olympus"})
    assert [p.location for p in caught.value.problems] == ["timezone"]
    with pytest.raises(Unprocessable) as caught:
        parse_item({"type": "event", "actor": "a", "id": "1", "title": "x",
                    "published": "2022-05-29T10:00:00", "start": "2022-06-09T18:00",
                    "end": "2022-06-09T17:00"})
    assert "end must not be before start" in caught.value.problems[0].message


def test_latin1_rss_keeps_accents() -> None:
    """An ISO-8859-1 feed (old SPIP sites) is decoded, accents intact."""
    body = ('<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel>'
            "<title>Numéro Zéro</title><item><title>Rencontre à Sainté</title>"
            "<guid>x1</guid><description>Débat.</description></item></channel></rss>"
            ).encode("iso-8859-1")
    items = parse_feed(body, actor="a")
    assert items[0].name == "Rencontre à Sainté" and items[0].summary_text == "Débat."


def test_ical_utc_and_all_day_events_use_the_site_zone() -> None:
    """A UTC time is shown in the site's zone; an all-day event ends on its last day."""
    body = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
            b"BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240110T170000Z\r\nDURATION:PT2H\r\n"
            b"SUMMARY:Soir\r\nSTATUS:TENTATIVE\r\nEND:VEVENT\r\n"
            b"BEGIN:VEVENT\r\nUID:b\r\nDTSTART;VALUE=DATE:20240601\r\n"
            b"DTEND;VALUE=DATE:20240603\r\nSUMMARY:Week-end\r\nEND:VEVENT\r\n"
            b"END:VCALENDAR\r\n")
    evening, weekend = parse_calendar(body, actor="a", timezone="Europe/Paris")
    assert evening.event is not None and evening.event.timezone == "Europe/Paris"
    assert evening.event.start_at.isoformat() == "2024-01-10T17:00:00+00:00"
    assert evening.event.status == "TENTATIVE"
    assert weekend.event is not None and weekend.event.end_at is not None
    assert weekend.event.end_at.date().isoformat() == "2024-06-02"
