"""Handles (``@name@host``): parsed, compared, and shown only when they can be trusted. Pure.

A handle names an actor only when both sides agree (FEP-2c59): the handle's host answers
WebFinger with the actor's id, **and** the actor's own host vouches for the handle — either the
actor document's ``webfinger`` property names it, or the actor's host answers WebFinger for the
same ``acct:`` with the same actor id. The remote side of this lives in
:mod:`federation.remote.webfinger`; here are the values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from federation.errors import BadRequest
from federation.protocol.uris import DEFAULT_PORTS, Origin, normalise_host

#: The characters of a handle's name (Mastodon, GoToSocial, Mobilizon: letters, digits, ``_``,
#: ``.``, ``-``; ``~`` and ``+`` are seen elsewhere). No ``@``, no space, nothing invisible.
NAME_RE = re.compile(r"^[A-Za-z0-9_.~+-]{1,128}$")
#: A host name (ASCII or not: :func:`~federation.protocol.uris.normalise_host` then checks it
#: as IDNA) or a bracketed IPv6 literal, and an optional port.
_HOST_RE = re.compile(r"^(?:[^\s@/\\\[\]:?#%]{1,253}|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
#: WebFinger is asked over https: a port 443 is no part of a handle.
WEBFINGER_PORT = 443


@dataclass(frozen=True)
class Handle:
    """``name@host``; ``host`` as :func:`parse_handle` writes it: the lower-case IDNA name (as
    origins are compared), with its port unless it is 443 (WebFinger's https)."""

    name: str
    host: str

    def __str__(self) -> str:
        return f"{self.name}@{self.host}"

    @property
    def acct(self) -> str:
        """The WebFinger resource: ``acct:name@host``."""
        return f"acct:{self}"

    def same_as(self, other: Handle) -> bool:
        """The same account: names compared without case (as Mastodon does), hosts normalised."""
        return self.name.lower() == other.name.lower() and _host_key(self.host) == _host_key(other.host)


def parse_handle(text: str) -> Handle:
    """A handle from ``@name@host``, ``name@host`` or ``acct:name@host``; :class:`BadRequest`
    when it is not one."""
    text = text.strip()
    text = text[5:] if text.lower().startswith("acct:") else text
    text = text[1:] if text.startswith("@") else text
    name, sep, host = text.rpartition("@")
    if not sep or not NAME_RE.match(name) or not _HOST_RE.match(host):
        raise BadRequest("not a handle of the form @name@host")
    try:
        return Handle(name, _canonical(host))
    except ValueError:
        raise BadRequest("not a handle of the form @name@host") from None


def is_handle(text: str) -> bool:
    """True when :func:`parse_handle` reads ``text`` (never an exception)."""
    try:
        parse_handle(text)
    except BadRequest:
        return False
    return True


def _canonical(host: str) -> str:
    """A handle's host as written everywhere: IDNA, lower case, a non-default port kept."""
    name, port = _host_key(host)
    shown = f"[{name}]" if ":" in name else name
    return shown if port is None else f"{shown}:{port}"


def _host_key(host: str) -> tuple[str, int | None]:
    """``(normalised host, port or None)`` of a handle's host (``ValueError`` if malformed);
    port 443 is no port (WebFinger is asked over https)."""
    if host.startswith("["):
        literal, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
        if rest and port is None:
            raise ValueError("malformed host")
        name = literal
    else:
        name, _, port = host.partition(":")
        port = port or None
    number = int(port) if port is not None else None
    if number is not None and not 0 < number < 65536:
        raise ValueError("port out of range")
    return normalise_host(name), None if number == WEBFINGER_PORT else number


def authority_of(origin: Origin) -> str:
    """The handle host of an actor's origin: its host, with the port unless it is the default."""
    host = f"[{origin.host}]" if ":" in origin.host else origin.host
    return host if DEFAULT_PORTS.get(origin.scheme) == origin.port else f"{host}:{origin.port}"


def shown_handle(verified: str | None, username: str | None, domain: str) -> str:
    """The handle to show for a remote actor: ``@`` + the handle verified both ways when there
    is one; else the actor's ``preferredUsername`` on its own host (``domain``: the
    :func:`authority_of` its origin, with a non-default port), only if it is a plain name
    (a name holding ``@``, spaces or invisible characters could pass for another account);
    else ``@?@host``."""
    if verified:
        return f"@{verified}"
    name = username if username and NAME_RE.match(username) else "?"
    return f"@{name}@{domain}"


#: What a reader may type as their instance: a host name (IDNA allowed) with an optional port,
#: or ``https://host[:port]`` with nothing after it but ``/``, or their own handle.
_INSTANCE_RE = re.compile(r"^[^\s@/\\?#%\[\]:]{1,253}(?::[0-9]{1,5})?$")


def parse_instance(text: str) -> str:
    """The host of the reader's instance for a remote follow, as :func:`parse_handle` writes
    hosts (lower-case IDNA, a port unless 443). Accepted: ``mastodon.social``,
    ``Mastodon.Social.``, ``https://mastodon.social/``, ``@me@mastodon.social``; refused
    (:class:`BadRequest`): a path, a query, credentials, another scheme, an IP address, a name
    without a dot (``localhost``) — the redirect goes to that host's ``authorize_interaction``
    page and nowhere else."""
    text = text.strip()
    if text.lower().startswith("https://"):
        text = text[len("https://"):]
        text = text[:-1] if text.endswith("/") else text
    elif "@" in text:
        try:
            text = parse_handle(text).host
        except BadRequest:
            raise BadRequest("not an instance name such as mastodon.social") from None
    if not _INSTANCE_RE.match(text):
        raise BadRequest("not an instance name such as mastodon.social")
    try:
        host = _canonical(text)
    except ValueError:
        raise BadRequest("not an instance name such as mastodon.social") from None
    name = _host_key(host)[0]
    labels = name.split(".")
    if len(labels) < 2 or _is_ip(name) or any(
            label.startswith("-") or label.endswith("-") for label in labels):
        raise BadRequest("not an instance name such as mastodon.social")
    return host


def _is_ip(name: str) -> bool:
    return name.replace(".", "").isdigit() or ":" in name


def authorize_interaction_url(instance: str, uri: str) -> str:
    """Where a reader of ``instance`` (:func:`parse_instance`) confirms following ``uri``: the
    page Mastodon, GoToSocial, Akkoma and Misskey serve for remote follows."""
    return f"https://{instance}/authorize_interaction?uri={quote(uri, safe='')}"
