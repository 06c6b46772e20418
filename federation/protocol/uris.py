"""Origins of URIs, compared as parsed and normalised values (security principle 4).

An origin is ``(scheme, host, port)`` with a lower-case scheme, a lower-case IDNA (punycode)
host without trailing dot, and an explicit port (80/443 when the URL leaves it out). Hosts are
never compared as strings or prefixes of the raw URL.

A host is normalised exactly as the HTTP client encodes it to connect (checklist 37): yarl,
under aiohttp, lower-cases an ASCII name and encodes any other with IDNA 2008 / UTS 46
non-transitional processing (the ``idna`` package), so ``faß.example`` (``xn--fa-hia``) and
``fass.example`` are two hosts, and so are ``ς`` and ``σ`` — Python's own ``"idna"`` codec
(IDNA 2003) folds each pair into one. A name that processing would change silently — a
character it deletes (soft hyphen, variation selectors), a joiner or another format character
(which yarl refuses) — or that IDNA 2008 refuses (where yarl would fall back to IDNA 2003) has
no origin here, and the client (``remote/client.py``) connects only to a URL whose origin is
the one computed here.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from typing import TypeGuard
from urllib.parse import urlsplit, urlunsplit

import idna

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


#: Hosts memoised: a delivery worker talks to tens of thousands (a fanout cycles through all of
#: them, so a smaller cache would miss every time); ~250 bytes an entry.
HOST_CACHE_SIZE = 32_768
_HOST_CHARACTERS = re.compile(r"[A-Za-z0-9.-]*")


@functools.lru_cache(maxsize=HOST_CACHE_SIZE)
def _normalise_host(host: str) -> str:
    host = host.strip()
    if not host.rstrip("."):
        raise ValueError("empty host")
    address = _ip_literal(host.strip("[]"))
    if address is not None:
        return address
    ascii_host = (host.lower() if host.isascii() else _idna_encode(host)).rstrip(".")
    address = _ip_literal(ascii_host)  # "１２７.0.0.1" is an address once mapped
    if address is not None:
        return address
    if not (_HOST_CHARACTERS.fullmatch(ascii_host) if ascii_host.isascii()
            else all(c.isalnum() or c in "-." for c in ascii_host)):
        raise ValueError("invalid character in host")
    if len(ascii_host) > 253 or any(not 0 < len(label) <= 63 for label in ascii_host.split(".")):
        raise ValueError("host name with an empty or overlong label")
    return ascii_host


def _ip_literal(host: str) -> str | None:
    if ":" not in host and not host.replace(".", "").isdigit():
        return None  # neither IPv6 (has ':') nor dotted IPv4 (digits and dots): no exception raised
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _idna_encode(host: str) -> str:
    """``host`` (not ASCII) as IDNA 2008 / UTS 46 non-transitional ASCII, as yarl encodes it.

    Refuses what would make the name compared differ from the name written: a character the
    mapping deletes, and format characters such as ZWJ/ZWNJ (yarl refuses those).
    """
    for char in host:
        if not char.isascii() and _vanishes(char):
            raise ValueError(f"invisible character U+{ord(char):04X} in host")
    try:
        return idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except UnicodeError as exc:  # idna.IDNAError is one
        raise ValueError("host is not a valid IDNA 2008 name") from exc


@functools.lru_cache(maxsize=4096)
def _vanishes(char: str) -> bool:
    if unicodedata.category(char) == "Cf":
        return True
    try:
        return idna.uts46_remap(char, std3_rules=False, transitional=False) == ""
    except UnicodeError:  # a disallowed character: idna.encode refuses it next
        return False


def check_url_characters(url: str) -> None:
    """``ValueError`` when ``url`` holds a character no URL may hold, wherever it is.

    ``urlsplit`` silently drops CR, LF and TAB (WHATWG does too), so the URL checked is not the
    URL stored and sent (header injection, a different path). Refused: every control character
    (C0, DEL, C1), spaces and other separators, invisible format characters (U+200B, U+202E…),
    surrogates (all of these: not ``str.isprintable()``, space aside), and the backslash,
    which browsers read as ``/`` (``https://a.example\\@b.example/`` is on a.example for them).
    """
    if not url.isprintable() or " " in url or "\\" in url:
        raise ValueError("URL with a control character, a space or a backslash")


def origin_of(url: str) -> Origin:
    """The origin of an absolute http(s) URL; ``ValueError`` for anything else (memoised).

    A URL with a character :func:`check_url_characters` refuses has no origin: every check of a
    remote URL (:func:`is_http_url`, :func:`same_origin`…) goes through here.
    """
    if not isinstance(url, str):
        raise ValueError("URL must be a string")
    return _origin_of(url)


#: The common shape (``https://name.example/…``): lower-case scheme, an authority of lower-case
#: letters, digits, dots and hyphens only (no user, no brackets), an optional port of ASCII
#: digits, then the end of the URL or ``/``, ``?``, ``#``. ``urlsplit`` would return that name
#: as the host, and that port.
_PLAIN_URL = re.compile(r"(https?)://([a-z0-9.-]+)(?::([0-9]{1,5}))?(?:[/?#]|\Z)")


@functools.lru_cache(maxsize=4096)
def _origin_of(url: str) -> Origin:
    check_url_characters(url)
    plain = _PLAIN_URL.match(url)
    if plain is not None:  # the same origin as below, without urlsplit's general parse
        scheme, port = plain[1], plain[3]
        if port is None:
            return Origin(scheme, normalise_host(plain[2]), DEFAULT_PORTS[scheme])
        if int(port) <= 65535:  # else refused below
            return Origin(scheme, normalise_host(plain[2]), int(port))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("only http and https URLs have an origin here")
    if not parts.hostname:
        raise ValueError("URL without host")
    port = parts.port  # raises ValueError for a bad port
    return Origin(scheme, normalise_host(parts.hostname), port if port is not None else DEFAULT_PORTS[scheme])


def is_http_url(value: object) -> TypeGuard[str]:
    """True for an absolute http(s) URL with a valid host and no control character, space or
    backslash (anything else, malformed included, is False: never an exception). The one check
    for every remote URL we accept: inboxes, actor and object ids, links, attachments."""
    if not isinstance(value, str):
        return False
    try:
        origin_of(value)
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
    origin = origin_of(url)
    parts = urlsplit(url)
    path = parts.path or "/"
    return urlunsplit((origin.scheme, str(origin).split("://", 1)[1], path, parts.query, parts.fragment))


def same_uri(a: str, b: str) -> bool:
    """True when two URIs are equal once their origins are normalised."""
    try:
        return normalise_uri(a) == normalise_uri(b)
    except ValueError:
        return False


#: RFC 6761 §6.4: no name under ``.invalid`` resolves, ever. The demo's fictitious instance
#: (``federation demo``) lives there, so that nothing can reach it.
NEVER_RESOLVING_TLD = "invalid"


def never_resolves(host_or_url: str) -> bool:
    """True when ``host_or_url`` (a URL, or a host with an optional port) is under ``.invalid``:
    nothing may be sent to or fetched from it (no DNS asked either)."""
    value = host_or_url.strip()
    try:
        host = urlsplit(value).hostname if "://" in value else urlsplit(f"//{value}").hostname
    except ValueError:
        return False
    name = (host or "").lower().rstrip(".")
    return name == NEVER_RESOLVING_TLD or name.endswith("." + NEVER_RESOLVING_TLD)
