"""AS2 is written only in ``protocol/``: no service module spells ``@context`` or the Public
address (they build documents through ``protocol.jsonld.with_context`` and ``AS_PUBLIC``), nor
builds an activity, object or collection dict with a ``type`` of its own (they call the
builders of ``protocol/activities.py`` and ``protocol/objects.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

from federation.protocol import activities

PACKAGE = Path(__file__).parents[2] / "federation"
SPELLINGS = ('"@context"', "'@context'", "activitystreams#Public")


def _service_modules() -> list[Path]:
    return [path for path in sorted(PACKAGE.rglob("*.py"))
            if "protocol" not in path.relative_to(PACKAGE).parts[:1]
            and "migrations" not in path.parts]


def _typed_dict_literals(source: str) -> list[tuple[int, str]]:
    """Line and value of every ``{"type": "<literal>", ...}`` dict display in ``source``
    (docstrings and comments are not dict displays: an example in them is fine)."""
    return [(node.lineno, value.value)
            for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Dict)
            for key, value in zip(node.keys, node.values, strict=True)
            if isinstance(key, ast.Constant) and key.value == "type"
            and isinstance(value, ast.Constant) and isinstance(value.value, str)]


def test_no_context_or_public_literal_outside_protocol() -> None:
    """Every ``@context`` key and the Public address are written in ``federation/protocol``."""
    found = [f"{path.relative_to(PACKAGE)}: {spelling}"
             for path in _service_modules()
             for spelling in SPELLINGS if spelling in path.read_text(encoding="utf-8")]
    assert found == []


def test_public_address_is_one_constant() -> None:
    """The Public address is spelled once in ``protocol/``."""
    spelled = [path.name for path in (PACKAGE / "protocol").glob("*.py")
               if "activitystreams#Public" in path.read_text(encoding="utf-8")]
    assert spelled == ["actors.py"]


def test_no_typed_dict_literal_outside_protocol() -> None:
    """No service module writes a ``{"type": "Follow", ...}`` (or Announce, Undo, Accept,
    OrderedCollection…) itself: the shapes peers receive live in ``protocol/``."""
    found = [f"{path.relative_to(PACKAGE)}:{line}: {kind}"
             for path in _service_modules()
             for line, kind in _typed_dict_literals(path.read_text(encoding="utf-8"))]
    assert found == []


def test_typed_dict_literal_detector_sees_literals_not_docstrings() -> None:
    """The check above can fail: it finds a dict display, nested or with ``**``, and skips a
    docstring or a ``type`` that is not a string constant."""
    source = '''
"""{"id": "x", "type": "Create"} in a docstring."""
def send(kind, uri):
    a = {"id": uri, "type": "Follow", "object": {"type": "Announce"}}
    b = {**a, "type": kind}
    return dict(type="Undo"), a, b
'''
    assert sorted(_typed_dict_literals(source)) == [(4, "Announce"), (4, "Follow")]


def test_builders_keep_the_key_order_peers_receive() -> None:
    """The builders render what the services used to spell out, key for key and in order."""
    followers, public = ["https://s.example/followers"], ["P"]
    boost = activities.announce("https://s.example/a/1", "https://s.example/u", "https://o/1",
                                published="2026-01-01T00:00:00Z", to=public, cc=followers)
    assert list(boost) == ["id", "type", "actor", "object", "published", "to", "cc"]
    taken_back = activities.undo("https://s.example/u/2", "https://s.example/u",
                                 activities.announce("https://s.example/a/1", "https://s.example/u",
                                                     "https://o/1", to=public, cc=followers),
                                 to=public, cc=followers)
    assert list(taken_back) == ["id", "type", "actor", "object", "to", "cc"]
    assert list(taken_back["object"]) == ["id", "type", "actor", "object", "to", "cc"]
    answer = activities.accept("https://s.example/x", "https://s.example/u",
                               activities.follow("https://r/f", "https://r/u", "https://s.example/u"),
                               to=["https://r/u"])
    assert answer == {"id": "https://s.example/x", "type": "Accept", "actor": "https://s.example/u",
                      "to": ["https://r/u"],
                      "object": {"id": "https://r/f", "type": "Follow", "actor": "https://r/u",
                                 "object": "https://s.example/u"}}
    assert list(answer) == ["id", "type", "actor", "to", "object"]
    granted = activities.accept("i", "a", "o", to=["t"], cc=public, target="g", result="r")
    assert list(granted) == ["id", "type", "actor", "to", "cc", "object", "target", "result"]
    assert list(activities.reject("i", "a", "o", to=["t"])) == ["id", "type", "actor", "to",
                                                              "object"]
    assert list(activities.delete("i", "a", "o", to=public, cc=["q"])) == [
        "id", "type", "actor", "to", "cc", "object"]
    assert list(activities.tombstone("i", "QuoteAuthorization", "2026")) == [
        "type", "id", "formerType", "deleted"]
    assert activities.ordered_collection("c", 2) == {"id": "c", "type": "OrderedCollection",
                                                     "totalItems": 2}
    assert list(activities.ordered_collection("c", 1, ["x"])) == [
        "id", "type", "totalItems", "orderedItems"]
