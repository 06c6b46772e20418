"""JSON-LD with bundled contexts: nothing is ever fetched (security rule 9).

The context documents in ``contexts/`` are copies of the published documents (gathered from
``@fedify/vocab-runtime``, MIT). :func:`document_loader` serves them and refuses any other URL,
so that expanding a remote document can never make us fetch anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

from pyld import jsonld

from federation.errors import BadRequest

AS2_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
GOTOSOCIAL_CONTEXT = "https://gotosocial.org/ns"
#: The context of interaction policies' activities (GoToSocial's terms beside AS2's).
INTERACTION_CONTEXT = (AS2_CONTEXT, GOTOSOCIAL_CONTEXT)

_ALIASES = {
    "http://www.w3.org/ns/activitystreams": AS2_CONTEXT,
    "https://www.w3.org/ns/activitystreams.jsonld": AS2_CONTEXT,
    "http://w3id.org/security/v1": SECURITY_CONTEXT,
    "https://w3id.org/security/v1.jsonld": SECURITY_CONTEXT,
}


class UnknownContext(BadRequest):
    """A JSON-LD context that is not bundled (and will not be fetched)."""


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    text = resources.files("federation.protocol").joinpath("contexts/index.json").read_text()
    return dict(json.loads(text))


@lru_cache(maxsize=64)
def bundled_context(url: str) -> dict[str, Any]:
    """The bundled document of context ``url``; :class:`UnknownContext` if we do not have it."""
    canonical = _ALIASES.get(url.rstrip("#"), url.rstrip("#"))
    name = _index().get(canonical)
    if name is None:
        raise UnknownContext(f"JSON-LD context not bundled and never fetched: {url}")
    text = resources.files("federation.protocol").joinpath(f"contexts/{name}").read_text()
    return dict(json.loads(text))


def merge_contexts(*contexts: Any) -> list[Any] | None:
    """One ``@context`` that defines every term of ``contexts`` (URLs in order, inline terms
    merged), for a collection page that embeds documents with their own contexts; ``None`` when
    two inline definitions of a term differ (the page must then keep each item's context)."""
    urls: list[str] = []
    terms: dict[str, Any] = {}
    for context in contexts:
        for part in context if isinstance(context, list) else [context]:
            if isinstance(part, str):
                if part not in urls:
                    urls.append(part)
            elif isinstance(part, dict):
                for term, definition in part.items():
                    if terms.setdefault(term, definition) != definition:
                        return None
    return [*urls, terms] if terms else list(urls)


def known_contexts() -> list[str]:
    return sorted(_index())


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that serves bundled contexts only."""
    try:
        document = bundled_context(url)
    except UnknownContext as error:
        raise jsonld.JsonLdError(
            error.message, "jsonld.LoadDocumentError", code="loading document failed"
        ) from None
    return {"contextUrl": None, "documentUrl": url, "document": document}


#: No base IRI: a relative reference stays as written. Mastodon's ``attributionDomains`` is typed
#: ``@id`` but holds domain names ("site.example"); PyLD 3 resolves a relative reference against
#: a made-up ``http://example.org/base/`` when the base is empty (PyLD 2 left it alone).
EXPAND_OPTIONS: dict[str, Any] = {"base": None}


def expand(document: dict[str, Any],
           loader: Callable[..., dict[str, Any]] = document_loader) -> list[dict[str, Any]]:
    """Expand ``document`` with bundled contexts only (``loader``: :func:`document_loader`,
    or one that wraps it); :class:`BadRequest` if it cannot be."""
    try:
        return list(jsonld.expand(document, {**EXPAND_OPTIONS, "documentLoader": loader}))
    except jsonld.JsonLdError as error:
        raise BadRequest(f"cannot expand JSON-LD: {error}") from None


def with_context(body: dict[str, Any], context: str | tuple[str, ...] = AS2_CONTEXT
                 ) -> dict[str, Any]:
    """``body`` as a top-level document: its ``@context`` (AS2 by default) first. Services
    build activities through this: ``@context`` is written only in ``protocol/``."""
    return {"@context": context if isinstance(context, str) else list(context), **body}


def without_context(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` embedded in another: without its ``@context``."""
    return {key: value for key, value in document.items() if key != "@context"}
