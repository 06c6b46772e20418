"""AS2 is written only in ``protocol/``: no service module spells ``@context`` or the Public
address (they build documents through ``protocol.jsonld.with_context`` and ``AS_PUBLIC``)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "federation"
SPELLINGS = ('"@context"', "'@context'", "activitystreams#Public")


def test_no_context_or_public_literal_outside_protocol() -> None:
    """Every ``@context`` key and the Public address are written in ``federation/protocol``."""
    found = [f"{path.relative_to(PACKAGE)}: {spelling}"
             for path in sorted(PACKAGE.rglob("*.py"))
             if "protocol" not in path.relative_to(PACKAGE).parts[:1]
             and "migrations" not in path.parts
             for spelling in SPELLINGS if spelling in path.read_text(encoding="utf-8")]
    assert found == []


def test_public_address_is_one_constant() -> None:
    """The Public address is spelled once in ``protocol/``."""
    spelled = [path.name for path in (PACKAGE / "protocol").glob("*.py")
               if "activitystreams#Public" in path.read_text(encoding="utf-8")]
    assert spelled == ["actors.py"]
