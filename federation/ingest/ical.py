"""iCalendar feeds: each ``VEVENT`` becomes an :class:`ContentItem` event.

Times keep their timezone (``TZID`` with its ``VTIMEZONE``; a floating or UTC time is shown in
the site's timezone), ``LOCATION`` becomes a Place with a PostalAddress when it can be read,
``GEO`` its coordinates, ``STATUS:CANCELLED`` a cancellation. ``DTSTAMP`` is ignored (it changes
on every export, so it would make every poll look like a change). A recurring event is published
once, for its first occurrence; a ``RECURRENCE-ID`` override is its own event.
"""

from __future__ import annotations

import logging
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import icalendar

from federation.db.content import ObjectKind
from federation.errors import BadRequest
from federation.ingest.feeds import _web_url
from federation.ingest.payloads import parse_place
from federation.protocol.html import text_to_html
from federation.protocol.objects import PlaceView, TagView
from federation.publishing.items import EVENT_STATUSES, ContentItem, EventDetails, derive_summary

log = logging.getLogger(__name__)

MAX_EVENTS = 500


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
    try:
        return component.decoded(name)
    except KeyError:
        return None


def parse_calendar(body: bytes, *, actor: str, source: str = "ical", language: str = "fr",
                   timezone: str = "Europe/Paris") -> list[ContentItem]:
    """The events of an iCalendar document, as events of ``actor``."""
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError) as error:
        raise BadRequest(f"not an iCalendar document: {error}") from None
    items = []
    for component in calendar.walk("VEVENT")[:MAX_EVENTS]:
        try:
            item = _event(component, actor=actor, source=source, language=language,
                          timezone=timezone)
        except (ValueError, TypeError, KeyError) as error:
            log.info("iCalendar event skipped: %s", error)
            continue
        if item is not None:
            items.append(item)
    return items


def _event(component: Any, *, actor: str, source: str, language: str,
           timezone: str) -> ContentItem | None:
    uid = _text(component, "UID")
    start_value = _decoded(component, "DTSTART")
    if not uid or start_value is None:
        log.info("iCalendar event without UID or DTSTART skipped")
        return None
    recurrence = _decoded(component, "RECURRENCE-ID")
    source_id = uid if recurrence is None else f"{uid}@{recurrence.isoformat()}"
    zone = timezone
    if isinstance(start_value, datetime) and start_value.tzinfo is not None:
        zone = _zone_name(start_value, component.get("DTSTART"), timezone)
    start = _moment(start_value, zone)
    end_value = _decoded(component, "DTEND")
    duration = _decoded(component, "DURATION")
    if end_value is not None:
        end: datetime | None = _moment(end_value, zone)
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
    created = _decoded(component, "CREATED")
    modified = _decoded(component, "LAST-MODIFIED")
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
