"""Text from outside that nothing downstream can hold: found once, where it enters. Pure.

Two kinds of code point are valid in a Python ``str`` (and in JSON, XML character references,
percent-encoded forms…) but are no text anywhere we send them:

- **U+0000 (NUL)**: PostgreSQL refuses it in ``text`` and ``jsonb``; C libraries cut at it.
- **lone UTF-16 surrogates** (U+D800–U+DFFF): JSON's ``"\\ud800"`` escape, or the bytes
  ``ED A0 80`` that Python's JSON reader lets through. They cannot be encoded as UTF-8, so nh3,
  the database drivers and every writer of our pages fail on them. (A well-formed pair such as
  ``"\\ud83d\\udd25"`` is decoded into one character and is not a surrogate any more.)

Where text enters, one of two things happens (docs/security.md, "Input at intake"):
:func:`unstorable` finds the first problem so that the caller refuses the input (bodies POSTed
to us, fetched JSON documents, forms and query strings), or :func:`scrub` replaces surrogates
with U+FFFD and drops NULs (feeds and calendars, which the site's admin chose to read).
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
#: Deepest nesting :func:`unstorable_in` and :func:`scrub_tree` walk (JSON is measured before).
MAX_TREE_DEPTH = 256


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored (``None`` when it can)."""
    found = _UNSTORABLE_RE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "NUL characters (U+0000) are not allowed in text"
    return "lone UTF-16 surrogates (U+D800–U+DFFF) are not allowed in text"


def unstorable_in(value: Any) -> str | None:
    """Why some string (key or value) in a JSON-like tree cannot be stored; ``None`` if none.

    Walks without recursion: lists, tuples and dicts (keys included); other values are skipped.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            reason = unstorable(item)
            if reason is not None:
                return reason
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


def scrub(text: str) -> str:
    """``text`` with NULs removed and lone surrogates replaced by U+FFFD."""
    if _UNSTORABLE_RE.search(text) is None:
        return text
    return _SURROGATE_RE.sub("\ufffd", text.replace("\x00", ""))


def scrub_tree(value: Any, _depth: int = 0) -> Any:
    """``value`` with every string in it scrubbed: dicts and lists are changed in place (so that
    dict subclasses such as feedparser's keep their behaviour); a scrubbed string is returned."""
    if isinstance(value, str):
        return scrub(value)
    if _depth > MAX_TREE_DEPTH:
        return value
    if isinstance(value, dict):
        for key in list(value):
            clean_key = scrub(key) if isinstance(key, str) else key
            clean_value = scrub_tree(value[key], _depth + 1)
            if clean_key != key:
                del value[key]
            value[clean_key] = clean_value
    elif isinstance(value, list):
        value[:] = [scrub_tree(item, _depth + 1) for item in value]
    return value
