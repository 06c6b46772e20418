"""The activities and small collections services send or serve (pure functions).

Each builder returns the body of a document, without ``@context``: a service wraps it with
:func:`federation.protocol.jsonld.with_context` to send it, or embeds it as is (the ``Follow``
an ``Accept`` answers, the ``Announce`` an ``Undo`` takes back). Keys come in the order peers
have always received them. ``Create``/``Update``/``Delete``/``Add``/``Remove`` of our own
objects are :func:`federation.protocol.objects.build_activity`.
"""

from __future__ import annotations

from typing import Any

from federation.protocol.actors import AS_PUBLIC

#: What a relay carries (Mastodon: the public statuses, their edits, deletions and boosts).
RELAYED_TYPES = frozenset({"Create", "Update", "Delete", "Announce", "Undo"})
_PUBLIC_SPELLINGS = frozenset({AS_PUBLIC, "as:Public", "Public"})


def follow(activity_id: str, actor: str, obj: str) -> dict[str, Any]:
    """``actor`` follows ``obj`` (an actor, or the Public address for a Mastodon relay)."""
    return {"id": activity_id, "type": "Follow", "actor": actor, "object": obj}


def undo(activity_id: str, actor: str, obj: Any, *, to: list[str] | None = None,
         cc: list[str] | None = None) -> dict[str, Any]:
    """``actor`` takes back ``obj`` (the embedded activity)."""
    document: dict[str, Any] = {"id": activity_id, "type": "Undo", "actor": actor, "object": obj}
    if to is not None:
        document["to"] = to
    if cc is not None:
        document["cc"] = cc
    return document


def announce(activity_id: str, actor: str, obj: str, *, to: list[str], cc: list[str],
             published: str | None = None) -> dict[str, Any]:
    """``actor`` boosts ``obj``; ``published`` is left out of the copy embedded in an Undo."""
    document: dict[str, Any] = {"id": activity_id, "type": "Announce", "actor": actor,
                                "object": obj}
    if published is not None:
        document["published"] = published
    document["to"] = to
    document["cc"] = cc
    return document


def boost(activity_id: str, actor: str, obj: str, *, followers: str, author: str | None,
          published: str | None = None) -> dict[str, Any]:
    """``actor`` boosts ``obj`` written by ``author``: to Public, cc its followers and the author
    (Mastodon's shape, so that the author is notified)."""
    cc = [followers] + ([author] if author and author != actor else [])
    return announce(activity_id, actor, obj, to=[AS_PUBLIC], cc=cc, published=published)


def _addresses(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for key in ("to", "cc"):
        value = document.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                found.add(item)
    return found


def is_public(document: Any) -> bool:
    """True when ``document`` is addressed to the Public collection (in ``to`` or ``cc``)."""
    return isinstance(document, dict) and bool(_addresses(document) & _PUBLIC_SPELLINGS)


def is_relayable(activity: dict[str, Any]) -> bool:
    """True for what we hand to relays: a public post, its edit, its deletion, a public boost
    and its undoing. Nothing addressed otherwise (followers only, direct), nor answers
    (``Accept``, ``Reject``), follows, ``Add``/``Remove``: those never reach a relay."""
    kind = activity.get("type")
    if kind not in RELAYED_TYPES or not is_public(activity):
        return False
    inner = activity.get("object")
    if kind in ("Create", "Update"):
        return is_public(inner)
    if kind == "Undo":
        return isinstance(inner, dict) and inner.get("type") == "Announce" and is_public(inner)
    return True


def _answer(kind: str, activity_id: str, actor: str, obj: Any, to: list[str],
            cc: list[str] | None) -> dict[str, Any]:
    document: dict[str, Any] = {"id": activity_id, "type": kind, "actor": actor, "to": to}
    if cc is not None:
        document["cc"] = cc
    document["object"] = obj
    return document


def accept(activity_id: str, actor: str, obj: Any, *, to: list[str],
           cc: list[str] | None = None, target: str | None = None,
           result: str | None = None) -> dict[str, Any]:
    """``actor`` accepts ``obj`` (a Follow, a reply, a quote request); ``result`` is the
    authorization it grants."""
    document = _answer("Accept", activity_id, actor, obj, to, cc)
    if target is not None:
        document["target"] = target
    if result is not None:
        document["result"] = result
    return document


def reject(activity_id: str, actor: str, obj: Any, *, to: list[str],
           cc: list[str] | None = None) -> dict[str, Any]:
    """``actor`` refuses ``obj``."""
    return _answer("Reject", activity_id, actor, obj, to, cc)


def delete(activity_id: str, actor: str, obj: Any, *, to: list[str],
           cc: list[str]) -> dict[str, Any]:
    """``actor`` deletes ``obj`` (an embedded document, or an id)."""
    return {"id": activity_id, "type": "Delete", "actor": actor, "to": to, "cc": cc,
            "object": obj}


def tombstone(object_id: str, former_type: str, deleted: str) -> dict[str, Any]:
    """What an object withdrawn at ``deleted`` (ISO 8601) answers, with 410 Gone."""
    return {"type": "Tombstone", "id": object_id, "formerType": former_type, "deleted": deleted}


def ordered_collection(collection_id: str, total: int,
                       items: list[str] | None = None) -> dict[str, Any]:
    """An ``OrderedCollection`` with its count, and its ``items`` when they are published."""
    document: dict[str, Any] = {"id": collection_id, "type": "OrderedCollection",
                                "totalItems": total}
    if items is not None:
        document["orderedItems"] = items
    return document


#: The fields that address a document (``bto``/``bcc`` included: we never send them, but a
#: stored document that had them was meant for those readers too).
ADDRESS_FIELDS = ("to", "cc", "bto", "bcc", "audience")
#: The Public address as JSON-LD readers accept it (full, compact, bare).
PUBLIC_FORMS = frozenset({AS_PUBLIC, "as:Public", "Public"})


def _ids(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    found = []
    for item in values:
        if isinstance(item, dict):
            item = item.get("id")
        if isinstance(item, str) and item:
            found.append(item)
    return found


def is_addressed_to_public(document: Any) -> bool:
    """True when ``document`` names the Public address in its ``to``, ``cc`` or ``audience``
    (an Undo or Accept inherits nothing from what it embeds)."""
    if not isinstance(document, dict):
        return False
    return any(address in PUBLIC_FORMS
               for key in ("to", "cc", "audience") for address in _ids(document.get(key)))


def addressees(document: Any) -> set[str]:
    """Whom an activity we sent is for: its ``to``, ``cc``, ``bto``, ``bcc`` and ``audience``
    (the Public address left out) and, for a ``Follow`` (which carries no addressing), the
    actor it follows; an ``Undo`` is also for those of the activity it takes back."""
    if not isinstance(document, dict):
        return set()
    found = {address for key in ADDRESS_FIELDS for address in _ids(document.get(key))}
    kind = document.get("type")
    inner = document.get("object")
    if kind == "Follow":
        found.update(_ids(inner))
    elif kind == "Undo" and isinstance(inner, dict):
        found.update(addressees(inner))
    return found - PUBLIC_FORMS
