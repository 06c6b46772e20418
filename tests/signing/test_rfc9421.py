"""RFC 9421 HTTP Message Signatures: valid ones accepted, checklist item 12 refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from federation.errors import SignatureError
from federation.signing.cavage import sign_request
from federation.signing.rfc9421 import (
    detect_scheme,
    parse_signature_input,
    sign_request_rfc9421,
    verify_request_rfc9421,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
URL = "https://site.example/inbox"
BODY = b'{"type":"Create"}'
KEY_ID = "https://blog.example/?author=1#main-key"


def signed(key, **kwargs):
    headers = {"Content-Type": "application/activity+json"}
    kwargs.setdefault("created", NOW)
    headers.update(sign_request_rfc9421("POST", URL, headers, BODY, KEY_ID, key, **kwargs))
    return headers


def reason_of(headers, key, body=BODY, url=URL, method="POST"):
    with pytest.raises(SignatureError) as info:
        verify_request_rfc9421(method, url, headers, body, key.public_key(), now=NOW)
    return info.value.reason


def test_valid_rfc9421_request_is_accepted(rsa_key):
    """Checklist 12: a request covering created, @method, @target-uri, content-digest is accepted."""
    result = verify_request_rfc9421("POST", URL, signed(rsa_key), BODY, rsa_key.public_key(), now=NOW)
    assert result.key_id == KEY_ID
    assert result.covered == ("@method", "@target-uri", "content-digest")
    assert result.created_at == NOW


def test_ed25519_rfc9421_request_is_accepted(ed_key):
    """Ed25519 keys verify with alg ed25519."""
    assert verify_request_rfc9421("POST", URL, signed(ed_key), BODY, ed_key.public_key(), now=NOW)


def test_signature_made_by_the_library_signer_is_accepted(rsa_key):
    """A signature made by http_message_signatures' own signer verifies with ours."""

    class Request:
        method, url = "POST", URL
        headers: dict = {}

    request = Request()
    request.headers = {"Content-Type": "application/activity+json"}
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: rsa_key}),
    )
    signer.sign(request, key_id=KEY_ID, created=NOW, covered_component_ids=("@method", "@target-uri"),
                body=BODY, label="wp")
    assert verify_request_rfc9421("POST", URL, request.headers, BODY, rsa_key.public_key(), now=NOW)


@pytest.mark.parametrize(
    "covered",
    [("@target-uri", "content-digest"), ("@method", "content-digest"), ("@method", "@target-uri")],
)
def test_missing_required_component_is_refused(rsa_key, covered):
    """Checklist 12: @method, @target-uri and content-digest (with a body) must be covered."""
    assert reason_of(signed(rsa_key, covered=covered), rsa_key) == "invalid"


def test_missing_created_is_refused(rsa_key):
    """Checklist 12: a signature without created is refused."""
    assert reason_of(signed(rsa_key, created=False), rsa_key) == "invalid"


def test_created_out_of_window_is_expired(rsa_key):
    """created 2 h old or 2 h ahead is refused."""
    for offset in (timedelta(hours=2), -timedelta(hours=2)):
        headers = {}
        headers.update(sign_request_rfc9421("POST", URL, {}, BODY, KEY_ID, rsa_key, created=NOW + offset))
        assert reason_of(headers, rsa_key) == "expired"


def test_expires_in_the_past_is_expired(rsa_key):
    """An expires parameter in the past is refused."""
    assert reason_of(signed(rsa_key, expires=NOW - timedelta(seconds=1)), rsa_key) == "expired"


def test_changed_body_is_digest_mismatch(rsa_key):
    """The Content-Digest is recomputed over the body received."""
    assert reason_of(signed(rsa_key), rsa_key, body=b"{}") == "digest_mismatch"


def test_target_uri_mismatch_is_invalid(rsa_key):
    """A request signed for another URL or method does not verify."""
    assert reason_of(signed(rsa_key), rsa_key, url="https://site.example/inbox?x=1") == "invalid"
    assert reason_of(signed(rsa_key), rsa_key, method="PUT") == "invalid"


def test_other_key_is_invalid(rsa_key, other_rsa_key):
    """A rotated key does not verify an old signature."""
    assert reason_of(signed(rsa_key), other_rsa_key) == "invalid"


def test_foreign_alg_is_refused(rsa_key):
    """alg naming an algorithm we did not choose (hmac, rsa-pss) is refused."""
    for alg in ("hmac-sha256", "rsa-pss-sha512", "ed25519"):
        assert reason_of(signed(rsa_key, alg=alg), rsa_key) == "unsupported_algorithm"


def test_signature_without_alg_uses_the_key_type(rsa_key):
    """Without alg, the key type picks RSASSA-PKCS1-v1_5 SHA-256."""
    assert verify_request_rfc9421("POST", URL, signed(rsa_key, alg=False), BODY, rsa_key.public_key(), now=NOW)


@pytest.mark.parametrize(
    "signature_input",
    ["garbage(", 'sig1="not a list";keyid="k"', 'sig1=("@method");created=1', "sig1=();keyid=1"],
)
def test_malformed_signature_input_is_malformed(signature_input):
    """Unparsable or incomplete Signature-Input is refused as malformed."""
    with pytest.raises(SignatureError) as info:
        parse_signature_input({"Signature-Input": signature_input, "Signature": "sig1=:AAAA:"})
    assert info.value.reason == "malformed"


def test_duplicated_label_is_malformed(rsa_key):
    """A label repeated in Signature-Input is refused."""
    headers = signed(rsa_key)
    headers["Signature-Input"] = headers["Signature-Input"] + ", " + headers["Signature-Input"]
    with pytest.raises(SignatureError) as info:
        parse_signature_input(headers)
    assert info.value.reason == "malformed"


def test_detect_scheme():
    """Signature-Input means RFC 9421; a bare Signature means cavage; none means unsigned."""
    assert detect_scheme({"signature-input": "x", "Signature": "y"}) == "rfc9421"
    assert detect_scheme({"Signature": 'keyId="k"'}) == "cavage"
    assert detect_scheme({"Host": "site.example"}) is None


def test_cavage_signature_is_detected_as_cavage(rsa_key):
    """Our outbound cavage signatures are detected as cavage."""
    assert detect_scheme(sign_request("GET", URL, {}, None, KEY_ID, rsa_key)) == "cavage"


def test_absurd_created_is_malformed(rsa_key):
    """A created parameter out of the calendar's range is refused as malformed."""
    headers = signed(rsa_key)
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        f"created={int(NOW.timestamp())}", "created=999999999999999")
    assert reason_of(headers, rsa_key) == "malformed"
