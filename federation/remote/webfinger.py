"""WebFinger client: a handle (``@name@host``, ``name@host``, ``acct:name@host``) to an actor.

One WebFinger answer is only a hint: the handle's host may name an actor anywhere.
:func:`lookup` asks the handle's host; :func:`confirm_handle` then requires the actor's own host
to vouch for the same handle (FEP-2c59): the actor document (fetched from its origin, so its
identity is proven) names it in ``webfinger``, or — without that property — the actor's host
answers WebFinger for the same ``acct:`` with that actor's id. A handle on the actor's own host
needs no second look (that host gave the first answer). Queries use https; plain http is used
only for a loopback host when the client policy allows loopback (tests).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from federation.errors import BadRequest, RemoteBadResponse, RemoteError
from federation.protocol.handles import Handle, authority_of, parse_handle
from federation.protocol.uris import is_http_url, origin_of, same_uri
from federation.remote.addresses import is_loopback, parse_ip
from federation.remote.client import HardenedClient
from federation.remote.fetch import AS_PROFILE, is_activitystreams_media_type, parse_json_document

__all__ = ["confirm_handle", "lookup", "parse_handle"]

JRD_ACCEPT = "application/jrd+json, application/json;q=0.9"
JRD_MEDIA_TYPES = frozenset({"application/jrd+json", "application/json"})
MAX_LINKS = 64


def _scheme_for(client: HardenedClient, host: str) -> str:
    hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    address = parse_ip(hostname)
    local = hostname == "localhost" or (address is not None and is_loopback(address))
    return "http" if local and client.policy.allow_loopback else "https"


async def lookup(client: HardenedClient, handle: Handle, *, at: str | None = None) -> str:
    """The actor URI that WebFinger on ``at`` (default: the handle's host) gives for
    ``handle`` (``rel=self`` with an AS media type). One way only: see :func:`confirm_handle`."""
    host = at or handle.host
    resource = quote(handle.acct, safe=":@")
    url = f"{_scheme_for(client, host)}://{host}/.well-known/webfinger?resource={resource}"
    response = await client.get(url, accept=JRD_ACCEPT, max_bytes=client.policy.max_json_bytes)
    if response.status != 200:
        raise RemoteBadResponse(f"WebFinger on {host} answered {response.status}",
                                status=response.status)
    if response.media_type not in JRD_MEDIA_TYPES:
        raise RemoteBadResponse(f"WebFinger media type {response.media_type!r}")
    document = parse_json_document(response.body)
    links = document.get("links")
    if not isinstance(links, list):
        raise RemoteBadResponse("WebFinger answer without links")
    for link in links[:MAX_LINKS]:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        link_type = link.get("type")
        href = link.get("href")
        if not isinstance(link_type, str) or not isinstance(href, str):
            continue
        if is_activitystreams_media_type(link_type) or link_type == f'application/ld+json; profile="{AS_PROFILE}"':
            if is_http_url(href):
                return href
    raise RemoteBadResponse("WebFinger answer has no ActivityPub self link")


async def confirm_handle(client: HardenedClient, handle: Handle, actor: dict[str, Any]) -> None:
    """Nothing when the host of ``actor`` (a document fetched from its origin) vouches for
    ``handle``; :class:`RemoteBadResponse` saying why otherwise. At most one WebFinger query."""
    actor_uri = actor["id"]
    actor_host = authority_of(origin_of(actor_uri))
    if handle.same_as(Handle(handle.name, actor_host)):
        return  # the actor's own host gave the answer being checked
    refusal = (f"{handle} is not confirmed by {actor_host}, the host of the actor its WebFinger "
               f"names ({actor_uri[:200]})")
    claimed = actor.get("webfinger")  # FEP-2c59
    if claimed is not None:
        try:
            confirmed = isinstance(claimed, str) and parse_handle(claimed).same_as(handle)
        except BadRequest:
            confirmed = False
        if not confirmed:
            raise RemoteBadResponse(f"{refusal}: the actor names another handle")
        return
    try:
        answer = await lookup(client, handle, at=actor_host)
    except RemoteError as error:
        raise RemoteBadResponse(f"{refusal}: {error.message}") from None
    if not same_uri(answer, actor_uri):
        raise RemoteBadResponse(f"{refusal}: it points {handle.acct} to another actor")
