"""Natural-language values as they arrive: a field, its language map, or both. Pure.

ActivityStreams writes a natural-language property (``content``, ``name``, ``summary``) either
as a plain string or as a language map (``contentMap``, ``nameMap``, ``summaryMap``: BCP 47
tag → string), or both (activitystreams-core §4.7). Mastodon and GoToSocial send both,
WordPress and Friendica both (Friendica's map may differ from its ``content``), and a document
may carry the map alone. Whoever reads such a property reads it through :func:`natural_text`.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

#: At most this many entries of a language map are looked at.
MAX_MAP_ENTRIES = 64


#: A language tag as ``contentMap``/``nameMap``/``summaryMap`` keys carry it (BCP 47, short).
_LANGUAGE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def language_tag(value: Any) -> str | None:
    """``value`` when it looks like a BCP 47 tag (``fr``, ``pt-BR``, ``und``), else ``None``."""
    if not isinstance(value, str) or not 2 <= len(value) <= 16 or not set(value) <= _LANGUAGE_CHARS:
        return None
    head, *rest = value.split("-")
    if not (2 <= len(head) <= 3 and head.isalpha()) or len(rest) > 2 \
            or not all(1 <= len(part) <= 8 for part in rest):
        return None
    return value


def natural_text(document: dict[str, Any], name: str, limit: int) -> tuple[str, str | None]:
    """A natural-language field and its language: ``name`` (``content``, ``name``,
    ``summary``), else its language map ``<name>Map`` (a document may carry either or both).

    The text is ``document[name]`` when it is a string, else the first string of the map; the
    language is the map's key for that text (the first key when ``name`` was a string), or
    ``None``. The text is cut at ``limit`` characters (non-strings → ``""``)."""
    value = document.get(name)
    mapped = document.get(name + "Map")
    language = None
    if isinstance(mapped, dict):
        for key, entry in islice(mapped.items(), MAX_MAP_ENTRIES):
            if isinstance(entry, str):
                language = language_tag(key)
                if not isinstance(value, str):
                    value = entry
                break
    return (value[:limit] if isinstance(value, str) else ""), language

