"""draft-cavage signatures: ours verify everywhere, and every refusal path of the checklist holds."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest

from federation.errors import SignatureError
from federation.signing.cavage import (
    MAX_FUTURE_SKEW,
    MAX_PAST_AGE,
    parse_signature_header,
    sign_request,
    verify_request,
)
from federation.signing.httpsig_compat import httpsig_sign_request, httpsig_verify_request
from federation.signing.keys import private_key_to_pem, public_key_to_pem

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
KEY_ID = "https://peer.example/actors/alice#main-key"
URL = "https://site.example/inbox?page=2"
BODY = b'{"type":"Follow"}'


def signed_post(key, *, url=URL, body=BODY, now=NOW, headers=None):
    headers = dict(headers or {"Content-Type": "application/activity+json"})
    headers.update(sign_request("POST", url, headers, body, KEY_ID, key, now=now))
    return headers


def resign(key, headers, covered, *, method="post", target="/inbox?page=2", algorithm="rsa-sha256",
           extra=""):
    """Build a Signature header by hand over ``covered`` (to craft refused variants)."""
    lower = {k.lower(): v for k, v in headers.items()}
    lines = []
    for name in covered:
        if name == "(request-target)":
            lines.append(f"(request-target): {method} {target}")
        elif name == "(created)":
            lines.append(f"(created): {int(NOW.timestamp())}")
        elif name == "(expires)":
            lines.append(f"(expires): {int((NOW - timedelta(minutes=1)).timestamp())}")
        else:
            lines.append(f"{name}: {lower[name]}")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    sig = key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    out = dict(headers)
    out["Signature"] = (
        f'keyId="{KEY_ID}",algorithm="{algorithm}",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(sig).decode()}"{extra}'
    )
    return out


def reason_of(fn, *args, **kwargs) -> str:
    with pytest.raises(SignatureError) as info:
        fn(*args, **kwargs)
    return info.value.reason


def test_our_post_signature_verifies_with_our_verifier(rsa_key):
    """A POST we sign verifies, covering (request-target) host date digest."""
    headers = signed_post(rsa_key)
    result = verify_request("POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW,
                            expected_host="site.example", body=BODY)
    assert result.key_id == KEY_ID
    assert result.covered == ("(request-target)", "host", "date", "digest")
    assert result.algorithm_label == "rsa-sha256"
    assert result.created_at == NOW


def test_our_signatures_verify_with_httpsig(rsa_key):
    """httpsig, an independent implementation, accepts our POST and GET signatures."""
    pem = public_key_to_pem(rsa_key)
    assert httpsig_verify_request("POST", "/inbox?page=2", signed_post(rsa_key), pem)
    get_headers = {"Accept": "application/activity+json"}
    get_headers.update(sign_request("GET", "https://site.example/actor", get_headers, None, KEY_ID, rsa_key))
    assert "digest" not in get_headers["Signature"]
    assert httpsig_verify_request("GET", "/actor", get_headers, pem)


def test_httpsig_signatures_verify_with_ours(rsa_key):
    """A request signed by httpsig (content-type date digest host) verifies with our verifier."""
    headers = signed_post(rsa_key)
    base = {k: headers[k] for k in ("Content-Type", "Date", "Digest", "Host")}
    signed = httpsig_sign_request("POST", URL, base, KEY_ID, private_key_to_pem(rsa_key))
    result = verify_request("POST", "/inbox?page=2", signed, rsa_key.public_key(), now=NOW, body=BODY)
    assert result.covered == ("(request-target)", "content-type", "date", "digest", "host")


def test_ed25519_signature_verifies(ed_key):
    """An Ed25519 key signs with label hs2019 and verifies."""
    headers = signed_post(ed_key)
    assert 'algorithm="hs2019"' in headers["Signature"]
    assert verify_request("POST", "/inbox?page=2", headers, ed_key.public_key(), now=NOW).key_id == KEY_ID


def test_headers_are_looked_up_case_insensitively(rsa_key):
    """Lower-case header names (as a proxy may pass them) verify the same."""
    headers = {k.lower(): v for k, v in signed_post(rsa_key).items()}
    assert verify_request("POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW)


def test_missing_signature_header_is_missing(rsa_key):
    """Checklist 1: an unsigned request is refused as missing."""
    assert reason_of(verify_request, "POST", "/inbox", {"Host": "x"}, rsa_key.public_key()) == "missing"


def test_changed_body_is_digest_mismatch(rsa_key):
    """Checklist 3: the Digest is recomputed over the body received."""
    headers = signed_post(rsa_key)
    assert reason_of(verify_request, "POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW,
                     body=b'{"type":"Delete"}') == "digest_mismatch"


def test_post_without_signed_digest_is_refused(rsa_key):
    """Checklist 4: a POST whose signed headers omit digest is refused."""
    headers = resign(rsa_key, signed_post(rsa_key), ["(request-target)", "host", "date"])
    assert reason_of(verify_request, "POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW) == "invalid"


def test_get_without_signed_host_is_refused(rsa_key):
    """Checklist 4: a GET whose signed headers omit host is refused."""
    headers = resign(rsa_key, signed_post(rsa_key), ["(request-target)", "date"], method="get")
    assert reason_of(verify_request, "GET", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW) == "invalid"


def test_neither_date_nor_created_signed_is_refused(rsa_key):
    """Checklist 4: a signature covering neither date nor (created) is refused."""
    headers = resign(rsa_key, signed_post(rsa_key), ["(request-target)", "host", "digest"])
    assert reason_of(verify_request, "POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW) == "invalid"


def test_signed_host_not_ours_is_host_mismatch(rsa_key):
    """Checklist 5: a request signed for another host is refused."""
    headers = signed_post(rsa_key, url="https://evil.example/inbox?page=2")
    assert reason_of(verify_request, "POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW,
                     expected_host="site.example") == "host_mismatch"


@pytest.mark.parametrize(
    "method,target",
    [("PUT", "/inbox?page=2"), ("POST", "/other?page=2"), ("POST", "/inbox?page=3")],
)
def test_request_target_mismatch_is_invalid(rsa_key, method, target):
    """Checklist 6: method, path or query differing from what was signed is refused."""
    headers = signed_post(rsa_key)
    assert reason_of(verify_request, method, target, headers, rsa_key.public_key(), now=NOW) == "invalid"


def test_request_target_signed_without_query_is_accepted(rsa_key):
    """Peers that sign the path without its query string are accepted."""
    headers = resign(rsa_key, signed_post(rsa_key), ["(request-target)", "host", "date", "digest"],
                     target="/inbox")
    assert verify_request("POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW)


@pytest.mark.parametrize("offset", [timedelta(hours=2), -timedelta(hours=2)])
def test_date_two_hours_off_is_expired(rsa_key, offset):
    """Checklist 7: a Date two hours old or two hours ahead is refused."""
    headers = signed_post(rsa_key, now=NOW + offset)
    assert reason_of(verify_request, "POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW) == "expired"


def test_date_window_edges_are_accepted(rsa_key):
    """Dates just inside 1 h ahead and 1 h 05 min behind are accepted."""
    for offset in (MAX_FUTURE_SKEW - timedelta(seconds=1), -MAX_PAST_AGE + timedelta(seconds=1)):
        headers = signed_post(rsa_key, now=NOW + offset)
        assert verify_request("POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW)


def test_expires_in_the_past_is_expired(rsa_key):
    """Checklist 7: (expires) in the past is refused."""
    past = int((NOW - timedelta(minutes=1)).timestamp())
    headers = resign(rsa_key, signed_post(rsa_key),
                     ["(request-target)", "host", "(created)", "(expires)", "digest"],
                     algorithm="hs2019", extra=f",created={int(NOW.timestamp())},expires={past}")
    assert reason_of(verify_request, "POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW) == "expired"


def test_created_with_hs2019_verifies(rsa_key):
    """(created) signed with hs2019 replaces Date."""
    headers = resign(rsa_key, signed_post(rsa_key), ["(request-target)", "host", "(created)", "digest"],
                     algorithm="hs2019", extra=f",created={int(NOW.timestamp())}")
    assert verify_request("POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW).created_at == NOW


def test_created_with_rsa_sha256_label_is_refused(rsa_key):
    """(created) is only allowed with algorithm hs2019."""
    headers = resign(rsa_key, signed_post(rsa_key), ["(request-target)", "host", "(created)", "digest"],
                     extra=f",created={int(NOW.timestamp())}")
    assert reason_of(verify_request, "POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW) == "invalid"


def test_hmac_algorithm_label_is_refused(rsa_key):
    """Rule 6: an algorithm label other than rsa-sha256/hs2019/ed25519 is refused."""
    headers = signed_post(rsa_key)
    headers["Signature"] = headers["Signature"].replace("rsa-sha256", "hmac-sha256")
    assert reason_of(verify_request, "POST", "/inbox?page=2", headers, rsa_key.public_key(),
                     now=NOW) == "unsupported_algorithm"


def test_label_does_not_choose_the_algorithm(rsa_key):
    """An RSA signature labelled ed25519 or hs2019 is still checked as RSA-SHA256."""
    for label in ("hs2019", "ed25519"):
        headers = signed_post(rsa_key)
        headers["Signature"] = headers["Signature"].replace("rsa-sha256", label)
        assert verify_request("POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW)


def test_rotated_key_does_not_verify(rsa_key, other_rsa_key):
    """Checklist 10 (signing level): a signature by the old key fails under the new key."""
    headers = signed_post(rsa_key)
    assert reason_of(verify_request, "POST", "/inbox?page=2", headers, other_rsa_key.public_key(),
                     now=NOW) == "invalid"


def test_extra_signed_header_changed_is_invalid(rsa_key):
    """Headers are verified exactly as listed: changing a listed one breaks the signature."""
    headers = resign(rsa_key, signed_post(rsa_key), ["(request-target)", "content-type", "date", "digest", "host"])
    assert verify_request("POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW)
    headers["Content-Type"] = "text/plain"
    assert reason_of(verify_request, "POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW) == "invalid"


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        'keyId="a",keyId="b",headers="date",signature="AAAA"',
        'keyId="a",signature="AAAA",signature="AAAA"',
        'keyId="a",headers="date",signature="not base64!"',
        'keyId="a",headers="date",signature=""',
        'keyId="' + "a" * 5000 + '",signature="AAAA"',
        'keyId="a",signature="AAAA",' + ",".join(f'x{i}="1"' for i in range(20)),
        'keyId="a" signature="AAAA"',
        'keyId="a",signature="AAAA",',
        'keyId="a\\"b",signature="AAAA"',
        'keyId="a",headers="date date",signature="AAAA"',
        'keyId="a",headers="date  host",signature="AAAA"',
        'keyId="a",created="soon",signature="AAAA"',
        'keyId="a",created="\u00b2",signature="AAAA"',  # "²": isdigit() but not int()
        'keyId="a",expires="\u0663",signature="AAAA"',  # an Arabic-Indic 3
        'signature="AAAA"',
        "x" * 9000,
    ],
)
def test_garbage_signature_headers_are_malformed(value):
    """Checklist 8: garbage, duplicated, oversized parameters and non-base64 are malformed."""
    assert reason_of(parse_signature_header, value) == "malformed"


def test_parser_reads_all_known_parameters():
    """keyId, algorithm, headers, signature, created, expires are read; unknown ones ignored."""
    params = parse_signature_header(
        'keyId="k", algorithm="hs2019", headers="(request-target) host (created)",'
        ' signature="AAAA", created=1700000000, expires="1700000300", extra="x"'
    )
    assert (params.key_id, params.algorithm, params.created, params.expires) == ("k", "hs2019", 1700000000, 1700000300)
    assert params.headers == ("(request-target)", "host", "(created)")
    assert params.signature == b"\0\0\0"
    assert "AAAA" not in repr(params)


def test_sign_request_keeps_given_date_and_host(rsa_key):
    """Host and Date already present are signed as they are."""
    headers = {"Host": "site.example", "Date": "Fri, 01 May 2026 12:00:00 GMT"}
    added = sign_request("GET", URL, headers, None, KEY_ID, rsa_key)
    assert added["Host"] == "site.example" and added["Date"] == headers["Date"]
    assert re.search(r'headers="\(request-target\) host date"', added["Signature"])


def test_host_header_includes_non_default_port(rsa_key):
    """The signed host carries the port when it is not the scheme's default."""
    added = sign_request("GET", "http://127.0.0.1:8081/a", {}, None, KEY_ID, rsa_key)
    assert added["Host"] == "127.0.0.1:8081"
    assert sign_request("GET", "https://Site.Example:443/a", {}, None, KEY_ID, rsa_key)["Host"] == "site.example"


@pytest.mark.parametrize(("url", "host"), [
    ("https://faß.example/inbox", "xn--fa-hia.example"),
    ("https://ς.example:8443/inbox", "xn--3xa.example:8443"),
    ("https://[::1]:8443/inbox", "[::1]:8443"),
])
def test_signed_host_is_the_host_the_client_sends(rsa_key, url, host):
    """(37) The signed Host is encoded as the client connects (IDNA 2008: faß is not fass)."""
    assert sign_request("POST", url, {}, b"{}", KEY_ID, rsa_key)["Host"] == host


def test_absurd_created_timestamp_is_malformed(rsa_key):
    """A (created) far beyond any calendar is refused as malformed, not a crash."""
    headers = resign(rsa_key, signed_post(rsa_key), ["(request-target)", "host", "(created)", "digest"],
                     algorithm="hs2019", extra=",created=999999999999")
    assert reason_of(verify_request, "POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW) == "malformed"


def test_prepared_post_signs_exactly_like_sign_request(rsa_key):
    """A delivery's precomputed parts (digest, parameters, one signing string) give sign_request's headers."""
    from federation.signing.cavage import PreparedPost, algorithm_label, http_date, sign_bytes

    headers = signed_post(rsa_key)
    prepared = PreparedPost(BODY, KEY_ID, algorithm_label(rsa_key))
    message = prepared.signing_string("/inbox?page=2", "site.example", http_date(NOW))
    assert prepared.digest == headers["Digest"] and headers["Date"] == http_date(NOW)
    assert prepared.signature_header(sign_bytes(rsa_key, message)) == headers["Signature"]
    verify_request("POST", "/inbox?page=2", headers, rsa_key.public_key(), now=NOW, body=BODY)
