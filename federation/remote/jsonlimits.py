"""JSON parsing with a depth and an item budget, without recursion errors. Pure.

Before ``json.loads`` runs, the structure is measured in linear time: string literals are
blanked with one regular expression, and the brackets and commas left are counted. A document
nested deeper than ``max_depth`` or holding more than ``max_items`` values is refused.

A string holding U+0000 is refused too: neither PostgreSQL (``text``, ``jsonb``) nor the HTML
we publish can carry it, and no legitimate document needs it. Every JSON body we accept or
fetch is parsed here, so no NUL reaches the database.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

#: Deepest nesting of arrays and objects we parse.
MAX_JSON_DEPTH = 64
#: Most commas (≈ array elements plus object members) in one document.
MAX_JSON_ITEMS = 100_000

_STRING_RE = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
#: ``\u0000`` preceded by an even number of backslashes (an escaped backslash is not a NUL).
_NUL_ESCAPE_RE = re.compile(rb'(?<!\\)(?:\\\\)*\\u0000')
_KEEP = b"[]{},"
_DELETE = bytes(b for b in range(256) if b not in _KEEP)


class JSONLimitError(ValueError):
    """The document is not JSON, or exceeds a structural budget."""


def measure_json(body: bytes) -> tuple[int, int]:
    """``(depth, items)`` of a JSON text, in linear time."""
    structure = _STRING_RE.sub(b'""', body).translate(None, _DELETE)
    items = structure.count(b",")
    steps = (1 if c in (0x5B, 0x7B) else -1 for c in structure if c != 0x2C)
    depth = max(accumulate(steps), default=0)
    return depth, items


def _refuse_constant(name: str) -> Any:
    raise JSONLimitError(f"non-standard JSON constant {name}")


def parse_json_limited(
    body: bytes, *, max_depth: int = MAX_JSON_DEPTH, max_items: int = MAX_JSON_ITEMS
) -> Any:
    """Parse ``body`` as JSON within the budgets; :class:`JSONLimitError` otherwise."""
    depth, items = measure_json(body)
    if depth > max_depth:
        raise JSONLimitError(f"JSON nested deeper than {max_depth}")
    if items > max_items:
        raise JSONLimitError(f"JSON holds more than {max_items} items")
    if _NUL_ESCAPE_RE.search(body):
        raise JSONLimitError("JSON strings must not contain NUL characters (U+0000)")
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except RecursionError as exc:  # belt and braces: the measure above should prevent it
        raise JSONLimitError("JSON nested too deep") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise JSONLimitError("not valid JSON") from exc
