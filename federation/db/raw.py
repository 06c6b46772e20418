"""Hand-written statements for the inbox's hot path, described by the models.

tortoise builds every query in Python (~0.35 ms of CPU for a one-row SELECT or INSERT, five
times the cost of sending the SQL). The few statements every incoming activity runs are written
here instead: the SQL text is built once per model and column list, and values are converted by
the models' own fields, so rows read back through the ORM are the same as if the ORM wrote them
(with their validation: see :class:`_InsertPlan`). Only plain columns: no signals, no relations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from tortoise import fields
from tortoise.fields import Field
from tortoise.fields.data import CharEnumFieldInstance
from tortoise.models import Model
from tortoise.validators import MaxLengthValidator

_SQL: dict[tuple[Any, ...], str] = {}


def placeholders(dialect: str, count: int) -> list[str]:
    """``?`` for SQLite, ``$1…$n`` for PostgreSQL."""
    return ["?"] * count if dialect == "sqlite" else [f"${i}" for i in range(1, count + 1)]


def db_value(model: type[Model], name: str, value: object) -> object:
    """``value`` converted for the column of field ``name``, as the ORM would."""
    return model._meta.fields_map[name].to_db_value(value, model)


def _column(model: type[Model], name: str) -> str:
    return model._meta.fields_db_projection[name]


class _InsertPlan:
    """How a row of one model is written by :func:`insert_new` / :func:`insert_new_rows`,
    worked out once per model: every column but the generated key, in the fields' order, each
    with its converter and what it holds when not given.

    A value given is converted by the field's own ``to_db_value`` (its validation included:
    a ``CharField``'s ``max_length``, a non-null field given ``None``), except where the result
    is known without it: a ``str`` within a plain ``CharField``'s ``max_length``, a member of a
    ``CharEnumField``'s enum (its value within ``max_length``), an ``int``/``bool``/``str`` for
    an ``IntField``/``BooleanField``/``TextField`` without validators, an aware ``datetime``
    for a ``DatetimeField`` without validators, a ``dict``/``list`` for a ``JSONField``
    without validators (its encoder). Anything else — a custom validator, a subclass, a
    value of another type, an over-long string — goes through ``to_db_value``, which raises
    as it always did. A constant default (``None``, a ``str``, a number, an enum member…) is
    converted once; ``dict``/``list`` defaults are encoded once (a new one is always empty);
    any other callable default and ``auto_now(_add)`` are computed per row.
    """

    __slots__ = ("fields_map", "names", "columns", "slots", "sql")

    def __init__(self, model: type[Model]) -> None:
        meta = model._meta
        self.fields_map = meta.fields_map
        slots: list[tuple[str, Callable[[Any], Any], int, Any]] = []
        for name, field in meta.fields_map.items():
            if name not in meta.fields_db_projection or field.pk:
                continue
            convert = _converter(model, field)
            default = field.default
            if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
                slots.append((name, convert, _NOW, None))
            elif default is dict or default is list:
                slots.append((name, convert, _FIXED, convert(default())))
            elif callable(default):
                slots.append((name, convert, _CALL, default))
            elif default is None or isinstance(default, _IMMUTABLE):
                try:
                    slots.append((name, convert, _FIXED, convert(default)))
                except Exception:  # e.g. None for a non-null CharField: refused at each insert
                    slots.append((name, convert, _CONVERT, default))
            else:  # a mutable constant: converted as it is at each insert
                slots.append((name, convert, _CONVERT, default))
        self.slots = tuple(slots)
        self.names = tuple(slot[0] for slot in slots)
        self.columns = tuple(_column(model, name) for name in self.names)
        self.sql: dict[tuple[Any, ...], str] = {}

    def encode(self, given: dict[str, Any]) -> list[Any]:
        """The database values of one row: ``given``, else the defaults."""
        values: list[Any] = []
        now: datetime | None = None
        for name, convert, how, default in self.slots:
            if name in given:
                values.append(convert(given[name]))
            elif how is _FIXED:
                values.append(default)
            elif how is _NOW:
                if now is None:
                    now = datetime.now(UTC)
                values.append(convert(now))
            elif how is _CALL:
                values.append(convert(default()))
            else:
                values.append(convert(default))
        return values


_FIXED, _NOW, _CALL, _CONVERT = 1, 2, 3, 4
_IMMUTABLE = (str, int, float, bool, bytes, Enum, datetime, tuple, frozenset)
_PLANS: dict[type[Model], _InsertPlan] = {}


def insert_plan(model: type[Model]) -> _InsertPlan:
    """The insert plan of ``model`` (rebuilt if tortoise replaced the model's fields)."""
    plan = _PLANS.get(model)
    if plan is None or plan.fields_map is not model._meta.fields_map:
        plan = _PLANS[model] = _InsertPlan(model)
    return plan


def _converter(model: type[Model], field: Field[Any]) -> Callable[[Any], Any]:
    """``field.to_db_value`` for ``model``, with the shortcuts :class:`_InsertPlan` lists."""

    def slow(value: Any) -> Any:
        return field.to_db_value(value, model)

    kind, validators = type(field), field.validators
    if kind in (fields.CharField, CharEnumFieldInstance):
        if len(validators) != 1 or type(validators[0]) is not MaxLengthValidator:
            return slow
        limit = validators[0].max_length
        if kind is fields.CharField:
            def char(value: Any) -> Any:
                if type(value) is str and len(value) <= limit:
                    return value
                return slow(value)
            return char
        enum_type = field.enum_type  # type: ignore[attr-defined]

        def member(value: Any) -> Any:
            if type(value) is enum_type:
                text = value.value
                if type(text) is str and len(text) <= limit:
                    return text
            return slow(value)
        return member
    if validators:
        return slow
    plain = {fields.IntField: int, fields.BooleanField: bool, fields.TextField: str}.get(kind)
    if plain is not None and field.field_type is plain:
        def same(value: Any) -> Any:
            return value if type(value) is plain else slow(value)
        return same
    if kind is fields.DatetimeField:
        def moment(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is not None:
                return value
            return slow(value)
        return moment
    if kind is fields.JSONField:
        encoder = field.encoder  # type: ignore[attr-defined]

        def document(value: Any) -> Any:
            return encoder(value) if type(value) in (dict, list) else slow(value)
        return document
    return slow


async def insert_new(model: type[Model], fields: dict[str, Any]) -> int | None:
    """Insert a row of ``model`` (defaults as the ORM applies them); ``None`` when a unique
    constraint already holds such a row (``ON CONFLICT DO NOTHING``), else the new id.

    Values are converted and validated as the ORM does (:class:`_InsertPlan`): an over-long
    ``CharField`` value or ``None`` for a non-null one raises tortoise's ``ValidationError``;
    other constraint failures (a foreign key) raise tortoise's ``IntegrityError``.
    """
    db = model._meta.db
    plan = insert_plan(model)
    params = plan.encode(fields)
    dialect = db.capabilities.dialect
    sql = plan.sql.get(("insert", dialect))
    if sql is None:
        columns = ", ".join(plan.columns)
        marks = ", ".join(placeholders(dialect, len(plan.columns)))
        # The leading comment makes tortoise's asyncpg client fetch the RETURNING row.
        sql = plan.sql["insert", dialect] = (
            f"/* insert */ INSERT INTO {model._meta.db_table} ({columns}) "
            f"VALUES ({marks}) ON CONFLICT DO NOTHING RETURNING id")
    _, rows = await db.execute_query(sql, params)
    return int(rows[0]["id"]) if rows else None


async def insert_new_rows(model: type[Model], rows: Sequence[dict[str, Any]],
                          returning: Sequence[str]) -> list[tuple[Any, ...]]:
    """:func:`insert_new` for several rows (the same fields given in each) in one multi-row
    ``INSERT … ON CONFLICT DO NOTHING``: one statement, so all of them are written or none.
    Returns ``id`` and the ``returning`` columns (raw database values) of the rows written, in
    no particular order: a row a unique constraint refused is absent (as is a row that repeats
    an earlier one of ``rows``)."""
    if not rows:
        return []
    db = model._meta.db
    dialect = db.capabilities.dialect
    plan = insert_plan(model)
    params = [value for row in rows for value in plan.encode(row)]
    key = ("insert-rows", tuple(returning), len(rows), dialect)
    sql = plan.sql.get(key)
    if sql is None:
        width = len(plan.columns)
        listed = ", ".join(plan.columns)
        marks = placeholders(dialect, width * len(rows))
        values = ", ".join("(" + ", ".join(marks[i:i + width]) + ")"
                           for i in range(0, len(marks), width))
        selected = ", ".join(["id", *(_column(model, c) for c in returning)])
        # The leading comment makes tortoise's asyncpg client fetch the RETURNING rows.
        sql = plan.sql[key] = (f"/* insert */ INSERT INTO {model._meta.db_table} ({listed}) "
                               f"VALUES {values} ON CONFLICT DO NOTHING RETURNING {selected}")
    _, found = await db.execute_query(sql, params)
    columns = ["id", *(_column(model, c) for c in returning)]
    return [tuple(row[c] for c in columns) for row in found]


async def first_row(model: type[Model], columns: Sequence[str],
                    **where: Any) -> tuple[Any, ...] | None:
    """``columns`` (raw database values) of the first row where every ``where`` column equals its
    value, or ``None``."""
    db = model._meta.db
    names = tuple(where)
    key = ("select", model, tuple(columns), names, db.capabilities.dialect)
    sql = _SQL.get(key)
    if sql is None:
        marks = placeholders(db.capabilities.dialect, len(names))
        condition = " AND ".join(f"{_column(model, n)} = {m}"
                                 for n, m in zip(names, marks, strict=True))
        selected = ", ".join(_column(model, c) for c in columns)
        sql = _SQL[key] = f"SELECT {selected} FROM {model._meta.db_table} WHERE {condition} LIMIT 1"
    _, rows = await db.execute_query(sql, [db_value(model, n, where[n]) for n in names])
    if not rows:
        return None
    row = rows[0]
    return tuple(row[_column(model, c)] for c in columns)


def numbered(text: str, dialect: str) -> str:
    """``text`` written with ``?`` placeholders, numbered (``$1``…) for PostgreSQL."""
    if dialect != "postgres":
        return text
    parts = text.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


def fair_claim_sql(table: str, *, key: str, due: str, busy: str, lease: str, guard: str,
                   returning: str, dialect: str, grouped: bool = False,
                   queued: str | None = None) -> str:
    """The one fair claim, for a queue table with ``id``, ``next_attempt_at`` and a ``key``
    column (the remote host): one ``UPDATE … RETURNING`` statement.

    Due rows (``due``, a condition) are ranked within their key, oldest first; a key's busy
    rows (``busy``, a condition: its running jobs) count against its cap: a row's *slot* is
    its rank plus its key's busy count, and only slots up to the cap are taken, slot by slot
    across keys (every key's first job, then every key's second…), oldest first within a
    slot. So however large or old one key's backlog is (a host that hangs keeps its jobs
    running until they time out), it never hides the due work of other keys. The chosen rows
    get ``lease`` (SET clause) where ``guard`` (a condition) still holds on their latest
    version; PostgreSQL locks them ``FOR UPDATE SKIP LOCKED`` (concurrent workers skip each
    other's rows), SQLite runs the one statement atomically.

    The rows are chosen without ranking every due row (see :func:`_slotted_choice`):
    ``queued`` (a condition) selects a key's waiting rows, due or not, whose keys are walked
    when the oldest due rows do not settle the claim. Parameters, in order: ``lease``'s,
    ``busy``'s, ``due``'s, the head's size, the head's size again, the limit, ``queued``'s,
    ``queued``'s, ``due``'s, the cap, the cap, the limit, ``guard``'s.

    ``grouped`` (the delivery queue): a key's rows are taken together, and the claim reads a
    bounded head of the queue instead of ranking every due row (see :func:`_grouped_choice`).
    Parameters, in order: ``lease``'s, ``busy``'s, ``due``'s, the cap, the head's size,
    ``busy``'s again, the cap, the limit, ``guard``'s.
    """
    if grouped:
        chosen = _grouped_choice(table, key, due, busy)
    else:
        if queued is None:
            raise ValueError("the slotted claim needs the `queued` condition (its key walk)")
        chosen = _slotted_choice(table, key, due, busy, queued, dialect)
    # The chosen rows are then found by their id, never by another index: SQLite would
    # otherwise walk every row satisfying ``guard`` (all pending rows) through an index on
    # ``state`` (``NOT INDEXED`` still looks rows up by rowid), and PostgreSQL would read the
    # whole table for a hash join when it expects many chosen rows (an array from a subquery
    # is expected small: the primary key's index is probed).
    if dialect == "postgres":
        chosen = (f'SELECT "id" FROM "{table}" WHERE "id" = ANY(ARRAY({chosen})) '
                  'FOR UPDATE SKIP LOCKED')
        target, ids = f'"{table}"', f'"id" = ANY(ARRAY({chosen}))'
    else:
        target, ids = f'"{table}" NOT INDEXED', f'"id" IN ({chosen})'
    # (the leading comment makes tortoise's asyncpg client fetch the RETURNING rows)
    return numbered(f'/* claim */ UPDATE {target} SET {lease} WHERE {ids} '
                    f'AND {guard} RETURNING {returning}', dialect)


def _slotted_choice(table: str, key: str, due: str, busy: str, queued: str,
                    dialect: str) -> str:
    """The rows a slotted claim takes (a ``SELECT "id"``): exactly the fair claim's rule
    (slot = rank within the key + the key's busy rows, slots up to the cap, ordered by
    ``(slot, next_attempt_at, id)``), read from at most two bounded sources instead of a
    window over every due row:

    - *The head*: the oldest due rows, in ``(next_attempt_at, id)`` order, as many as the
      head's size (an index in that order streams them; nothing else is read). A key's rows
      in the head are its oldest, so their ranks are right. The head settles the claim when
      it holds every due row, or at least ``limit`` slot-1 rows (first rows of keys with
      nothing busy): any key not in the head, busy or not, has all its due rows newer than
      the head, so none of them would come before those.
    - *The key walk*, only when the head does not settle it (a big old backlog of a few keys
      fills the head, or a key at its cap does — a hung host, or a kind with one key): the
      keys with queued rows are walked in key order (one index seek each), and each key's
      oldest due rows, up to the cap, are read (one index range each). Its cost grows with
      the number of keys, not with their backlogs.
    """
    # A key's oldest due rows: ordered by the key too (one value), so that only the index in
    # (key, next_attempt_at, id) order gives them without a sort — in time order, filtered by
    # key, they could lie behind every other key's backlog. (PostgreSQL drops a sort on a
    # column equal to a value: the key is written as a range of one value.)
    if dialect == "postgres":
        walked_rows = (f'FROM walk CROSS JOIN LATERAL (SELECT "id", "{key}" AS "key", '
                       f'"next_attempt_at" FROM "{table}" WHERE {due} '
                       f'AND "{key}" >= walk."key" AND "{key}" <= walk."key" '
                       f'ORDER BY "{key}", "next_attempt_at", "id" LIMIT ?) AS j')
    else:
        walked_rows = (f'FROM walk JOIN (SELECT "id", "{key}" AS "key", "next_attempt_at" '
                       f'FROM "{table}") AS j ON j."id" IN (SELECT "id" FROM "{table}" '
                       f'WHERE {due} AND "{key}" = walk."key" '
                       f'ORDER BY "{key}", "next_attempt_at", "id" LIMIT ?)')
    head_join, head_busy = _busy_of("head", dialect)
    walked_join, walked_busy = _busy_of("j", dialect)
    return (
        f'WITH RECURSIVE busy AS (SELECT "{key}" AS "key", count(*) AS "n" FROM "{table}" '
        f'WHERE {busy} GROUP BY "{key}"), '
        f'head AS (SELECT "id", "{key}" AS "key", "next_attempt_at" FROM "{table}" '
        f'WHERE {due} ORDER BY "next_attempt_at", "id" LIMIT ?), '
        'ranked AS (SELECT head."id", head."next_attempt_at", row_number() OVER '
        '(PARTITION BY head."key" ORDER BY head."next_attempt_at", head."id") '
        f'+ {head_busy} AS "slot" FROM head {head_join}), '
        'settled AS (SELECT ((SELECT count(*) FROM head) < ? OR '
        '(SELECT count(*) FROM ranked WHERE "slot" = 1) >= ?) AS "yes"), '
        f'keys("key") AS (SELECT (SELECT "{key}" FROM "{table}" WHERE {queued} '
        f'ORDER BY "{key}" LIMIT 1) WHERE NOT (SELECT "yes" FROM settled) '
        f'UNION ALL SELECT (SELECT "{key}" FROM "{table}" WHERE {queued} '
        f'AND "{key}" > keys."key" ORDER BY "{key}" LIMIT 1) FROM keys '
        'WHERE keys."key" IS NOT NULL), '
        'walk AS (SELECT "key" FROM keys WHERE "key" IS NOT NULL), '
        'walked AS (SELECT j."id", j."next_attempt_at", row_number() OVER '
        '(PARTITION BY j."key" ORDER BY j."next_attempt_at", j."id") '
        f'+ {walked_busy} AS "slot" {walked_rows} {walked_join}), '
        'chosen AS (SELECT "id", "slot", "next_attempt_at" FROM ranked '
        'WHERE (SELECT "yes" FROM settled) '
        'UNION ALL SELECT "id", "slot", "next_attempt_at" FROM walked) '
        'SELECT "id" FROM chosen WHERE "slot" <= ? '
        'ORDER BY "slot", "next_attempt_at", "id" LIMIT ?'
    )


def _busy_of(row: str, dialect: str) -> tuple[str, str]:
    """(a join, an expression): the busy count of the key of ``row`` (a CTE alias), 0 if none,
    for the slotted claim (the job engine: its busy keys are its few running jobs' hosts).

    PostgreSQL hash-joins the ``busy`` CTE. SQLite has no index on a CTE: it scans the whole
    of it for every row of a join, and for a correlated subquery too inside an ``UPDATE``
    (outside one it builds an automatic index). The grouped claim, whose busy hosts are
    hundreds, counts them through the table's index instead (:func:`_grouped_choice`).
    """
    if dialect == "postgres":
        return f'LEFT JOIN busy ON busy."key" = {row}."key"', 'COALESCE(busy."n", 0)'
    return "", f'COALESCE((SELECT "n" FROM busy WHERE busy."key" = {row}."key"), 0)'


def _grouped_choice(table: str, key: str, due: str, busy: str) -> str:
    """The rows a grouped claim takes (a ``SELECT "id"``): the fair claim's rule — a row is
    taken while its rank within its key plus the key's busy rows stays within the cap, so no
    key holds more than the cap and a key at its cap takes nothing — with two changes:

    - *A bounded head.* Only the first rows of the due queue in ``(next_attempt_at, key, id)``
      order are read (an index in that order streams them), skipping keys already at their
      cap: the cost of a claim no longer grows with the backlog (100,000 due deliveries were
      all ranked by every claim). A key's rows in the head are its oldest, so their ranks are
      right; a key at its cap is left out of the head, so it cannot fill it (a hung host's
      backlog hides nothing).
    - *Keys together.* The rows are taken key by key: keys with the fewest busy rows first,
      then by their oldest due row, then by key; within a key, oldest first. A claim holds a
      few rows of fewer keys instead of one row of many, so a host's deliveries go out back to
      back on one warm connection; and a host whose deliveries just finished comes first again
      among the hosts with nothing busy (its next ones follow while its connection is open).
    """
    # A head row's busy count: counted for its key through the index on (key, state), not
    # looked up in the ``busy`` CTE (no index on a CTE: SQLite scanned all of it for every head
    # row — 256 busy hosts × 200 rows was 6 of a claim's 7 ms — and builds no automatic index
    # for it inside an UPDATE).
    return (
        f'WITH busy AS (SELECT "{key}" AS "key", count(*) AS "n" FROM "{table}" WHERE {busy} '
        f'GROUP BY "{key}"), '
        f'head AS (SELECT "id", "{key}" AS "key", "next_attempt_at" FROM "{table}" WHERE {due} '
        f'AND "{key}" NOT IN (SELECT "key" FROM busy WHERE "n" >= ?) '
        f'ORDER BY "next_attempt_at", "{key}", "id" LIMIT ?), '
        'due AS (SELECT "id", "key", row_number() OVER w AS "rank", '
        'first_value("next_attempt_at") OVER w AS "first_at" FROM head '
        'WINDOW w AS (PARTITION BY "key" ORDER BY "next_attempt_at", "id")), '
        f'counted AS MATERIALIZED (SELECT "id", "key", "rank", "first_at", (SELECT count(*) FROM "{table}" '
        f'WHERE "{key}" = due."key" AND {busy}) AS "busy" FROM due) '
        'SELECT "id" FROM counted WHERE "rank" + "busy" <= ? '
        'ORDER BY "busy", "first_at", "key", "rank" LIMIT ?'
    )
