"""What publishing decides on becomes typed columns, filled from the stored documents.

An event's start, end, zone, place (the one line its summary shows) and status, and for every
object the ``updated`` of the last Update sent, were read back from the ActivityPub document;
they are columns now, and this migration copies them out of each row's document once.
"""

from datetime import UTC, datetime
from json import loads
from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


def _moment(value: Any) -> datetime | None:
    """An ISO time of a document (``Z`` or an offset) in UTC, or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _place(location: Any) -> str | None:
    """The place line the publisher compared: name, street, locality, none repeated."""
    if not isinstance(location, dict):
        return None
    raw = location.get("address")
    address: dict[str, Any] = raw if isinstance(raw, dict) else {}
    parts: list[str] = []
    for part in (location.get("name"), address.get("streetAddress"),
                 address.get("addressLocality")):
        if part and str(part) not in parts:
            parts.append(str(part))
    return ", ".join(parts) or None


def facts(document: Any) -> tuple[Any, ...]:
    """The typed columns of one stored document: (edited_at, start_at, end_at, timezone,
    place, event_status)."""
    if not isinstance(document, dict):
        return (None,) * 6
    edited_at = _moment(document.get("updated"))
    if document.get("type") != "Event":
        return (edited_at, None, None, None, None, None)
    return (edited_at, _moment(document.get("startTime")), _moment(document.get("endTime")),
            _text(document.get("timezone"), 64), _place(document.get("location")),
            _text(document.get("ical:status"), 16))


async def copy_out_of_documents(apps: Any, schema_editor: Any) -> None:
    """Fill the new columns of every published object from its document."""
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    _, rows = await client.execute_query(
        "SELECT id, document FROM content_objects WHERE state = 'published'")
    marks = [f"${n}" for n in range(1, 8)] if postgres else ["?"] * 7
    update = (f"UPDATE content_objects SET edited_at = {marks[0]}, start_at = {marks[1]}, "
              f"end_at = {marks[2]}, timezone = {marks[3]}, place = {marks[4]}, "
              f"event_status = {marks[5]} WHERE id = {marks[6]}")
    for row in rows:
        document = row["document"]
        values = facts(loads(document) if isinstance(document, str | bytes) else document)
        if any(value is not None for value in values):
            await client.execute_query(update, [*values, row["id"]])


class Migration(migrations.Migration):
    dependencies = [('actors', '0001_initial'), ('content', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ContentObject',
            name='edited_at',
            field=fields.DatetimeField(null=True, description='the updated time of the last Update sent (null before one)', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ContentObject',
            name='end_at',
            field=fields.DatetimeField(null=True, description="an event's end (UTC), if it has one", auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ContentObject',
            name='event_status',
            field=fields.CharField(null=True, description='TENTATIVE, CONFIRMED or CANCELLED (events)', max_length=16),
        ),
        ops.AddField(
            model_name='ContentObject',
            name='place',
            field=fields.TextField(null=True, description="an event's place on one line: name, street, locality", unique=False),
        ),
        ops.AddField(
            model_name='ContentObject',
            name='start_at',
            field=fields.DatetimeField(null=True, description="an event's start (UTC)", auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ContentObject',
            name='timezone',
            field=fields.CharField(null=True, description='the IANA zone an event is shown in', max_length=64),
        ),
        ops.RunPython(copy_out_of_documents, ops.RunPython.noop),
    ]
