"""Digest and Content-Digest headers are recomputed over the raw body."""

from __future__ import annotations

import base64
import hashlib

import pytest

from federation.errors import SignatureError
from federation.signing.digests import (
    content_digest_header,
    sha256_digest_header,
    verify_content_digest_header,
    verify_digest_header,
)

BODY = b'{"type":"Create"}'


def test_sha256_digest_header_has_mastodon_shape():
    """The Digest value is SHA-256=<base64 of the SHA-256 of the body>."""
    expected = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert sha256_digest_header(BODY) == f"SHA-256={expected}"


def test_content_digest_header_is_rfc9530_byte_sequence():
    """The Content-Digest value is a structured dictionary sha-256=:<b64>:."""
    expected = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert content_digest_header(BODY) == f"sha-256=:{expected}:"


def test_matching_digests_verify():
    """Both headers verify against the body they were made from."""
    assert verify_digest_header(sha256_digest_header(BODY), BODY) == "sha-256"
    assert verify_content_digest_header(content_digest_header(BODY), BODY) == "sha-256"


def test_digest_algorithm_name_is_case_insensitive():
    """sha-256= is accepted as well as SHA-256=."""
    assert verify_digest_header(sha256_digest_header(BODY).replace("SHA-256", "sha-256"), BODY)


def test_body_changed_after_signing_is_digest_mismatch():
    """Checklist 3: a body altered after its digest was computed is refused."""
    with pytest.raises(SignatureError) as info:
        verify_digest_header(sha256_digest_header(BODY), BODY + b" ")
    assert info.value.reason == "digest_mismatch"
    with pytest.raises(SignatureError) as info:
        verify_content_digest_header(content_digest_header(BODY), BODY + b" ")
    assert info.value.reason == "digest_mismatch"


def test_digest_with_only_unknown_algorithm_is_refused():
    """Checklist 3: a Digest naming only an unknown algorithm is refused."""
    with pytest.raises(SignatureError) as info:
        verify_digest_header("MD5=" + base64.b64encode(hashlib.md5(BODY).digest()).decode(), BODY)
    assert info.value.reason == "unsupported_algorithm"
    with pytest.raises(SignatureError) as info:
        verify_content_digest_header("md5=:AAAA:", BODY)
    assert info.value.reason == "unsupported_algorithm"


def test_unknown_algorithm_beside_a_wrong_known_one_is_still_a_mismatch():
    """An extra unknown algorithm cannot hide a wrong SHA-256."""
    value = "MD5=AAAA," + sha256_digest_header(b"other")
    with pytest.raises(SignatureError) as info:
        verify_digest_header(value, BODY)
    assert info.value.reason == "digest_mismatch"


@pytest.mark.parametrize("value", ["SHA-256", "SHA-256=not base64!", "=abc", "x" * 2000])
def test_garbage_digest_is_malformed(value):
    """Unparsable Digest headers are refused as malformed."""
    with pytest.raises(SignatureError) as info:
        verify_digest_header(value, BODY)
    assert info.value.reason == "malformed"


def test_garbage_content_digest_is_malformed():
    """Content-Digest that is not a structured dictionary, or not bytes, is malformed."""
    for value in ["sha-256=abc!", 'sha-256="text"']:
        with pytest.raises(SignatureError) as info:
            verify_content_digest_header(value, BODY)
        assert info.value.reason == "malformed"


def test_absent_digest_is_missing():
    """No digest header at all is reported as missing."""
    with pytest.raises(SignatureError) as info:
        verify_digest_header(None, BODY)
    assert info.value.reason == "missing"
