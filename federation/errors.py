"""Exception tree of the bridge. Everything derives from :class:`FederationError`.

::

    FederationError
    ├── ConfigError            – invalid configuration (carries a list of problems)
    ├── NotFound               – 404
    ├── Gone                   – 410 (a deleted object; carries the tombstone)
    ├── MethodNotAllowed       – 405
    ├── BadRequest             – 400 (malformed input)
    │   └── PayloadTooLarge    – 413
    ├── UnsupportedMediaType   – 415
    ├── Unprocessable          – 422 (valid JSON, invalid content; carries problems)
    ├── Unauthorized           – 401
    │   └── SignatureError     – signature missing/malformed/invalid/expired (has .reason)
    ├── Forbidden              – 403 (blocked domain/actor, origin mismatch)
    ├── Conflict               – 409
    ├── TooManyRequests        – 429 (carries ``retry_after`` seconds, sent as ``Retry-After``)
    └── RemoteError            – outbound HTTP failed
        ├── UnsafeURL          – URL refused (scheme, private address, too many redirects)
        ├── RemoteTLSError     – TLS refused: certificate untrusted, for another host, expired…
        ├── RemoteTimeout
        ├── RemoteTooLarge
        └── RemoteBadResponse  – wrong status, media type, id mismatch, bad JSON

One middleware (:mod:`federation.web.middleware`) maps these to HTTP answers; the CLI maps
them to messages and exit codes. Workers catch the ones they expect by name.

An error a person may read in the admin UI also carries a message ``key`` and its ``params``
(``Conflict("this reply is already approved…", key="error.reply.decided",
params={"state": "approved"})``): ``message`` stays the English text of logs, the CLI and the
JSON APIs (which also give the key as ``code``); the UI looks the key up in its catalogue, in
the moderator's language (:func:`federation.web.admin.describe_error`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class FederationError(Exception):
    """Base of every error the bridge raises on purpose."""

    http_status = 500

    def __init__(self, message: str = "", *, key: str | None = None,
                 params: Mapping[str, str | int] | None = None) -> None:
        super().__init__(message)
        self.message = message or self.__class__.__doc__ or self.__class__.__name__
        #: The UI's message key (``error.…``) and its parameters, when a person may read it.
        self.key = key
        self.params: dict[str, str] = {k: str(v) for k, v in (params or {}).items()}


@dataclass(frozen=True)
class Problem:
    """One problem found in a configuration or a payload: where, and what is wrong."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ConfigError(FederationError):
    """The configuration is invalid."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid configuration in {source}:\n{lines}")


class NotFound(FederationError):
    """Not found."""

    http_status = 404


class Gone(FederationError):
    """The object was deleted."""

    http_status = 410

    def __init__(self, message: str = "", tombstone: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.tombstone = tombstone


class MethodNotAllowed(FederationError):
    """Method not allowed."""

    http_status = 405


class BadRequest(FederationError):
    """Malformed request."""

    http_status = 400


class PayloadTooLarge(BadRequest):
    """Request body too large."""

    http_status = 413


class UnsupportedMediaType(FederationError):
    """Unsupported media type."""

    http_status = 415


class Unprocessable(FederationError):
    """The request is well-formed but its content is invalid."""

    http_status = 422

    def __init__(self, problems: Sequence[Problem], message: str = "invalid payload") -> None:
        self.problems = list(problems)
        super().__init__(message)


class Unauthorized(FederationError):
    """Authentication required or failed."""

    http_status = 401


class SignatureError(Unauthorized):
    """An HTTP signature could not be verified; ``reason`` says why.

    Reasons: missing, malformed, invalid, expired, key_unavailable, key_not_owned,
    digest_mismatch, unsupported_algorithm, host_mismatch.
    """

    def __init__(self, reason: str, message: str = "") -> None:
        self.reason = reason
        super().__init__(message or f"signature {reason}")


class Forbidden(FederationError):
    """Forbidden."""

    http_status = 403


class Conflict(FederationError):
    """Conflict with the current state."""

    http_status = 409


class TooManyRequests(FederationError):
    """Too many requests: try again later."""

    http_status = 429

    def __init__(self, message: str = "", retry_after: float = 60.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RemoteError(FederationError):
    """An outbound HTTP request failed."""

    http_status = 502


class UnsafeURL(RemoteError):
    """The URL was refused before or while connecting."""


class RemoteTLSError(RemoteError):
    """The TLS handshake failed: the certificate is not trusted, names another host, has
    expired, or the server does not speak TLS. The message says which (never just "cannot
    connect"): an administrator must be able to tell a private CA (``SSL_CERT_FILE``) from a
    network fault."""


class RemoteTimeout(RemoteError):
    """The remote server did not answer in time."""

    http_status = 504


class RemoteTooLarge(RemoteError):
    """The remote answer exceeded the size cap."""


class RemoteBadResponse(RemoteError):
    """The remote answer was unusable (status, media type, id mismatch, bad JSON)."""

    def __init__(self, message: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
