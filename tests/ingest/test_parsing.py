"""Pure parsing: places, payload problems, feeds in other encodings, iCal edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from federation.errors import BadRequest, Unprocessable
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


# -- hostile documents (found by mutating the fixtures): a clear refusal or a skipped entry -----

HOSTILE = sorted((Path(__file__).parent / "fixtures" / "hostile").glob("*.bin"))


@pytest.mark.parametrize("path", HOSTILE, ids=[p.stem for p in HOSTILE])
def test_documents_that_break_the_parsers_are_refused_not_crashed(path: Path) -> None:
    """Mutated fixtures on which feedparser or icalendar raise (KeyError, UnicodeDecodeError,
    AttributeError, IsADirectoryError for a TZID naming a directory…): a BadRequest — the
    feed's failure, with backoff — or the entries that could be read; never another error."""
    body = path.read_bytes()
    try:
        if "ics" in path.stem:
            parse_calendar(body, actor="a")
        else:
            parse_feed(body, actor="a")
    except BadRequest as error:
        assert error.message.startswith(("not a feed", "not an iCalendar document"))


def test_feed_link_with_an_unclosed_ipv6_bracket_is_dropped() -> None:
    rss = (b"<rss version='2.0'><channel><title>t</title><item><title>Un</title>"
           b"<link>http://[::1</link><guid>g1</guid><pubDate>Sat, 04 Oct 2024 10:00:00 GMT</pubDate>"
           b"<enclosure url='https://[bad/x.pdf' type='application/pdf' length='1'/>"
           b"</item></channel></rss>")
    [item] = parse_feed(rss, actor="a")
    assert item.url is None and item.attachments == ()


@pytest.mark.parametrize("start", ["DTSTART:20241010T180000Z\r\nDTSTART:20241011T180000Z",
                                   "DTSTART;VALUE=TEXT:demain soir"])
def test_event_with_a_repeated_or_textual_start_is_skipped(start: str) -> None:
    calendar = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
                "BEGIN:VEVENT\r\nUID:bad@x\r\n" + start + "\r\nSUMMARY:Cassé\r\nEND:VEVENT\r\n"
                "BEGIN:VEVENT\r\nUID:good@x\r\nDTSTART:20241012T180000Z\r\nSUMMARY:Bon\r\n"
                "END:VEVENT\r\nEND:VCALENDAR\r\n").encode()
    items = parse_calendar(calendar, actor="a")
    assert [i.source_id for i in items] == ["good@x"]


@pytest.mark.parametrize(("geo", "expected"), [
    ("45.43;4.39", (45.43, 4.39)), ("91;4.39", None), ("45;-181", None), ("nan;nan", None),
])
def test_event_coordinates_must_be_on_earth(geo: str, expected: tuple[float, float] | None) -> None:
    calendar = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:g@x\r\n"
                f"DTSTART:20241012T180000Z\r\nSUMMARY:Débat\r\nLOCATION:la Cale\r\nGEO:{geo}\r\n"
                "END:VEVENT\r\nEND:VCALENDAR\r\n").encode()
    [item] = parse_calendar(calendar, actor="a")
    place = item.event.place
    assert place is not None and place.name == "la Cale"
    assert ((place.latitude, place.longitude) if place.latitude is not None else None) == expected
