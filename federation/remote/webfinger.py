"""WebFinger client: ``@name@host`` (or ``name@host``, ``acct:name@host``) to an actor URI.

The answer is only a hint: the actor URI it returns proves nothing until the actor document is
fetched through :func:`federation.remote.fetch.fetch_ap_document`. Queries use https; plain
http is used only for a loopback host when the client policy allows loopback (tests).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from federation.errors import BadRequest, RemoteBadResponse
from federation.protocol.uris import is_http_url
from federation.remote.addresses import is_loopback, parse_ip
from federation.remote.client import HardenedClient
from federation.remote.fetch import AS_PROFILE, is_activitystreams_media_type, parse_json_document

JRD_ACCEPT = "application/jrd+json, application/json;q=0.9"
JRD_MEDIA_TYPES = frozenset({"application/jrd+json", "application/json"})
MAX_LINKS = 64
_NAME_RE = re.compile(r"^[A-Za-z0-9_.~+-]{1,128}$")
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


def parse_handle(handle: str) -> tuple[str, str]:
    """``(name, host)`` of a handle; :class:`BadRequest` when it is not one."""
    text = handle.strip()
    text = text[5:] if text.lower().startswith("acct:") else text
    text = text[1:] if text.startswith("@") else text
    name, sep, host = text.rpartition("@")
    if not sep or not _NAME_RE.match(name) or not _HOST_RE.match(host):
        raise BadRequest("not a handle of the form @name@host")
    return name, host.lower()


def _scheme_for(client: HardenedClient, host: str) -> str:
    hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    address = parse_ip(hostname)
    local = hostname == "localhost" or (address is not None and is_loopback(address))
    return "http" if local and client.policy.allow_loopback else "https"


async def resolve_handle(client: HardenedClient, handle: str) -> str:
    """The actor URI WebFinger gives for ``handle`` (``rel=self`` with an AS media type)."""
    name, host = parse_handle(handle)
    resource = quote(f"acct:{name}@{host}", safe=":@")
    url = f"{_scheme_for(client, host)}://{host}/.well-known/webfinger?resource={resource}"
    response = await client.get(url, accept=JRD_ACCEPT, max_bytes=client.policy.max_json_bytes)
    if response.status != 200:
        raise RemoteBadResponse(f"WebFinger answered {response.status}", status=response.status)
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
