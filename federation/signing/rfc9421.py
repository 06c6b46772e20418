"""RFC 9421 HTTP Message Signatures: verify inbound requests (and sign, to simulate peers).

A request carrying ``Signature-Input`` is an RFC 9421 request (:func:`detect_scheme`).
Policy (what Mastodon 4.5 requires): a ``created`` parameter inside the time window, covered
``@method`` and ``@target-uri``, and a covered, matching ``Content-Digest`` (RFC 9530) when the
request has a body. As with cavage, the key type chooses the algorithm (``rsa-v1_5-sha256`` for
RSA, ``ed25519`` for Ed25519); an ``alg`` parameter naming anything else is refused.

The signature base and the cryptographic check are delegated to ``http_message_signatures``;
our signer below is an independent implementation of the signature base, used by tests.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import http_sf
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)
from http_message_signatures.algorithms import HTTPSignatureAlgorithm

from federation.errors import SignatureError
from federation.signing.cavage import (
    DEFAULT_TIME_WINDOW,
    TimeWindow,
    VerifiedSignature,
    check_time,
    sign_bytes,
    timestamp_to_datetime,
)
from federation.signing.digests import content_digest_header, verify_content_digest_header
from federation.signing.headers import HeadersLike, header_pairs, header_value
from federation.signing.keys import PrivateKey, PublicKey

#: ``alg`` values we accept; the key type decides which one applies.
RFC9421_ALGORITHMS: dict[str, type[HTTPSignatureAlgorithm]] = {
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "ed25519": algorithms.ED25519,
}
REQUIRED_COMPONENTS = ("@method", "@target-uri")
MAX_SIGNATURE_INPUT_LENGTH = 8192
MAX_COVERED_COMPONENTS = 24


@dataclass(frozen=True)
class Rfc9421Params:
    """The selected member of ``Signature-Input`` and its ``Signature``."""

    label: str
    key_id: str
    covered: tuple[str, ...]
    created: int | None
    expires: int | None
    alg: str | None
    signature: bytes = field(repr=False)
    #: This member of ``Signature-Input`` alone, serialised (what the signature base covers).
    input_member: str = field(default="", repr=False)


def detect_scheme(headers: HeadersLike) -> Literal["rfc9421", "cavage"] | None:
    """``"rfc9421"`` when ``Signature-Input`` is present, ``"cavage"`` for a bare ``Signature``."""
    if header_value(headers, "signature-input") is not None:
        return "rfc9421"
    if header_value(headers, "signature") is not None:
        return "cavage"
    return None


def _parse_dictionary(headers: HeadersLike, name: str) -> dict[str, Any]:
    value = header_value(headers, name)
    if value is None:
        raise SignatureError("missing", f"no {name} header")
    if len(value) > MAX_SIGNATURE_INPUT_LENGTH:
        raise SignatureError("malformed", f"{name} header too long")

    def refuse_duplicate(key: str, context: str) -> None:
        raise SignatureError("malformed", f"duplicated {name} member or parameter")

    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary",
                               on_duplicate_key=refuse_duplicate)
    except (ValueError, UnicodeEncodeError) as exc:
        raise SignatureError("malformed", f"{name} is not a structured dictionary") from exc
    if not isinstance(parsed, dict):  # what tltype="dictionary" returns
        raise SignatureError("malformed", f"{name} is not a structured dictionary")
    return parsed


def parse_signature_input(headers: HeadersLike) -> Rfc9421Params:
    """The first signature of the request (``keyid`` tells whose key to fetch)."""
    inputs = _parse_dictionary(headers, "signature-input")
    signatures = _parse_dictionary(headers, "signature")
    for label, (members, params) in inputs.items():
        if label not in signatures:
            continue
        signature = signatures[label][0]
        if not isinstance(members, list) or not isinstance(signature, bytes) or not signature:
            raise SignatureError("malformed", "Signature-Input member is not an inner list")
        if len(members) > MAX_COVERED_COMPONENTS:
            raise SignatureError("malformed", "too many covered components")
        covered = []
        for item, item_params in members:
            if not isinstance(item, str):
                raise SignatureError("malformed", "covered component is not a string")
            covered.append(item if not item_params else f"{item};" + ";".join(sorted(item_params)))
        key_id, alg = params.get("keyid"), params.get("alg")
        created, expires = params.get("created"), params.get("expires")
        if not isinstance(key_id, str) or not key_id:
            raise SignatureError("malformed", "keyid missing")
        if alg is not None and not isinstance(alg, str):
            raise SignatureError("malformed", "alg is not a string")
        for value in (created, expires):
            if value is not None and (type(value) is not int or value < 0):
                raise SignatureError("malformed", "created/expires is not an integer")
        return Rfc9421Params(label, key_id, tuple(covered), created, expires, alg, signature,
                             http_sf.ser({label: inputs[label]}))
    raise SignatureError("malformed", "no Signature member matches Signature-Input")


class _KeyResolver(HTTPSignatureKeyResolver):
    def __init__(self, key_id: str, public_key: PublicKey) -> None:
        self._key_id, self._public_key = key_id, public_key

    def resolve_public_key(self, key_id: str) -> PublicKey | None:
        return self._public_key if key_id == self._key_id else None


class _Verifier(HTTPMessageVerifier):
    """The library's verifier with its clock checks disabled: ours run before, with ``now``."""

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        return None


@dataclass(frozen=True)
class _Message:
    method: str
    url: str
    headers: Any


class _Pairs(list[tuple[str, str]]):
    def items(self) -> list[tuple[str, str]]:
        return list(self)


def _algorithm_for(public_key: PublicKey, alg: str | None) -> type[HTTPSignatureAlgorithm]:
    if isinstance(public_key, rsa.RSAPublicKey):
        chosen = "rsa-v1_5-sha256"
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        chosen = "ed25519"
    else:
        raise SignatureError("unsupported_algorithm", "unsupported key type")
    if alg is not None and alg != chosen:
        raise SignatureError("unsupported_algorithm", "alg does not match the key type")
    return RFC9421_ALGORITHMS[chosen]


def check_request_rfc9421(
    headers: HeadersLike,
    body: bytes | None,
    *,
    now: datetime | None = None,
    max_skew: TimeWindow = DEFAULT_TIME_WINDOW,
) -> tuple[Rfc9421Params, datetime]:
    """Every check of :func:`verify_request_rfc9421` that needs no key.

    Parse, ``created`` within the window, ``expires``, required components, and a covered,
    matching ``Content-Digest``: a receiver refuses the request before fetching any key.
    """
    params = parse_signature_input(headers)
    if params.created is None:
        raise SignatureError("invalid", "created is required")
    for component in REQUIRED_COMPONENTS:
        if component not in params.covered:
            raise SignatureError("invalid", f"{component} is not covered")
    now = now or datetime.now(UTC)
    created_at = timestamp_to_datetime(params.created)
    check_time(created_at, now, max_skew)
    if params.expires is not None and timestamp_to_datetime(params.expires) < now:
        raise SignatureError("expired", "signature expired")
    digest = header_value(headers, "content-digest")
    if body or digest is not None:
        if "content-digest" not in params.covered:
            raise SignatureError("invalid", "content-digest is not covered")
        verify_content_digest_header(digest, body or b"")
    return params, created_at


def verify_request_rfc9421(
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes | None,
    public_key: PublicKey,
    *,
    now: datetime | None = None,
    max_skew: TimeWindow = DEFAULT_TIME_WINDOW,
) -> VerifiedSignature:
    """Verify an RFC 9421 request. ``url`` is the absolute URL as we are reached (our origin)."""
    params, created_at = check_request_rfc9421(headers, body, now=now, max_skew=max_skew)
    return verify_checked_request_rfc9421(params, created_at, method, url, headers, public_key)


def verify_checked_request_rfc9421(
    params: Rfc9421Params,
    created_at: datetime,
    method: str,
    url: str,
    headers: HeadersLike,
    public_key: PublicKey,
) -> VerifiedSignature:
    """The cryptographic half of :func:`verify_request_rfc9421`, for a request that
    :func:`check_request_rfc9421` already parsed and checked (digest and time included)."""
    signature_algorithm = _algorithm_for(public_key, params.alg)
    selected = [
        (name, value) for name, value in header_pairs(headers)
        if name.lower() not in ("signature", "signature-input")
    ]
    selected += [("Signature-Input", params.input_member),
                 ("Signature", f"{params.label}=:{base64.b64encode(params.signature).decode()}:")]
    verifier = _Verifier(
        signature_algorithm=signature_algorithm,
        key_resolver=_KeyResolver(params.key_id, public_key),
    )
    try:
        verifier.verify(_Message(method.upper(), url, _Pairs(selected)), max_age=None)
    except (InvalidSignature, HTTPMessageSignaturesException) as exc:
        raise SignatureError("invalid", "signature does not verify") from exc
    return VerifiedSignature(params.key_id, params.alg or signature_algorithm.algorithm_id, params.covered, created_at)


def _component_value(name: str, method: str, url: str, headers: dict[str, str]) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    derived = {
        "@method": method.upper(),
        "@target-uri": url,
        "@authority": parts.netloc.lower(),
        "@scheme": parts.scheme.lower(),
        "@path": parts.path or "/",
        "@query": "?" + parts.query,
        "@request-target": (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
    }
    if name in derived:
        return derived[name]
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered[name].strip()


def sign_request_rfc9421(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    key_id: str,
    private_key: PrivateKey,
    *,
    created: datetime | None | Literal[False] = None,
    expires: datetime | None = None,
    covered: tuple[str, ...] | None = None,
    label: str = "sig1",
    alg: str | None | Literal[False] = None,
) -> dict[str, str]:
    """Headers (``Content-Digest``, ``Signature-Input``, ``Signature``) signing a request.

    Simulates peers such as WordPress. ``created=False`` omits ``created`` and ``alg=False``
    omits ``alg`` (tests of refusal paths); ``url`` must be the absolute, encoded URL.
    """
    added: dict[str, str] = {}
    if body is not None:
        added["Content-Digest"] = content_digest_header(body)
    if covered is None:
        covered = ("@method", "@target-uri") + (("content-digest",) if body is not None else ())
    all_headers = {**headers, **added}
    lines = [f'"{name}": {_component_value(name, method, url, all_headers)}' for name in covered]
    params = "(" + " ".join(f'"{name}"' for name in covered) + ")"
    if created is not False:
        params += f";created={int((created or datetime.now(UTC)).timestamp())}"
    if expires is not None:
        params += f";expires={int(expires.timestamp())}"
    params += f';keyid="{key_id}"'
    if alg is not False:
        default_alg = "rsa-v1_5-sha256" if isinstance(private_key, rsa.RSAPrivateKey) else "ed25519"
        params += f';alg="{alg or default_alg}"'
    lines.append(f'"@signature-params": {params}')
    signature = sign_bytes(private_key, "\n".join(lines).encode("ascii"))
    added["Signature-Input"] = f"{label}={params}"
    added["Signature"] = f"{label}=:{base64.b64encode(signature).decode('ascii')}:"
    return added
