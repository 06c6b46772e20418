"""Case-insensitive access to request headers given as a multidict, a mapping or pairs.

Inbound requests arrive as aiohttp ``CIMultiDictProxy``; tests and signers pass plain dicts.
Repeated header lines are combined with ``", "`` as HTTP/1.1 allows (RFC 9110 §5.3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]] | Any


def header_values(headers: HeadersLike, name: str) -> list[str]:
    """Every value of header ``name`` (case-insensitive), in wire order."""
    getall = getattr(headers, "getall", None)
    if callable(getall):
        return [str(v) for v in getall(name, [])]
    wanted = name.lower()
    items = headers.items() if hasattr(headers, "items") else headers
    return [str(v) for k, v in items if str(k).lower() == wanted]


def header_value(headers: HeadersLike, name: str) -> str | None:
    """The combined value of header ``name`` or ``None`` when it is absent."""
    values = header_values(headers, name)
    if not values:
        return None
    return ", ".join(v.strip(" \t") for v in values)


def header_pairs(headers: HeadersLike) -> list[tuple[str, str]]:
    """All header lines as ``(name, value)`` pairs, repeated names kept."""
    items = headers.items() if hasattr(headers, "items") else headers
    return [(str(k), str(v)) for k, v in items]
