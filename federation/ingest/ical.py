"""iCalendar feeds: each ``VEVENT`` becomes an :class:`ContentItem` event.

Times keep their timezone (``TZID`` with its ``VTIMEZONE``; a floating or UTC time is shown in
the site's timezone), ``LOCATION`` becomes a Place with a PostalAddress when it can be read,
``GEO`` its coordinates, ``STATUS:CANCELLED`` a cancellation. ``DTSTAMP`` is ignored (it changes
on every export, so it would make every poll look like a change).

A recurring event (``RRULE``/``RDATE``) is expanded with ``recurring-ical-events``: each
occurrence that starts within the *horizon* (from ``now`` − 1 day to ``now`` + 60 days, at most
10 per series) is its own event, keyed ``{UID}@{start of the occurrence}`` — the key a
``RECURRENCE-ID`` override of that occurrence has, so the override replaces it. ``EXDATE``
removes an occurrence. :class:`SeriesWindow` tells the poller which published occurrences left
their series (see :meth:`SeriesWindow.lost`). The work is bounded before dateutil runs: only
daily or rarer rules, an estimate of the instances to compute from ``DTSTART`` to the horizon
(``COUNT``/``UNTIL`` included), a few impossible day rules refused, a time budget per calendar.
"""

from __future__ import annotations

import logging
import math
import zoneinfo
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import Any

import icalendar
import recurring_ical_events

from federation.db.content import ObjectKind
from federation.errors import BadRequest
from federation.ingest.feeds import _web_url
from federation.ingest.payloads import parse_place
from federation.protocol.html import text_to_html
from federation.protocol.objects import PlaceView, TagView
from federation.protocol.text import scrub
from federation.publishing.items import EVENT_STATUSES, ContentItem, EventDetails, derive_summary

log = logging.getLogger(__name__)

MAX_EVENTS = 500  # VEVENT components read from one calendar
SOURCE = "ical"

#: Occurrences of a recurring event are published when they start in [now − LOOKBACK,
#: now + HORIZON]; a past occurrence stays published (it is no longer updated).
HORIZON = timedelta(days=60)
LOOKBACK = timedelta(days=1)
MAX_OCCURRENCES_PER_SERIES = 10
MAX_OCCURRENCES = 500  # per calendar, all series together
#: Refuse a series whose rules may make dateutil compute more instances than this between
#: DTSTART and the end of the horizon (an upper bound, see :func:`_expansion_problem`).
MAX_RULE_INSTANCES = 100_000
MAX_RDATES = 1_000
MAX_TIMES_PER_DAY = 24
#: Seconds of expansion per calendar; later series wait for the next read.
EXPANSION_BUDGET = 2.0

_PERIOD_DAYS = {"YEARLY": 365, "MONTHLY": 28, "WEEKLY": 7, "DAILY": 1}  # shortest period


def _zone_name(moment: datetime, prop: Any, default: str) -> str:
    """The IANA name of ``moment``'s zone, or ``default`` (UTC, floating, unknown TZID)."""
    candidates = [getattr(moment.tzinfo, "key", None), getattr(moment.tzinfo, "zone", None)]
    params = getattr(prop, "params", None) or {}
    candidates.append(params.get("TZID"))
    for name in candidates:
        if isinstance(name, str) and name and name.upper() not in ("UTC", "Z", "GMT"):
            try:
                zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
            return name
    return default


def _moment(value: date | datetime, zone: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating time: the site's zone
            return value.replace(tzinfo=zoneinfo.ZoneInfo(zone))
        return value
    return datetime.combine(value, time(0, 0), tzinfo=zoneinfo.ZoneInfo(zone))


def _text(component: Any, name: str) -> str:
    value = component.get(name)
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0]
    return str(value).strip()


def _place(component: Any) -> PlaceView | None:
    location = _text(component, "LOCATION")
    geo = component.get("GEO")
    place = parse_place(location) if location else None
    if geo is not None:
        try:
            latitude, longitude = float(geo.latitude), float(geo.longitude)
        except (AttributeError, TypeError, ValueError):
            return place
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):  # NaN fails too
            return place
        base = place or PlaceView(name=f"{latitude:.5f}, {longitude:.5f}")
        place = PlaceView(**{**base.__dict__, "latitude": latitude, "longitude": longitude})
    return place


def _categories(component: Any) -> tuple[TagView, ...]:
    values = component.get("CATEGORIES")
    if values is None:
        return ()
    groups = values if isinstance(values, list) else [values]
    names: list[str] = []
    for group in groups:
        for category in getattr(group, "cats", [group]):
            text = str(category).strip()
            if text and text not in names:
                names.append(text[:100])
    return tuple(TagView(name=n) for n in names)


def _decoded(component: Any, name: str) -> Any:
    """A property that occurs once, decoded; ``None`` when absent, repeated (invalid for the
    properties read here) or unreadable."""
    try:
        value = component.decoded(name)
    except (KeyError, ValueError, TypeError, AttributeError):
        return None
    return None if isinstance(value, list) else value


def _when(component: Any, name: str) -> date | datetime | None:
    """A date-valued property (``DTSTART``, ``RECURRENCE-ID``…), or ``None`` when it is
    absent, repeated or not a date."""
    value = _decoded(component, name)
    return value if isinstance(value, (date, datetime)) else None


def _sequence(component: Any) -> int:
    value = _decoded(component, "SEQUENCE")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class SeriesWindow:
    """What one read of an event (one ``UID``) showed of its occurrences between ``start`` and
    ``checked_until``: the source ids in ``present`` (occurrences and overrides).

    An event that starts or stops recurring changes the key of its first occurrence
    (``UID`` ↔ ``UID@DTSTART``): the poller renames ``former_key`` to ``key_now`` so that the
    object is updated rather than published twice.
    """

    uid: str
    start: datetime
    checked_until: datetime
    present: frozenset[str]
    timezone: str  # for floating and all-day keys
    former_key: str
    key_now: str

    def lost(self, source_id: str) -> bool:
        """Whether the occurrence published as ``source_id`` left the series: its slot lies in
        the checked range but the series no longer has it (``EXDATE``, a shorter rule…).

        Past occurrences (before ``start``) and those beyond what was checked are never lost.
        """
        uid, at, slot_text = source_id.rpartition("@")
        if not at or uid != self.uid or source_id in self.present:
            return False
        slot = _slot(slot_text, self.timezone)
        return slot is not None and self.start <= slot <= self.checked_until

    def upcoming(self, start_at: datetime | None) -> bool:
        """Whether an object starting at ``start_at`` (its typed column, ``None`` for no
        event) has not started before the window (a published occurrence moved into the past
        is kept). Times count to the second, as readers were told them."""
        if start_at is None:
            return False
        moment = start_at if start_at.tzinfo else start_at.replace(tzinfo=UTC)
        return moment.replace(microsecond=0) >= self.start


@dataclass
class CalendarContent:
    """The events of one calendar and the recurring series they were expanded from."""

    items: list[ContentItem]
    series: list[SeriesWindow]


def _slot(text: str, zone: str) -> datetime | None:
    """The moment an occurrence key's suffix (an ISO date or date-time) names."""
    try:
        value: date | datetime = (date.fromisoformat(text) if len(text) == 10
                                  else datetime.fromisoformat(text))
    except ValueError:
        return None
    return _moment(value, zone)


def occurrence_key(uid: str, slot: date | datetime, series_start: date | datetime) -> str:
    """``{uid}@{slot}``, the slot in the zone of the series' ``DTSTART`` (the form of a
    ``RECURRENCE-ID`` given with the series' ``TZID``)."""
    if (isinstance(slot, datetime) and slot.tzinfo is not None
            and isinstance(series_start, datetime) and series_start.tzinfo is not None):
        slot = slot.astimezone(series_start.tzinfo)
    return f"{uid}@{slot.isoformat()}"


def parse_calendar(body: bytes, *, actor: str, source: str = SOURCE, language: str = "fr",
                   timezone: str = "Europe/Paris", now: datetime | None = None,
                   horizon: timedelta = HORIZON) -> list[ContentItem]:
    """The events of an iCalendar document, as events of ``actor`` (recurring ones expanded
    around ``now``, ``horizon`` ahead)."""
    return read_calendar(body, actor=actor, source=source, language=language,
                         timezone=timezone, now=now, horizon=horizon).items


def read_calendar(body: bytes, *, actor: str, source: str = SOURCE, language: str = "fr",
                  timezone: str = "Europe/Paris", now: datetime | None = None,
                  horizon: timedelta = HORIZON,
                  budget: float = EXPANSION_BUDGET) -> CalendarContent:
    """The events of an iCalendar document and, for each recurring event, what was checked."""
    try:  # iCalendar is UTF-8 (RFC 5545): read once, NULs dropped (PostgreSQL refuses them)
        calendar = icalendar.Calendar.from_ical(scrub(body.decode("utf-8", "replace")))
    except Exception as error:
        raise BadRequest(f"not an iCalendar document: {type(error).__name__}: {error}"[:300]) from None
    now = now or datetime.now(UTC)
    deadline = monotonic() + budget
    common = {"actor": actor, "source": source, "language": language, "timezone": timezone}
    groups: dict[str, list[Any]] = {}
    for component in calendar.walk("VEVENT")[:MAX_EVENTS]:
        groups.setdefault(_text(component, "UID"), []).append(component)
    content = CalendarContent([], [])
    expanded = 0
    for uid, group in groups.items():
        masters = [c for c in group if c.get("RECURRENCE-ID") is None]
        if not uid or not any(_recurs(m) for m in masters):
            for component in group:
                item = _single(component, **common)
                if item is not None:
                    content.items.append(item)
            series_start = _when(masters[0], "DTSTART") if uid and masters else None
            if series_start is not None:
                content.series.append(_unrolled(uid, group, series_start, now=now,
                                                horizon=horizon, timezone=timezone))
            continue
        if expanded >= MAX_OCCURRENCES or monotonic() > deadline:
            log.warning("recurring event %s not expanded: the calendar's %s", uid,
                        "occurrences limit is reached" if expanded >= MAX_OCCURRENCES
                        else "time budget is spent")
            continue
        try:
            items, window = _expand(uid, group, masters, now=now, horizon=horizon, **common)
        except (ValueError, TypeError, KeyError, OverflowError, AttributeError) as error:
            log.info("recurring event %s skipped: %s", uid, error)
            continue
        if window is None:
            continue
        content.items.extend(items)
        content.series.append(window)
        expanded += len(items)
    return content


def _single(component: Any, *, actor: str, source: str, language: str,
            timezone: str) -> ContentItem | None:
    """A VEVENT published as it is: keyed by its UID (by ``UID@RECURRENCE-ID`` for an
    override whose series is not in the calendar)."""
    try:
        return _event(component, actor=actor, source=source, language=language,
                      timezone=timezone)
    except (ValueError, TypeError, KeyError) as error:
        log.info("iCalendar event skipped: %s", error)
        return None


def _recurs(component: Any) -> bool:
    return component.get("RRULE") is not None or component.get("RDATE") is not None


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _window(now: datetime, horizon: timedelta) -> tuple[datetime, datetime]:
    return now - LOOKBACK, now + horizon


def _overrides(uid: str, group: list[Any], series_start: date | datetime) -> dict[str, Any]:
    found = {}
    for component in group:
        recurrence = _when(component, "RECURRENCE-ID")
        if isinstance(recurrence, date):
            found[occurrence_key(uid, recurrence, series_start)] = component
    return found


def _unrolled(uid: str, group: list[Any], series_start: date | datetime, *, now: datetime,
              horizon: timedelta, timezone: str) -> SeriesWindow:
    """A VEVENT that does not (or no longer) recur (its master starts at ``series_start``):
    none of its ``UID@…`` occurrences is part of it, except overrides still in the calendar."""
    start, end = _window(now, horizon)
    present = frozenset(_overrides(uid, group, series_start))
    return SeriesWindow(uid, start, end, present, timezone,
                        former_key=occurrence_key(uid, series_start, series_start), key_now=uid)


def _expansion_problem(master: Any, series_start: date | datetime, until: datetime,
                       zone: str) -> str | None:
    """Why expanding ``master`` (from ``series_start``) up to ``until`` could cost too much, or None.

    dateutil computes every instance from ``DTSTART`` on, so the bound is an estimate of the
    instances between ``DTSTART`` and ``min(UNTIL, until)``: periods × days in a period ×
    times in a day, at most ``COUNT``. A rule that never matches makes dateutil search until
    year 9999: the common impossible rules (30 February, a ``BYSETPOS`` beyond the period)
    are refused here; the others cost a few seconds at most, then the budget stops the rest.
    """
    start = _moment(series_start, zone)
    rdates = sum(len(getattr(value, "dts", ())) for value in _listed(master.get("RDATE")))
    if rdates > MAX_RDATES:
        return f"{rdates} RDATE values"
    estimate = rdates
    for rule in _listed(master.get("RRULE")):
        if not isinstance(rule, icalendar.vRecur) or not rule.get("FREQ"):
            return f"unreadable RRULE {rule!r:.100}"
        frequency = str(rule["FREQ"][0]).upper()
        if frequency not in _PERIOD_DAYS:
            return f"FREQ={frequency}: events recurring more than daily are not expanded"
        times = math.prod(len(rule.get(part) or [0]) for part in ("BYHOUR", "BYMINUTE", "BYSECOND"))
        if times > MAX_TIMES_PER_DAY:
            return f"{times} times a day"
        per_period = _days_in_period(frequency, rule) * times
        if _never_matches(rule) or (rule.get("BYSETPOS") and all(
                not isinstance(p, int) or not 1 <= abs(p) <= per_period
                for p in rule["BYSETPOS"])):
            return "its rule matches no day"
        interval = max(int((rule.get("INTERVAL") or [1])[0]), 1)
        end = until
        for limit in rule.get("UNTIL") or []:
            end = min(end, _moment(limit, zone))
        periods = max((end - start).days, 0) // (_PERIOD_DAYS[frequency] * interval) + 1
        instances = periods * per_period
        for count in rule.get("COUNT") or []:
            instances = min(instances, int(count))
        estimate += instances
    if estimate > MAX_RULE_INSTANCES:
        return f"up to {estimate} instances to compute from {start.date().isoformat()}"
    return None


def _days_in_period(frequency: str, rule: Any) -> int:
    """At most how many days of one period the rule selects."""
    expands = any(rule.get(part) for part in ("BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYDAY"))
    if frequency == "YEARLY":
        return 366 if expands else max(len(rule.get("BYMONTH") or []), 1)
    if frequency == "MONTHLY":
        return 31 if expands else 1
    if frequency == "WEEKLY":
        return 7 if expands else 1
    return 1


def _never_matches(rule: Any) -> bool:
    """No date satisfies ``BYMONTH``, ``BYMONTHDAY`` and ``BYYEARDAY`` together (tried on a
    common and a leap year; weekdays are left out: every date falls on each of them)."""
    months = set(rule.get("BYMONTH") or ())
    month_days = set(rule.get("BYMONTHDAY") or ())
    year_days = set(rule.get("BYYEARDAY") or ())
    if not (months or month_days or year_days):
        return False
    for year in (2023, 2024):
        length = 366 if year == 2024 else 365
        for index in range(length):
            day = date(year, 1, 1) + timedelta(days=index)
            if months and day.month not in months:
                continue
            last = monthrange(year, day.month)[1]
            if month_days and not month_days & {day.day, day.day - last - 1}:
                continue
            if year_days and not year_days & {index + 1, index - length}:
                continue
            return False
    return True


def _expand(uid: str, group: list[Any], masters: list[Any], *, now: datetime,
            horizon: timedelta, actor: str, source: str, language: str,
            timezone: str) -> tuple[list[ContentItem], SeriesWindow | None]:
    """The occurrences of one recurring event that start within the horizon."""
    master = max(masters, key=_sequence)
    series_start = _when(master, "DTSTART")
    if series_start is None:
        log.info("recurring event %s without DTSTART skipped", uid)
        return [], None
    start, end = _window(now, horizon)
    problem = _expansion_problem(master, series_start, end, timezone)
    if problem:
        log.warning("recurring event %s not expanded: %s", uid, problem)
        return [], None
    overrides = _overrides(uid, group, series_start)
    calendar = icalendar.Calendar()
    for component in [master, *overrides.values()]:
        calendar.add_component(component)
    site_zone = zoneinfo.ZoneInfo(timezone)
    kept: list[tuple[str, Any, datetime]] = []
    truncated = False
    for occurrence in recurring_ical_events.of(calendar).after(start.astimezone(site_zone)):
        occurrence_start = _moment(occurrence.decoded("DTSTART"), timezone)
        if occurrence_start > end:
            break
        if occurrence_start < start:  # began before the window, still going on
            continue
        if len(kept) == MAX_OCCURRENCES_PER_SERIES:
            truncated = True
            break
        key = occurrence_key(uid, occurrence.decoded("RECURRENCE-ID"), series_start)
        kept.append((key, occurrence, occurrence_start))
    items = []
    for key, occurrence, _ in kept:
        original = overrides.get(key, master)
        if original.get("DTEND") is None and original.get("DURATION") is None:
            occurrence.pop("DTEND", None)  # the library gives every occurrence an end
        item = _event(occurrence, actor=actor, source=source, language=language,
                      timezone=timezone, source_id=key, dated=False)
        if item is not None:
            items.append(item)
    checked_until = kept[-1][2] if truncated else end
    present = frozenset(key for key, _, _ in kept) | frozenset(overrides)
    return items, SeriesWindow(uid, start, checked_until, present, timezone, former_key=uid,
                               key_now=occurrence_key(uid, series_start, series_start))


def _event(component: Any, *, actor: str, source: str, language: str, timezone: str,
           source_id: str | None = None, dated: bool = True) -> ContentItem | None:
    """One event; ``dated=False`` leaves out ``CREATED``/``LAST-MODIFIED`` (an occurrence is
    published when it enters the horizon, and an edit of its series that does not show in it,
    such as an ``EXDATE``, must not update it)."""
    uid = _text(component, "UID")
    start_value = _when(component, "DTSTART")
    if not uid or start_value is None:
        log.info("iCalendar event without UID or DTSTART skipped")
        return None
    if source_id is None:
        recurrence = _when(component, "RECURRENCE-ID")
        source_id = uid if recurrence is None else f"{uid}@{recurrence.isoformat()}"
    zone = timezone
    if isinstance(start_value, datetime) and start_value.tzinfo is not None:
        zone = _zone_name(start_value, component.get("DTSTART"), timezone)
    start = _moment(start_value, zone)
    end_value = _when(component, "DTEND")
    duration = _decoded(component, "DURATION")
    end: datetime | None
    if end_value is not None:
        end = _moment(end_value, zone)
        if not isinstance(end_value, datetime):  # all-day: DTEND is the next day, exclusive
            end = end - timedelta(minutes=1) if end > start else None
    elif isinstance(duration, timedelta):
        end = start + duration
    else:
        end = None
    if end is not None and end < start:
        end = None
    status = _text(component, "STATUS").upper()
    description = _text(component, "DESCRIPTION")
    content = text_to_html(description)
    name = _text(component, "SUMMARY") or "(sans titre)"
    created = _when(component, "CREATED") if dated else None
    modified = _when(component, "LAST-MODIFIED") if dated else None
    url = _web_url(_text(component, "URL"))
    return ContentItem(
        kind=ObjectKind.EVENT, actor=actor, source=source, source_id=source_id[:2048],
        name=name[:500], summary_text=derive_summary(description or None, None, content),
        content_html=content, language=language, url=url,
        published_at=created.astimezone(UTC) if isinstance(created, datetime) else None,
        updated_at=modified.astimezone(UTC) if isinstance(modified, datetime) else None,
        tags=_categories(component),
        event=EventDetails(
            start_at=start, end_at=end, timezone=zone, place=_place(component),
            status=status if status in EVENT_STATUSES else "CONFIRMED",
            external_participation_url=None, is_online=False,
        ),
    )
