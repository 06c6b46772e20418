"""Who is asking: a client's address, for limits that must tell clients apart.

Privacy rule: no reader's IP address is stored or logged. The address returned here is only
ever used as the input of a keyed hash (the login limits,
:class:`~federation.moderation.logins.LoginGuard`: HMAC-SHA256 under a key drawn at random when
the process starts, never stored), never written anywhere. An IPv6 client is its /64 network
(one subscriber gets a whole /64: counting its addresses one by one would count nothing).

Behind a reverse proxy every connection comes from the proxy: without ``[server]
trusted_proxies`` all clients share one address (and one limit). With it, a connection from a
listed proxy is attributed to the address the proxy appended to ``X-Forwarded-For`` (the
right-most entry that is not itself a trusted proxy); the header of any other peer is ignored,
since a client can write anything there.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

from aiohttp import web

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Longest X-Forwarded-For read, in entries (the right-most ones matter).
MAX_FORWARDED_HOPS = 16
IPV6_PREFIX = 64


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
             proxies: Iterable[Network]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_address(request: web.Request, trusted_proxies: tuple[Network, ...] = ()) -> str:
    """The client's address as a string (an IPv6 client as its /64), ``""`` if unknown."""
    peer = _address(request.remote or "")
    if _trusted(peer, trusted_proxies):
        hops = [hop for header in request.headers.getall("X-Forwarded-For", [])
                for hop in header.split(",")][-MAX_FORWARDED_HOPS:]
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # garbage in the chain: stop at the last proxy we trust
            peer = address
            if not _trusted(address, trusted_proxies):
                break
    elif "X-Forwarded-For" in request.headers and peer is not None and peer.is_loopback:
        _warn_untrusted_proxy()
    if peer is None:
        return ""
    if isinstance(peer, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((peer, IPV6_PREFIX), strict=False))
    return str(peer)


_warned = False


def _warn_untrusted_proxy() -> None:
    global _warned
    if not _warned:
        _warned = True
        log.warning("requests come through a local proxy (X-Forwarded-For) but [server] "
                    "trusted_proxies is empty: every client shares one address, and one login "
                    "limit (docs/deploy.md)")
