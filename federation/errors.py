"""Exception tree of the bridge. Everything derives from FederationError(Exception).

FederationError
├── ConfigError            – invalid configuration (carries a list of problems)
├── NotFound               – 404
├── Gone                   – 410
├── BadRequest             – 400 (malformed input)
│   └── PayloadTooLarge    – 413
├── Unprocessable          – 422 (valid JSON, invalid content; carries problems)
├── Unauthorized           – 401
│   └── SignatureError     – signature missing/malformed/invalid/expired (has .reason)
├── Forbidden              – 403 (blocked domain/actor, origin mismatch)
└── RemoteError            – outbound HTTP failed
    ├── UnsafeURL          – URL refused (scheme, private address, too many redirects)
    ├── RemoteTimeout
    ├── RemoteTooLarge
    ├── RemoteBadResponse  – wrong status, media type, id mismatch, bad JSON
"""

from __future__ import annotations

from collections.abc import Iterable

SIGNATURE_REASONS = frozenset(
    {
        "missing",
        "malformed",
        "invalid",
        "expired",
        "key_unavailable",
        "key_not_owned",
        "digest_mismatch",
        "unsupported_algorithm",
        "host_mismatch",
    }
)


class FederationError(Exception):
    """Base class of every error raised on purpose by the bridge."""

    http_status: int = 500


class ConfigError(FederationError):
    """Invalid configuration; ``problems`` lists every problem found."""

    http_status = 500

    def __init__(self, problems: Iterable[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class NotFound(FederationError):
    """The resource does not exist (or must look as if it did not)."""

    http_status = 404


class Gone(FederationError):
    """The resource existed and was deleted."""

    http_status = 410


class BadRequest(FederationError):
    """Malformed input."""

    http_status = 400


class PayloadTooLarge(BadRequest):
    """Request body over the configured cap."""

    http_status = 413


class Unprocessable(FederationError):
    """Well-formed JSON whose content is invalid; ``problems`` lists why."""

    http_status = 422

    def __init__(self, problems: Iterable[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class Unauthorized(FederationError):
    """Authentication missing or failed."""

    http_status = 401


class SignatureError(Unauthorized):
    """An HTTP signature is missing, malformed, invalid or expired; ``reason`` says which."""

    http_status = 401

    def __init__(self, reason: str, message: str = "") -> None:
        if reason not in SIGNATURE_REASONS:
            raise ValueError(f"unknown signature error reason: {reason!r}")
        self.reason = reason
        super().__init__(f"{reason}: {message}" if message else reason)


class Forbidden(FederationError):
    """Authenticated but not allowed (blocked domain/actor, origin mismatch)."""

    http_status = 403


class RemoteError(FederationError):
    """An outbound HTTP request failed."""

    http_status = 502


class UnsafeURL(RemoteError):
    """URL refused: scheme, private or reserved address, too many redirects."""

    http_status = 400


class RemoteTimeout(RemoteError):
    """The remote did not answer within the deadline."""

    http_status = 504


class RemoteTooLarge(RemoteError):
    """The remote answer exceeded the size cap."""

    http_status = 502


class RemoteBadResponse(RemoteError):
    """Wrong status, media type, id mismatch or unparsable JSON."""

    http_status = 502
