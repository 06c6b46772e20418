"""Origins of URIs, compared as parsed and normalised values (security principle 4).

An origin is ``(scheme, host, port)`` with a lower-case scheme, a lower-case IDNA (punycode)
host without trailing dot, and an explicit port (80/443 when the URL leaves it out). Hosts are
never compared as strings or prefixes of the raw URL.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Origin:
    """A normalised web origin."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if DEFAULT_PORTS.get(self.scheme) == self.port:
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"


def normalise_host(host: str) -> str:
    """Lower-case IDNA form of ``host`` (IP literals in their canonical form; memoised)."""
    if not isinstance(host, str):
        raise ValueError("host must be a string")
    return _normalise_host(host)


@functools.lru_cache(maxsize=1024)
def _normalise_host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    if not host:
        raise ValueError("empty host")
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError("host is not a valid IDNA name") from exc
    if any(not (c.isalnum() or c in "-.") for c in ascii_host):
        raise ValueError("invalid character in host")
    return ascii_host


def origin_of(url: str) -> Origin:
    """The origin of an absolute http(s) URL; ``ValueError`` for anything else (memoised)."""
    if not isinstance(url, str):
        raise ValueError("URL must be a string")
    return _origin_of(url)


@functools.lru_cache(maxsize=4096)
def _origin_of(url: str) -> Origin:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("only http and https URLs have an origin here")
    if not parts.hostname:
        raise ValueError("URL without host")
    port = parts.port  # raises ValueError for a bad port
    return Origin(scheme, normalise_host(parts.hostname), port if port is not None else DEFAULT_PORTS[scheme])


def is_http_url(value: object) -> bool:
    """True for an absolute http(s) URL with a valid host (anything else, malformed included,
    is False: never an exception)."""
    try:
        origin_of(value)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


#: Longest URL shown as a link (the URL columns' size).
LINK_MAX = 2048


def link_url(value: object) -> str | None:
    """``value`` if it may be shown as a link or sent as a redirect: an absolute http(s) URL
    with a valid host and port, at most 2048 characters, without spaces or control characters
    (which parsers silently drop); else ``None`` — ``javascript:``, ``data:``, malformed
    (``http://[``), relative, empty, not a string. Never raises: it renders stored values."""
    if not isinstance(value, str) or not value or len(value) > LINK_MAX:
        return None
    if any(ch.isspace() or ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        return None
    return value if is_http_url(value) else None


def same_origin(a: str, b: str) -> bool:
    """True when both URLs parse and have the same normalised origin."""
    try:
        return origin_of(a) == origin_of(b)
    except ValueError:
        return False


def strip_fragment(url: str) -> str:
    """``url`` without its ``#fragment`` (no parsing: a malformed URL is refused later, by
    whoever has to use it)."""
    return url.split("#", 1)[0]


def normalise_uri(url: str) -> str:
    """``url`` with its origin normalised (path, query and fragment kept as they are)."""
    parts = urlsplit(url.strip())
    origin = origin_of(url)
    path = parts.path or "/"
    return urlunsplit((origin.scheme, str(origin).split("://", 1)[1], path, parts.query, parts.fragment))


def same_uri(a: str, b: str) -> bool:
    """True when two URIs are equal once their origins are normalised."""
    try:
        return normalise_uri(a) == normalise_uri(b)
    except ValueError:
        return False
