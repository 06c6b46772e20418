"""Fetching ActivityStreams documents whose identity is proven by where they came from.

Security principles 3–5: the request asks for, and the answer must carry, an ActivityStreams
media type; the JSON is parsed within size and depth caps; the document's ``id`` must equal the
final URL after redirects (origins compared parsed and normalised); a document claiming an id
on our own origin is refused, and so is a fetch aimed at our own origin.

The result is a :class:`FetchedDocument`: its ``id`` is the identity to credit (checklist 36).
The URL asked for proves nothing — a redirect may have led to another host — so a caller that
decides who published what reads ``fetched.id``; a caller that needs the very object it named
(an actor by its id, the object of an ``Update``) asks with ``exact=True``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from federation.errors import RemoteBadResponse, UnsafeURL
from federation.protocol.uris import same_origin, same_uri, strip_fragment
from federation.remote.client import HardenedClient
from federation.remote.jsonlimits import MAX_JSON_DEPTH, JSONLimitError, parse_json_limited

logger = logging.getLogger(__name__)

AS_PROFILE = "https://www.w3.org/ns/activitystreams"
AP_ACCEPT = f'application/activity+json, application/ld+json; profile="{AS_PROFILE}"'


@dataclass(frozen=True)
class FetchedDocument:
    """An ActivityStreams document and its proven identity.

    ``id`` is the document's own ``id``, equal to the URL it was finally fetched from (after
    redirects): the only identity a caller may credit or check an author against.
    """

    id: str
    document: dict[str, Any]


def is_activitystreams_media_type(content_type: str | None) -> bool:
    """True for ``application/activity+json`` or ``application/ld+json`` with the AS profile."""
    if not content_type:
        return False
    media_type, *params = (part.strip() for part in content_type.split(";"))
    media_type = media_type.lower()
    if media_type == "application/activity+json":
        return True
    if media_type != "application/ld+json":
        return False
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "profile" and AS_PROFILE in value.strip().strip('"').split():
            return True
    return False


def parse_json_document(body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """A JSON object parsed within the structural budgets; :class:`RemoteBadResponse` otherwise."""
    try:
        document = parse_json_limited(body, max_depth=max_depth)
    except JSONLimitError as exc:
        raise RemoteBadResponse(str(exc)) from exc
    if not isinstance(document, dict):
        raise RemoteBadResponse("JSON document is not an object")
    return document


async def fetch_ap_json(
    client: HardenedClient,
    url: str,
    *,
    local_origin: str | None = None,
    max_bytes: int | None = None,
) -> tuple[dict[str, Any], str]:
    """GET an ActivityStreams JSON object: the document and the URL it finally came from.

    Its identity is **not** proven: callers use :func:`fetch_ap_document`, unless they prove
    what they use otherwise (a GoToSocial key stub, :mod:`federation.remote.keys`). Same
    refusals as :func:`fetch_ap_document`, the id check excepted.
    """
    url = strip_fragment(url)
    if local_origin is not None and same_origin(url, local_origin):
        raise UnsafeURL("refusing to fetch a URL on our own origin")
    limit = client.policy.max_json_bytes if max_bytes is None else max_bytes
    response = await client.get(url, accept=AP_ACCEPT, max_bytes=limit)
    if response.status != 200:
        raise RemoteBadResponse(f"status {response.status} from {response.final_url}", status=response.status)
    if not is_activitystreams_media_type(response.headers.get("Content-Type")):
        raise RemoteBadResponse(f"media type {response.media_type!r} is not ActivityStreams")
    return parse_json_document(response.body), response.final_url


def check_identity(document: dict[str, Any], final_url: str, *, local_origin: str | None = None) -> None:
    """Principle 3: ``document``'s id is the URL it was fetched from (after redirects), and not
    on our origin; :class:`RemoteBadResponse` otherwise."""
    document_id = document.get("id")
    if not isinstance(document_id, str):
        raise RemoteBadResponse("document without id")
    if not same_origin(document_id, final_url) or not same_uri(document_id, final_url):
        logger.info("document fetched from %s claims another id", final_url)
        raise RemoteBadResponse("document id does not match the URL it was fetched from")
    if local_origin is not None and same_origin(document_id, local_origin):
        raise RemoteBadResponse("remote document claims an id on our origin")


async def fetch_ap_document(
    client: HardenedClient,
    url: str,
    *,
    local_origin: str | None = None,
    max_bytes: int | None = None,
    exact: bool = False,
) -> FetchedDocument:
    """GET an ActivityStreams document and prove its identity: the URL it was finally found at.

    ``url`` loses its fragment before the request. Redirects are followed (by the client), so
    the document may be another than ``url`` names: its identity is the result's ``id``. With
    ``exact`` it must be ``url``'s own document (a redirect elsewhere is refused). Raises
    :class:`UnsafeURL` (refused URL, including one on ``local_origin``),
    :class:`RemoteBadResponse` (status, media type, JSON, id mismatch), :class:`RemoteTooLarge`
    or :class:`RemoteTimeout`.
    """
    document, final_url = await fetch_ap_json(client, url, local_origin=local_origin,
                                              max_bytes=max_bytes)
    check_identity(document, final_url, local_origin=local_origin)
    document_id = document["id"]
    if exact and not same_uri(document_id, strip_fragment(url)):
        logger.info("%s redirected to another document", strip_fragment(url))
        raise RemoteBadResponse("the URL led to another document than the one it names")
    return FetchedDocument(document_id, document)
