"""Which IP addresses the bridge may connect to (security rule 8). Pure, no I/O.

Refused: IPv4 loopback, RFC 1918, link-local 169.254/16, CGNAT 100.64/10, 0/8, multicast,
broadcast and reserved ranges, documentation and benchmarking ranges; IPv6 loopback,
unique-local fc00::/7, link-local fe80::/10, v4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16,
Teredo 2001::/32, multicast and anything else not globally routable. Loopback (127/8, ::1) is
allowed only when the caller says so (tests, local development).
"""

from __future__ import annotations

import ipaddress

from federation.errors import UnsafeURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

BLOCKED_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "255.255.255.255/32",
        "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
        "2001::/32", "2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)
LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def parse_ip(text: str) -> IPAddress | None:
    """The address in ``text`` (brackets and IPv6 zone allowed), or ``None`` for a name."""
    candidate = text.strip().strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None


def is_loopback(address: IPAddress) -> bool:
    """True for 127/8 and ::1."""
    return any(address in net for net in LOOPBACK_NETWORKS if net.version == address.version)


def is_allowed_address(address: IPAddress, *, allow_loopback: bool = False) -> bool:
    """True when ``address`` is a public unicast address (or loopback, if allowed)."""
    if allow_loopback and is_loopback(address):
        return True
    if any(address in net for net in BLOCKED_NETWORKS if net.version == address.version):
        return False
    return address.is_global and not address.is_multicast


def check_address(text: str, *, allow_loopback: bool = False) -> None:
    """Raise :class:`UnsafeURL` unless ``text`` is an IP address we may contact."""
    address = parse_ip(text)
    if address is None:
        raise UnsafeURL("not an IP address")
    if not is_allowed_address(address, allow_loopback=allow_loopback):
        raise UnsafeURL(f"address {address} is in a private or reserved range")
