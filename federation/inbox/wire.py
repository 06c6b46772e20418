"""Pure helpers on incoming ActivityStreams JSON: ids, lists, addressing. No I/O.

Wire JSON stays at the edge: listeners read fields through these helpers, which never trust a
type (a field documented as a string may arrive as a list, an object or a number).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from federation.protocol.actors import AS_PUBLIC
from federation.protocol.language import language_tag as language_tag
from federation.protocol.language import natural_text as natural_text
from federation.protocol.uris import is_http_url, same_origin

#: ``Public`` as it arrives: full IRI, compact IRI, bare term.
PUBLIC_SPELLINGS = frozenset({
    AS_PUBLIC, "as:Public", "Public",
})
#: At most this many entries are read from any list field.
MAX_LIST_ITEMS = 64
URI_MAX = 2048


def as_list(value: Any, limit: int = MAX_LIST_ITEMS) -> list[Any]:
    """``value`` as a list (``None`` → ``[]``), cut at ``limit`` entries."""
    if value is None:
        return []
    return (value if isinstance(value, list) else [value])[:limit]


def type_of(document: Any, known: Collection[str]) -> str | None:
    """The first of ``document``'s types found in ``known`` (``type`` may be a string or a list;
    anything else — an object, a number — is no type): ``None`` when none is known."""
    if not isinstance(document, dict):
        return None
    for kind in as_list(document.get("type"), 8):
        if isinstance(kind, str) and kind in known:
            return kind
    return None


def id_of(value: Any) -> str | None:
    """The id of a reference: a string, or an object's ``id`` (``None`` otherwise)."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, str) and 0 < len(value) <= URI_MAX:
        return value
    return None


def first_id(value: Any) -> str | None:
    """The first id in a reference or a list of references."""
    for item in as_list(value):
        found = id_of(item)
        if found is not None:
            return found
    return None


def ids_of(value: Any) -> list[str]:
    """Every id found in a reference or a list of references."""
    return [found for item in as_list(value) if (found := id_of(item)) is not None]


def addressees(document: dict[str, Any]) -> set[str]:
    """Every id in ``to``, ``cc``, ``bto``, ``bcc`` and ``audience``."""
    found: set[str] = set()
    for name in ("to", "cc", "bto", "bcc", "audience"):
        found.update(ids_of(document.get(name)))
    return found


def is_public(document: dict[str, Any]) -> bool:
    """True when ``to`` or ``cc`` addresses Public, in any of its three spellings."""
    return any(
        target in PUBLIC_SPELLINGS
        for name in ("to", "cc")
        for target in ids_of(document.get(name))
    )


def text(value: Any, limit: int) -> str:
    """A string field cut at ``limit`` characters (non-strings → ``""``)."""
    return value[:limit] if isinstance(value, str) else ""


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime, or ``None``."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def owned_by(object_uri: str | None, actor_uri: str) -> bool:
    """True when ``object_uri`` lives on the origin of ``actor_uri`` (origins parsed)."""
    return object_uri is not None and same_origin(object_uri, actor_uri)


def attributed_to(document: dict[str, Any]) -> str | None:
    """The first author named by ``attributedTo`` (a string, an object or a list)."""
    return first_id(document.get("attributedTo"))


def http_url(value: Any) -> str | None:
    """An http(s) URL from a string, a ``Link`` (``href``) or a list of them; else ``None``."""
    for item in as_list(value, 8):
        if isinstance(item, dict):
            item = item.get("href") or item.get("url")
        if is_http_url(item) and len(item) <= URI_MAX:
            return item
    return None


#: Activities a group may announce (FEP-1b12: Lemmy, PieFed, Mbin wrap their members'
#: activities in the community's ``Announce``).
ACTIVITY_TYPES = frozenset({
    "Create", "Update", "Delete", "Undo", "Like", "Dislike", "EmojiReact", "Announce", "Flag",
    "Follow", "Block", "Add", "Remove", "Lock", "Move", "Join", "Leave",
})


def announced_object(value: Any) -> Any:
    """What an ``Announce`` shares: its ``object`` as is, or — when it wraps a ``Create``
    (FEP-1b12) — the created object; ``None`` when it wraps any other activity (a vote, an
    edit, a deletion relayed by a group: not a share of anything)."""
    kind = type_of(value, ACTIVITY_TYPES)
    if kind is None:
        return value
    return value.get("object") if kind == "Create" else None
