"""Recurring iCalendar events: occurrences within the horizon, overrides, removals, bounds."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from federation.db.actors import Actor
from federation.db.content import ContentObject, ObjectKind, ObjectState, OutboxActivity
from federation.db.delivery import FanoutJob
from federation.db.ingest import Feed, FeedKind
from federation.ingest.ical import MAX_OCCURRENCES_PER_SERIES, parse_calendar, read_calendar
from federation.ingest.poller import FeedPoller

from .conftest import Bridge, FeedServer, fixture_bytes

ACTOR = "halte-au-controle-numerique"
UID = "permanence@site.example"
WEEKLY = "RRULE:FREQ=WEEKLY;BYDAY=TU"
#: The clock starts on Saturday 5 October 2024, 12:00 UTC: the horizon ends on 4 December.
TUESDAYS = ["2024-10-08T18:00:00+02:00", "2024-10-15T18:00:00+02:00",
            "2024-10-22T18:00:00+02:00", "2024-10-29T18:00:00+01:00",
            "2024-11-05T18:00:00+01:00", "2024-11-12T18:00:00+01:00",
            "2024-11-19T18:00:00+01:00", "2024-11-26T18:00:00+01:00",
            "2024-12-03T18:00:00+01:00"]
NOW = datetime(2024, 10, 5, 12, 0, tzinfo=UTC)


def calendar(*, rule: str = WEEKLY, start: str = "20240903T180000",
             end: str = "20240903T200000", more: str = "",
             modified: str = "20240820T080000Z") -> bytes:
    """The site's agenda: the weekly "permanence" (from 3 September) and a one-off debate."""
    return fixture_bytes("permanence.ics", RULE=rule, START=start, END=end, MORE=more,
                         MODIFIED=modified)


def override(recurrence_id: str, start: str, end: str, location: str) -> str:
    return "\n".join([
        "BEGIN:VEVENT", f"UID:{UID}", "DTSTAMP:20241004T100000Z", recurrence_id,
        f"DTSTART;TZID=Europe/Paris:{start}", f"DTEND;TZID=Europe/Paris:{end}",
        "SUMMARY:Permanence numérique", f"LOCATION:{location}", "END:VEVENT",
    ])


def key(start: str) -> str:
    return f"{UID}@{start}"


async def occurrences(state: ObjectState = ObjectState.PUBLISHED) -> dict[str, ContentObject]:
    rows = await ContentObject.filter(kind=ObjectKind.EVENT, state=state,
                                      source_id__startswith=f"{UID}@")
    return {row.source_id: row for row in rows}


async def serve(bridge: Bridge, server: FeedServer, body: bytes) -> FeedPoller:
    server.body = body
    server.content_type = "text/calendar"
    actor = await Actor.get(identifier=ACTOR)
    await Feed.create(actor=actor, url=server.url, kind=FeedKind.ICAL, interval_seconds=600,
                      next_poll_at=bridge.clock.now)
    return FeedPoller(bridge.client, bridge.publisher, clock=bridge.clock)


async def poll(bridge: Bridge, poller: FeedPoller, server: FeedServer, *,
               body: bytes | None = None, later: timedelta = timedelta(minutes=11)) -> dict:
    """Poll again ``later``; a new ``body`` is served with a new ETag."""
    if body is not None:
        server.body = body
        server.etag = f'"{len(server.seen)}"'
    bridge.clock.now += later
    reports = await poller.run_once()
    assert len(reports) == 1 and reports[0].status in ("ok", "not-modified", "same-body"), reports
    return reports[0].outcomes


async def test_weekly_series_keeps_its_local_time_across_the_dst_change(
        bridge: Bridge, feed_server: FeedServer) -> None:
    """Each Tuesday within 60 days is an Event at 18:00 Paris time, +02:00 then +01:00."""
    poller = await serve(bridge, feed_server, calendar())
    report = (await poller.run_once())[0]
    assert report.status == "ok" and report.outcomes == {"created": len(TUESDAYS) + 1}
    found = await occurrences()
    assert sorted(found) == sorted(key(t) for t in TUESDAYS)  # none past, none beyond
    for start in TUESDAYS:
        document = found[key(start)].document
        assert document["startTime"] == start
        assert document["endTime"] == start.replace("T18:", "T20:")
        assert document["timezone"] == "Europe/Paris"
        assert document["name"] == "Permanence numérique"
        assert document["location"]["address"]["addressLocality"] == "Saint-Étienne"
    debate = await ContentObject.get(source_id="debat-4521@site.example")
    assert debate.document["startTime"] == "2024-10-17T18:30:00+02:00"
    assert await FanoutJob.all().count() == 0  # a new feed's first poll is history


async def test_exdate_and_override_replace_their_occurrences(
        bridge: Bridge, feed_server: FeedServer) -> None:
    """An EXDATE deletes the published occurrence; an override updates its own, no duplicate."""
    poller = await serve(bridge, feed_server, calendar())
    await poller.run_once()
    before = await occurrences()
    changed = calendar(
        rule=WEEKLY + "\nEXDATE;TZID=Europe/Paris:20241022T180000",
        more=override("RECURRENCE-ID;TZID=Europe/Paris:20241105T180000", "20241105T190000",
                      "20241105T210000", "Bourse du travail\\, 10 cours Victor Hugo\\, "
                      "42000 Saint-Étienne"),
        modified="20241005T090000Z")
    outcomes = await poll(bridge, poller, feed_server, body=changed)
    assert outcomes == {"unchanged": len(TUESDAYS) - 1, "updated": 1, "deleted": 1}

    after = await occurrences()
    assert sorted(after) == sorted(key(t) for t in TUESDAYS if not t.startswith("2024-10-22"))
    moved = after[key("2024-11-05T18:00:00+01:00")]
    assert moved.uri == before[key("2024-11-05T18:00:00+01:00")].uri
    assert moved.document["startTime"] == "2024-11-05T19:00:00+01:00"
    assert moved.document["location"]["name"] == "Bourse du travail"
    removed = (await occurrences(ObjectState.DELETED))[key("2024-10-22T18:00:00+02:00")]
    assert removed.document["type"] == "Tombstone"
    sent = [(a.type, a.document["object"]["type"] if isinstance(a.document["object"], dict)
             else a.document["object"]) for a in await OutboxActivity.all().order_by("id")]
    assert sent[len(TUESDAYS) + 1:] == [("Update", "Event"), ("Delete", "Tombstone")]
    assert await FanoutJob.all().count() == 2

    # the same calendar read again the next day changes nothing (the override keeps its key)
    assert await poll(bridge, poller, feed_server, later=timedelta(days=1)) == {
        "unchanged": len(TUESDAYS)}
    assert await OutboxActivity.all().count() == len(sent)


async def test_shortened_rule_deletes_upcoming_occurrences_and_keeps_past_ones(
        bridge: Bridge, feed_server: FeedServer) -> None:
    """UNTIL added: later occurrences are deleted; those now past stay published."""
    poller = await serve(bridge, feed_server, calendar())
    await poller.run_once()
    bridge.clock.now = datetime(2024, 10, 20, 12, 0, tzinfo=UTC)  # 8 and 15 October are past
    outcomes = await poll(bridge, poller, feed_server, later=timedelta(0), body=calendar(
        rule="RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20241030T000000Z"))
    # 22 and 29 October and the debate unchanged; November and December deleted
    assert outcomes == {"unchanged": 3, "deleted": 5}
    assert sorted(await occurrences()) == sorted(key(t) for t in TUESDAYS[:4])
    assert len(await occurrences(ObjectState.DELETED)) == 5


async def test_occurrences_beyond_the_cap_are_not_taken_for_removed(
        bridge: Bridge, feed_server: FeedServer) -> None:
    """Twice a week, 10 occurrences reach 7 November: later published Tuesdays stay."""
    poller = await serve(bridge, feed_server, calendar())
    await poller.run_once()
    outcomes = await poll(bridge, poller, feed_server,
                          body=calendar(rule="RRULE:FREQ=WEEKLY;BYDAY=TU,TH"))
    assert outcomes == {"created": 5, "unchanged": 6}  # 10, 17, 24, 31 October, 7 November
    found = await occurrences()
    assert len(found) == len(TUESDAYS) + 5
    assert key("2024-11-07T18:00:00+01:00") in found and key(TUESDAYS[-1]) in found
    assert key("2024-11-14T18:00:00+01:00") not in found


async def test_horizon_moves_with_the_clock_and_polls_are_idempotent(
        bridge: Bridge, feed_server: FeedServer) -> None:
    """Nothing beyond 60 days; a later day publishes what entered; the past stays."""
    poller = await serve(bridge, feed_server, calendar())
    await poller.run_once()
    assert max(r.document["startTime"] for r in (await occurrences()).values()) == TUESDAYS[-1]
    activities = await OutboxActivity.all().count()

    assert await poll(bridge, poller, feed_server) == {}  # 304 the same day
    assert feed_server.seen[-1].get("If-None-Match") == '"v1"'
    # the next day the calendar is read in full (no validators), and nothing entered
    assert await poll(bridge, poller, feed_server, later=timedelta(days=1)) == {
        "unchanged": len(TUESDAYS) + 1}
    assert "If-None-Match" not in feed_server.seen[-1]
    assert await OutboxActivity.all().count() == activities
    assert await FanoutJob.all().count() == 0

    # a week later: 10 December enters the horizon (delivered), 8 October left it (kept)
    assert await poll(bridge, poller, feed_server, later=timedelta(days=6)) == {
        "created": 1, "unchanged": len(TUESDAYS)}
    found = await occurrences()
    assert key("2024-12-10T18:00:00+01:00") in found
    assert key("2024-10-08T18:00:00+02:00") in found
    assert key("2024-12-17T18:00:00+01:00") not in found
    assert await FanoutJob.all().count() == 2  # its Create, and the site actor's Announce


async def test_series_vanished_from_the_calendar_stays_published(
        bridge: Bridge, feed_server: FeedServer) -> None:
    """A feed is a window: a whole event leaving it is no deletion."""
    poller = await serve(bridge, feed_server, calendar())
    await poller.run_once()
    without = calendar().replace(b"UID:permanence@site.example", b"UID:autre@site.example")
    assert await poll(bridge, poller, feed_server, body=without) == {
        "created": len(TUESDAYS), "unchanged": 1}
    assert len(await occurrences()) == len(TUESDAYS)
    assert await occurrences(ObjectState.DELETED) == {}


async def test_event_that_starts_recurring_keeps_its_object(
        bridge: Bridge, feed_server: FeedServer) -> None:
    """A one-off event made weekly: its object becomes the first occurrence (no duplicate)."""
    poller = await serve(bridge, feed_server, calendar(rule="", start="20241008T180000",
                                                       end="20241008T200000"))
    await poller.run_once()
    single = await ContentObject.get(source_id=UID)
    outcomes = await poll(bridge, poller, feed_server, body=calendar(
        start="20241008T180000", end="20241008T200000", modified="20241005T090000Z"))
    assert outcomes == {"updated": 1, "unchanged": 1, "created": len(TUESDAYS) - 1}
    first = (await occurrences())[key(TUESDAYS[0])]
    assert first.uri == single.uri
    assert not await ContentObject.exists(source_id=UID)

    # and back: the first occurrence is the one-off event again, the others are deleted
    outcomes = await poll(bridge, poller, feed_server, body=calendar(
        rule="", start="20241008T180000", end="20241008T200000"))
    assert outcomes == {"updated": 1, "unchanged": 1, "deleted": len(TUESDAYS) - 1}
    assert (await ContentObject.get(source_id=UID)).uri == single.uri


def test_count_until_all_day_and_utc_recurrence_id() -> None:
    """COUNT and UNTIL end a series; all-day occurrences; a UTC RECURRENCE-ID still matches."""
    def starts(rule: str, **fill: str) -> list[str]:
        items = parse_calendar(calendar(rule=rule, **fill), actor="a", now=NOW)
        return [i.source_id.removeprefix(f"{UID}@") for i in items
                if i.source_id.startswith(UID)]

    assert starts("RRULE:FREQ=WEEKLY;COUNT=3", start="20241008T180000",
                  end="20241008T200000") == TUESDAYS[:3]
    assert starts("RRULE:FREQ=WEEKLY;UNTIL=20241029T170000Z") == TUESDAYS[:4]
    assert starts("RRULE:FREQ=WEEKLY;COUNT=3") == []  # 3, 10, 17 September: all past
    assert starts("RDATE;TZID=Europe/Paris:20241010T180000,20250110T180000") == [
        "2024-10-10T18:00:00+02:00"]

    monthly = (b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:cafe\n"
               b"DTSTART;VALUE=DATE:20240907\nDTEND;VALUE=DATE:20240908\n"
               b"RRULE:FREQ=MONTHLY;BYDAY=1SA\nSUMMARY:Caf\xc3\xa9 r\xc3\xa9paration\n"
               b"END:VEVENT\nEND:VCALENDAR\n")
    saturdays = parse_calendar(monthly, actor="a", now=NOW)
    assert [i.source_id for i in saturdays] == ["cafe@2024-10-05", "cafe@2024-11-02"]
    assert saturdays[0].event is not None and saturdays[0].event.end_at is not None
    assert saturdays[0].event.start_at.isoformat() == "2024-10-05T00:00:00+02:00"
    assert saturdays[0].event.end_at.date().isoformat() == "2024-10-05"

    utc_override = override("RECURRENCE-ID:20241105T170000Z", "20241105T190000",
                            "20241105T210000", "Bourse du travail")
    items = parse_calendar(calendar(more=utc_override), actor="a", now=NOW)
    november = [i for i in items if "2024-11-05" in i.source_id]
    assert [i.source_id for i in november] == [key("2024-11-05T18:00:00+01:00")]
    assert november[0].event is not None
    assert november[0].event.start_at.isoformat() == "2024-11-05T19:00:00+01:00"


PATHOLOGICAL = {
    "secondly": ("20241001T000000", "RRULE:FREQ=SECONDLY"),
    "minutely": ("20000101T000000", "RRULE:FREQ=MINUTELY;COUNT=100000"),
    "hours": ("19000101T000000", "RRULE:FREQ=YEARLY;BYMONTHDAY="
              + ",".join(str(d) for d in range(1, 29))
              + ";BYHOUR=" + ",".join(str(h) for h in range(24))),
    "dense": ("20241001T000000", "RRULE:FREQ=DAILY;BYHOUR=1,2,3,4,5;BYMINUTE=0,10,20,30,40,50"),
    "feb30": ("20241001T180000", "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"),
    "rdates": ("20241001T180000", "RDATE;TZID=Europe/Paris:" + ",".join(
        f"{y}{m:02}{d:02}T180000" for y in (2025, 2026, 2027, 2028) for m in range(1, 13)
        for d in range(1, 29))),
}


async def test_pathological_rules_are_bounded(bridge: Bridge, feed_server: FeedServer,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """SECONDLY, COUNT=100000 and friends cost little; sane series beside them are published."""
    more = "\n".join(
        "\n".join(["BEGIN:VEVENT", f"UID:{name}", f"DTSTART;TZID=Europe/Paris:{start}",
                   rule, f"SUMMARY:{name}", "END:VEVENT"])
        for name, (start, rule) in PATHOLOGICAL.items())
    more += ("\nBEGIN:VEVENT\nUID:daily\nDTSTART;TZID=Europe/Paris:19900101T090000\n"
             "RRULE:FREQ=DAILY;COUNT=100000\nSUMMARY:Tous les jours\nEND:VEVENT")  # long, sane
    poller = await serve(bridge, feed_server, calendar(more=more))
    caplog.set_level(logging.WARNING, "federation.ingest.ical")
    began = time.monotonic()
    report = (await poller.run_once())[0]
    elapsed = time.monotonic() - began
    assert report.status == "ok"
    assert elapsed < 3, f"{elapsed:.1f} s"  # ~0.3 s; minutes or gigabytes without the bounds
    published = {row.source_id for row in await ContentObject.filter(kind=ObjectKind.EVENT)}
    series = {uid for uid in [UID, "daily", *PATHOLOGICAL]
              if any(s.startswith(f"{uid}@") for s in published)}
    assert series == {UID, "daily"}
    daily = sorted(s for s in published if s.startswith("daily@"))
    assert len(daily) == MAX_OCCURRENCES_PER_SERIES  # not the 60 days of the horizon
    assert daily[0] == "daily@2024-10-05T09:00:00+02:00"
    first = await ContentObject.get(source_id=daily[0])
    assert "endTime" not in first.document  # no DTEND nor DURATION: no end made up
    refused = {r.getMessage().split()[2] for r in caplog.records if "not expanded" in r.message}
    assert refused == set(PATHOLOGICAL)


def test_spent_budget_leaves_series_for_the_next_read() -> None:
    """Once the calendar's time budget is spent, series wait; one-off events are published."""
    content = read_calendar(calendar(), actor="a", now=NOW, budget=-1.0)
    assert [i.source_id for i in content.items] == ["debat-4521@site.example"]
    assert [w.uid for w in content.series] == ["debat-4521@site.example"]
    assert all(not w.lost(key(TUESDAYS[0])) for w in content.series)
    full = read_calendar(calendar(), actor="a", now=NOW)
    assert len(full.items) == len(TUESDAYS) + 1


async def test_exdate_decides_from_the_typed_start_not_the_stored_document(
        bridge: Bridge, feed_server: FeedServer) -> None:
    """Whether an occurrence is upcoming comes from its ``start_at`` column: stored documents
    emptied of their ``startTime`` change nothing (an EXDATE still deletes its occurrence)."""
    poller = await serve(bridge, feed_server, calendar())
    await poller.run_once()
    for row in (await occurrences()).values():
        row.document = {key: value for key, value in row.document.items()
                        if key not in ("startTime", "endTime", "timezone")}
        await row.save(update_fields=["document"])
    changed = calendar(rule=WEEKLY + "\nEXDATE;TZID=Europe/Paris:20241022T180000",
                       modified="20241005T090000Z")
    outcomes = await poll(bridge, poller, feed_server, body=changed)
    assert outcomes["deleted"] == 1
    assert key("2024-10-22T18:00:00+02:00") in await occurrences(ObjectState.DELETED)
