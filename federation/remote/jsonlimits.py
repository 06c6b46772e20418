"""JSON parsing with a depth and an item budget, without recursion errors. Pure.

Before ``json.loads`` runs, the structure is measured in linear time: string literals are
blanked with one regular expression, and the brackets and commas left are counted. A document
nested deeper than ``max_depth`` or holding more than ``max_items`` values is refused.

The body must be UTF-8 (RFC 8259 §8.1; Python's reader would also take UTF-16 and UTF-32, and
the surrogate bytes ``ED A0 80``). A string or key holding U+0000 or a lone UTF-16 surrogate
(``"\\ud800"``) is refused too: neither PostgreSQL (``text``, ``jsonb``) nor nh3 nor the pages
we write can carry them (:mod:`federation.protocol.text`). Every JSON body we accept or fetch
is parsed here — inbox, push and moderation APIs, fetched actors and objects, WebFinger
answers, JSON feeds — so this is the one place where such text is stopped.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from federation.protocol.text import scrub_tree, unstorable_in

#: Deepest nesting of arrays and objects we parse.
MAX_JSON_DEPTH = 64
#: Most commas (≈ array elements plus object members) in one document.
MAX_JSON_ITEMS = 100_000

#: A string literal: its runs of plain characters taken whole, escapes two bytes at a time (on
#: valid JSON the same strings as ``"(?:[^"\\]|\\.)*"``, ~4× faster: no alternation per
#: character). The closing quote is optional: an unterminated string runs to the end of the
#: body in one match. (With it required, every later quote started a new scan to the end:
#: ``"\`` repeated over a 1 MB inbox body, unsigned, cost about an hour of CPU.)
_STRING_RE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
#: The only spellings of U+0000 and of a surrogate in UTF-8 JSON (raw NUL is invalid JSON, raw
#: surrogate bytes are invalid UTF-8): without one of them the parsed strings need no walk.
_ESCAPE_RE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
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
    body: bytes, *, max_depth: int = MAX_JSON_DEPTH, max_items: int = MAX_JSON_ITEMS,
    scrub: bool = False,
) -> Any:
    """Parse ``body`` as JSON within the budgets; :class:`JSONLimitError` otherwise.

    Strings holding a NUL or a lone surrogate are refused, or with ``scrub`` (feeds the admin
    chose to read) cleaned: NULs dropped, surrogates replaced by U+FFFD.
    """
    depth, items = measure_json(body)
    if depth > max_depth:
        raise JSONLimitError(f"JSON nested deeper than {max_depth}")
    if items > max_items:
        raise JSONLimitError(f"JSON holds more than {max_items} items")
    try:
        text = body.decode("utf-8-sig")  # strict: a UTF-8 byte order mark is tolerated
    except UnicodeDecodeError as exc:
        raise JSONLimitError("JSON must be UTF-8") from exc
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as exc:  # belt and braces: the measure above should prevent it
        raise JSONLimitError("JSON nested too deep") from exc
    except ValueError as exc:
        raise JSONLimitError("not valid JSON") from exc
    if not _ESCAPE_RE.search(text):
        return document
    if scrub:
        return scrub_tree(document)
    reason = unstorable_in(document)
    if reason is not None:
        raise JSONLimitError(f"JSON strings: {reason}")
    return document
