"""draft-cavage-12 HTTP signatures, Mastodon flavour: sign outbound requests, verify inbound ones.

Signing covers ``(request-target) host date`` plus ``digest`` when there is a body, with
``algorithm="rsa-sha256"`` (``hs2019`` for Ed25519 keys). Signing uses ``cryptography`` directly.

Verification follows security rule 6: *we* choose the algorithm from the key type (RSA →
RSASSA-PKCS1-v1_5 with SHA-256, Ed25519 → Ed25519) whatever ``algorithm=`` says; the label must
be one of :data:`ACCEPTED_ALGORITHM_LABELS`. Policy (checklist items 3–8): ``(request-target)``
and ``host`` are always signed, ``digest`` is signed on requests with a body, ``date`` or
``(created)`` is signed, ``(created)``/``(expires)`` only with ``hs2019``; the listed headers are
verified exactly, in their order; the request target is accepted with or without its query.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from federation.errors import SignatureError
from federation.protocol.numbers import is_ascii_digits
from federation.protocol.uris import normalise_host
from federation.signing.digests import sha256_digest_header, verify_digest_header
from federation.signing.headers import HeadersLike, header_value, header_values
from federation.signing.keys import PrivateKey, PublicKey

#: ``algorithm=`` labels we accept. The label never selects the algorithm.
ACCEPTED_ALGORITHM_LABELS = frozenset({"rsa-sha256", "hs2019", "ed25519"})
#: How far in the future a signed ``Date``/``(created)`` may be (Mastodon: 1 h).
MAX_FUTURE_SKEW = timedelta(hours=1)
#: How old a signed ``Date``/``(created)`` may be (Mastodon: 1 h 05 min).
MAX_PAST_AGE = timedelta(hours=1, minutes=5)
MAX_SIGNATURE_HEADER_LENGTH = 8192
MAX_PARAM_VALUE_LENGTH = 4096
MAX_PARAMS = 12
MAX_COVERED_HEADERS = 24
#: Methods whose requests carry a body that must be covered by a signed ``digest``.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
KNOWN_PARAMS = frozenset({"keyId", "algorithm", "headers", "signature", "created", "expires"})

_PARAM_RE = re.compile(
    r'[ \t]*([A-Za-z][A-Za-z0-9_-]{0,31})=(?:"([\x20\x21\x23-\x5b\x5d-\x7e]*)"|([0-9]{1,12}))[ \t]*'
)
_HEADER_NAME_RE = re.compile(r"^(?:\([a-z-]+\)|[!#$%&'*+.^_`|~0-9a-z-]+)$")


@dataclass(frozen=True)
class TimeWindow:
    """How far a signature's time may be from ours, in the future and in the past."""

    future: timedelta = MAX_FUTURE_SKEW
    past: timedelta = MAX_PAST_AGE


DEFAULT_TIME_WINDOW = TimeWindow()
#: RSASSA-PKCS1-v1_5 with SHA-256 (immutable; made once: building them per signature cost
#: 8 µs of a 250 µs RSA-2048 signature).
_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


@dataclass(frozen=True)
class SignatureParams:
    """A parsed ``Signature`` header."""

    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes = field(repr=False)
    created: int | None = None
    expires: int | None = None


@dataclass(frozen=True)
class VerifiedSignature:
    """Who signed (``key_id``), what was covered, and when it was signed."""

    key_id: str
    algorithm_label: str
    covered: tuple[str, ...]
    created_at: datetime


def parse_signature_header(value: str) -> SignatureParams:
    """Strictly parse a cavage ``Signature`` header value; ``SignatureError("malformed")`` if bad."""
    if not isinstance(value, str) or not value.strip():
        raise SignatureError("missing", "empty Signature header")
    if len(value) > MAX_SIGNATURE_HEADER_LENGTH:
        raise SignatureError("malformed", "Signature header too long")
    raw: dict[str, str] = {}
    pos, end = 0, len(value)
    while True:
        match = _PARAM_RE.match(value, pos)
        if match is None:
            raise SignatureError("malformed", f"unparsable Signature header at offset {pos}")
        name, quoted, number = match.group(1), match.group(2), match.group(3)
        if name in raw:
            raise SignatureError("malformed", f"duplicated Signature parameter {name}")
        if len(raw) >= MAX_PARAMS:
            raise SignatureError("malformed", "too many Signature parameters")
        param = quoted if quoted is not None else number
        if len(param) > MAX_PARAM_VALUE_LENGTH:
            raise SignatureError("malformed", f"Signature parameter {name} too long")
        raw[name] = param
        pos = match.end()
        if pos == end:
            break
        if value[pos] != ",":
            raise SignatureError("malformed", f"expected ',' at offset {pos}")
        pos += 1
    return _params_from_raw(raw)


def _params_from_raw(raw: Mapping[str, str]) -> SignatureParams:
    key_id, signature = raw.get("keyId"), raw.get("signature")
    if not key_id or not signature:
        raise SignatureError("malformed", "keyId and signature are required")
    try:
        signature_bytes = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("malformed", "signature is not base64") from exc
    if not signature_bytes:
        raise SignatureError("malformed", "empty signature")
    names = raw.get("headers", "(created)").split(" ")
    if len(names) > MAX_COVERED_HEADERS:
        raise SignatureError("malformed", "too many signed headers")
    covered = tuple(name.lower() for name in names)
    if len(set(covered)) != len(covered):
        raise SignatureError("malformed", "a header is listed twice in headers=")
    for name in covered:
        if not _HEADER_NAME_RE.match(name):
            raise SignatureError("malformed", "invalid header name in headers=")
    times = {}
    for name in ("created", "expires"):
        text = raw.get(name)
        if text is not None and not is_ascii_digits(text):
            raise SignatureError("malformed", f"{name} is not an integer")
        times[name] = int(text) if text is not None else None
    return SignatureParams(
        key_id=key_id,
        algorithm=raw.get("algorithm", "hs2019").lower(),
        headers=covered,
        signature=signature_bytes,
        created=times["created"],
        expires=times["expires"],
    )


def _signing_string(
    params: SignatureParams, method: str, target: str, headers: HeadersLike
) -> bytes:
    lines = []
    for name in params.headers:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif name == "(created)":
            lines.append(f"(created): {params.created}")
        elif name == "(expires)":
            lines.append(f"(expires): {params.expires}")
        elif name.startswith("("):
            raise SignatureError("malformed", f"unknown pseudo-header {name}")
        else:
            values = header_values(headers, name)
            if not values:
                raise SignatureError("invalid", f"signed header {name} is absent")
            lines.append(f"{name}: " + ", ".join(v.strip(" \t") for v in values))
    try:
        return "\n".join(lines).encode("ascii")
    except UnicodeEncodeError as exc:
        raise SignatureError("malformed", "non-ASCII signed header") from exc


def _check_policy(params: SignatureParams, method: str) -> None:
    if params.algorithm not in ACCEPTED_ALGORITHM_LABELS:
        raise SignatureError("unsupported_algorithm", "algorithm label not accepted")
    covered = params.headers
    if "(request-target)" not in covered:
        raise SignatureError("invalid", "(request-target) is not signed")
    if "host" not in covered:
        raise SignatureError("invalid", "host is not signed")
    if method in BODY_METHODS and "digest" not in covered:
        raise SignatureError("invalid", "digest is not signed")
    if "date" not in covered and "(created)" not in covered:
        raise SignatureError("invalid", "neither date nor (created) is signed")
    pseudo_times = {"(created)", "(expires)"} & set(covered)
    if pseudo_times and params.algorithm != "hs2019":
        raise SignatureError("invalid", "(created)/(expires) require algorithm hs2019")
    if "(created)" in covered and params.created is None:
        raise SignatureError("malformed", "(created) signed without created=")
    if "(expires)" in covered and params.expires is None:
        raise SignatureError("malformed", "(expires) signed without expires=")


def timestamp_to_datetime(value: int) -> datetime:
    """A UTC datetime from a Unix timestamp; ``SignatureError("malformed")`` if out of range."""
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureError("malformed", "timestamp out of range") from exc


def check_time(signed_at: datetime, now: datetime, window: TimeWindow) -> None:
    """Refuse a signing time outside ``window`` around ``now`` (``expired``)."""
    if signed_at > now + window.future:
        raise SignatureError("expired", "signature time is too far in the future")
    if signed_at < now - window.past:
        raise SignatureError("expired", "signature is too old")


def _signed_at(params: SignatureParams, headers: HeadersLike, now: datetime, window: TimeWindow) -> datetime:
    created_at = None
    if "date" in params.headers:
        text = header_value(headers, "date")
        if text is None:
            raise SignatureError("invalid", "signed header date is absent")
        try:
            created_at = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError) as exc:
            raise SignatureError("malformed", "Date is not an HTTP date") from exc
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        check_time(created_at, now, window)
    if "(created)" in params.headers and params.created is not None:
        created_at = timestamp_to_datetime(params.created)
        check_time(created_at, now, window)
    if params.expires is not None and timestamp_to_datetime(params.expires) < now:
        raise SignatureError("expired", "signature expired")
    assert created_at is not None  # guaranteed by _check_policy
    return created_at


def verify_signature_bytes(public_key: PublicKey, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is valid for ``message``; the key type picks the algorithm."""
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, message, _PKCS1V15, _SHA256)
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, message)
        else:
            raise SignatureError("unsupported_algorithm", "unsupported key type")
    except InvalidSignature:
        return False
    return True


def check_request(
    method: str,
    headers: HeadersLike,
    *,
    now: datetime | None = None,
    max_skew: TimeWindow = DEFAULT_TIME_WINDOW,
    expected_host: str | None = None,
    body: bytes | None = None,
) -> tuple[SignatureParams, datetime]:
    """Every check of :func:`verify_request` that needs no key: parse, policy, time, host, digest.

    Lets a receiver refuse a request before it fetches the signer's key. Returns the parsed
    parameters and the signing time; raises :class:`~federation.errors.SignatureError`.
    """
    method = method.upper()
    raw = header_value(headers, "signature")
    if raw is None:
        raise SignatureError("missing", "no Signature header")
    params = parse_signature_header(raw)
    _check_policy(params, method)
    created_at = _signed_at(params, headers, now or datetime.now(UTC), max_skew)
    if expected_host is not None:
        host = (header_value(headers, "host") or "").strip().lower()
        if host != expected_host.strip().lower():
            raise SignatureError("host_mismatch", "request signed for another host")
    if body is not None and (method in BODY_METHODS or "digest" in params.headers):
        verify_digest_header(header_value(headers, "digest"), body)
    return params, created_at


def verify_request(
    method: str,
    path_with_query: str,
    headers: HeadersLike,
    public_key: PublicKey,
    *,
    now: datetime | None = None,
    max_skew: TimeWindow = DEFAULT_TIME_WINDOW,
    expected_host: str | None = None,
    body: bytes | None = None,
) -> VerifiedSignature:
    """Verify the cavage ``Signature`` of a request against ``public_key``.

    ``expected_host`` (our host, ``name[:port]``) refuses a request signed for another host
    (``host_mismatch``). When ``body`` is given, the ``Digest`` header is recomputed over it.
    Raises :class:`~federation.errors.SignatureError`; returns who signed otherwise.
    """
    method = method.upper()
    params, created_at = check_request(
        method, headers, now=now, max_skew=max_skew, expected_host=expected_host, body=body
    )
    return verify_checked_request(params, created_at, method, path_with_query, headers, public_key)


def verify_checked_request(
    params: SignatureParams,
    created_at: datetime,
    method: str,
    path_with_query: str,
    headers: HeadersLike,
    public_key: PublicKey,
) -> VerifiedSignature:
    """The key step of :func:`verify_request`, for a request :func:`check_request` accepted.

    ``params`` and ``created_at`` are what :func:`check_request` returned for these very
    ``headers`` (a receiver checks before fetching the key, then verifies without parsing the
    header and hashing the body again). Raises :class:`~federation.errors.SignatureError`.
    """
    method = method.upper()
    targets = [path_with_query]
    if "?" in path_with_query:
        targets.append(path_with_query.split("?", 1)[0])
    for target in targets:
        message = _signing_string(params, method, target, headers)
        if verify_signature_bytes(public_key, params.signature, message):
            return VerifiedSignature(params.key_id, params.algorithm, params.headers, created_at)
    raise SignatureError("invalid", "signature does not verify")


def host_header_for(url: str) -> str:
    """The ``Host`` value for ``url``: its host as the client sends it (lower-case IDNA 2008,
    :func:`~federation.protocol.uris.normalise_host`), port only when not the default."""
    parts = urlsplit(url)
    if parts.hostname is None:
        raise ValueError("URL without host")
    host = normalise_host(parts.hostname)
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def sign_bytes(private_key: PrivateKey, message: bytes) -> bytes:
    """The raw signature of ``message``: RSASSA-PKCS1-v1_5/SHA-256 for RSA, Ed25519 otherwise."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(message, _PKCS1V15, _SHA256)
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(message)
    raise ValueError("unsupported private key type")


def sign_request(
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes | None,
    key_id: str,
    private_key: PrivateKey,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """Headers to add to a request so that it carries a Mastodon-style cavage signature.

    Returns ``Host``, ``Date``, ``Digest`` (with a body) and ``Signature``; ``Host`` and
    ``Date`` already in ``headers`` are kept as they are.
    """
    if '"' in key_id or "\\" in key_id:
        raise ValueError("keyId must not contain quotes or backslashes")
    method = method.upper()
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    added = {
        "Host": header_value(headers, "host") or host_header_for(url),
        "Date": header_value(headers, "date") or http_date(now or datetime.now(UTC)),
    }
    covered = ["(request-target)", "host", "date"]
    if body is not None and method in BODY_METHODS:
        added["Digest"] = sha256_digest_header(body)
        covered.append("digest")
    lines = [f"(request-target): {method.lower()} {target}"]
    lines += [f"{name}: {added[name.capitalize()]}" for name in covered[1:]]
    signature = sign_bytes(private_key, "\n".join(lines).encode("ascii"))
    added["Signature"] = _signature_header(key_id, algorithm_label(private_key), covered, signature)
    return added


def algorithm_label(private_key: PrivateKey) -> str:
    """The ``algorithm=`` label we send for ``private_key`` (Mastodon's choice for RSA)."""
    return "rsa-sha256" if isinstance(private_key, rsa.RSAPrivateKey) else "hs2019"


def _signature_header(key_id: str, label: str, covered: list[str] | tuple[str, ...],
                      signature: bytes) -> str:
    return (f'keyId="{key_id}",algorithm="{label}",headers="{" ".join(covered)}",'
            f'signature="{base64.b64encode(signature).decode("ascii")}"')


def http_date(moment: datetime) -> str:
    """``moment`` as an HTTP ``Date`` value (IMF-fixdate, GMT)."""
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


#: What a signed POST covers (what Mastodon requires of deliveries).
POST_COVERED = ("(request-target)", "host", "date", "digest")


class PreparedPost:
    """The parts of a signed POST of one body by one key that every recipient shares.

    Between two inboxes only the request target, ``Host`` and ``Date`` differ, so the
    ``Digest`` and the ``Signature`` parameters are computed once; :meth:`signing_string`
    gives the bytes to sign for one inbox (to be signed by :func:`sign_bytes`, possibly in
    another process) and :meth:`signature_header` the header that carries the result. The
    output is byte for byte what :func:`sign_request` produces for the same request.
    """

    __slots__ = ("digest", "_prefix")

    def __init__(self, body: bytes, key_id: str, label: str) -> None:
        if '"' in key_id or "\\" in key_id:
            raise ValueError("keyId must not contain quotes or backslashes")
        self.digest = sha256_digest_header(body)
        self._prefix = (f'keyId="{key_id}",algorithm="{label}",'
                        f'headers="{" ".join(POST_COVERED)}",signature="')

    def signing_string(self, target: str, host: str, date: str) -> bytes:
        """What is signed for a POST to ``target`` (path and query) on ``host`` at ``date``.

        ``UnicodeEncodeError`` (a ``ValueError``) when the target or host is not ASCII.
        """
        return (f"(request-target): post {target}\nhost: {host}\ndate: {date}\n"
                f"digest: {self.digest}").encode("ascii")

    def signature_header(self, signature: bytes) -> str:
        """The ``Signature`` header value carrying ``signature``."""
        return self._prefix + base64.b64encode(signature).decode("ascii") + '"'
