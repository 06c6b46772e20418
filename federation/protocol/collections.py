"""Paged ``OrderedCollection`` documents (pure functions).

The collection itself carries ``totalItems`` and links to its ``first`` (and ``last``) page;
pages are ``?page=N`` (1-based) and link ``next``/``prev``. Items are newest first. A page that
embeds documents declares a ``@context`` defining their terms (:func:`page_context`): a JSON-LD
reader drops the terms a page does not define.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from federation.errors import BadRequest
from federation.protocol.jsonld import AS2_CONTEXT, merge_contexts
from federation.protocol.numbers import is_ascii_digits

DEFAULT_PAGE_SIZE = 20
MAX_PAGE = 100_000


@dataclass(frozen=True)
class PageRequest:
    """Which page of a collection was asked for (``None``: the collection itself)."""

    page: int | None
    size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return 0 if self.page is None else (self.page - 1) * self.size


def parse_page(raw: str | None, size: int = DEFAULT_PAGE_SIZE) -> PageRequest:
    """Parse ``?page=``; :class:`BadRequest` for anything but a positive integer."""
    if raw is None or raw == "":
        return PageRequest(page=None, size=size)
    if raw.lower() == "true":  # Mastodon's style: ?page=true is the first page
        return PageRequest(page=1, size=size)
    if not is_ascii_digits(raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise BadRequest("page must be a positive integer")
    return PageRequest(page=int(raw), size=size)


def page_count(total: int, size: int) -> int:
    return max(1, -(-total // size))


def build_collection(collection_uri: str, total: int, size: int = DEFAULT_PAGE_SIZE,
                     **extra: Any) -> dict[str, Any]:
    """The ``OrderedCollection`` summary: ``totalItems`` and its first and last pages."""
    return {
        "@context": AS2_CONTEXT,
        "id": collection_uri,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": f"{collection_uri}?page=1",
        "last": f"{collection_uri}?page={page_count(total, size)}",
        **extra,
    }


def page_context(documents: list[dict[str, Any]]) -> Any:
    """The ``@context`` of a page embedding ``documents`` (each with its own ``@context``), and
    the documents to embed: without their contexts when one page context defines every term,
    else each keeps its own (JSON-LD scopes an embedded ``@context`` to its node)."""
    merged = merge_contexts(AS2_CONTEXT, *(d.get("@context", AS2_CONTEXT) for d in documents))
    if merged is None:
        return AS2_CONTEXT, documents
    return merged, [{k: v for k, v in d.items() if k != "@context"} for d in documents]


def build_page(collection_uri: str, request: PageRequest, total: int,
               items: list[Any], context: Any = AS2_CONTEXT) -> dict[str, Any]:
    """One ``OrderedCollectionPage`` with ``next``/``prev`` links."""
    page = request.page or 1
    document: dict[str, Any] = {
        "@context": context,
        "id": f"{collection_uri}?page={page}",
        "type": "OrderedCollectionPage",
        "partOf": collection_uri,
        "totalItems": total,
        "orderedItems": items,
    }
    if page * request.size < total:
        document["next"] = f"{collection_uri}?page={page + 1}"
    if page > 1:
        document["prev"] = f"{collection_uri}?page={page - 1}"
    return document
