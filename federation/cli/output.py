"""How every listing prints: a table with column headers for people, or ``--json`` — one JSON
document ``{"<name>": [rows]}`` with the same fields — for scripts.

A column is ``(header, key)``; the widths follow the longest value (at most :data:`MAX_WIDTH`,
the last column is never cut). Nothing found says so on stderr, so that a pipe reads nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

#: A column is cut at this width (the last one never is).
MAX_WIDTH = 48

Column = tuple[str, str]


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="one JSON document instead of a table (same fields)")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(_cell(v) for v in value) or "-"
    text = " ".join(str(value).split())
    return text or "-"


def emit(name: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *,
         as_json: bool, empty: str = "(none)") -> None:
    """Print ``rows`` as a table of ``columns`` (headers first), or as JSON."""
    if as_json:
        print(json.dumps({name: [dict(row) for row in rows]}, ensure_ascii=False, default=str))
        return
    if not rows:
        print(empty, file=sys.stderr)
        return
    table = [[header.upper() for header, _ in columns]]
    table += [[_cell(row.get(key)) for _, key in columns] for row in rows]
    widths = [min(MAX_WIDTH, max(len(line[i]) for line in table)) for i in range(len(columns))]
    for line in table:
        cells = []
        for i, cell in enumerate(line):
            last = i == len(columns) - 1
            if not last and len(cell) > widths[i]:
                cell = cell[: widths[i] - 1] + "…"
            cells.append(cell if last else cell.ljust(widths[i]))
        print("  ".join(cells).rstrip())
