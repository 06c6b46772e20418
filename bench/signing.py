"""Signing and verification throughput: our cryptography-based cavage code vs httpsig.

Run: ``.venv/bin/python bench/signing.py [seconds-per-case]`` (default 2 s). Prints a table of
operations per second for a Mastodon-style signed POST (RSA 2048, ``(request-target) host date
digest``), the same verified by our verifier and by httpsig, and RFC 9421 / Ed25519 variants.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from federation.signing.cavage import sign_request, verify_request
from federation.signing.httpsig_compat import (
    httpsig_sign_request,
    httpsig_verify_request,
    make_httpsig_signer,
)
from federation.signing.keys import (
    generate_ed25519_key,
    generate_rsa_key,
    private_key_to_pem,
    public_key_to_pem,
)
from federation.signing.rfc9421 import sign_request_rfc9421, verify_request_rfc9421

URL = "https://peer.example/inbox"
BODY = b'{"type":"Create","object":{"type":"Note","content":"hello"}}' * 8
KEY_ID = "https://site.example/actors/site#main-key"


def measure(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds``."""
    fn()
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(10):
            fn()
        count += 10
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    rsa_key, ed_key = generate_rsa_key(), generate_ed25519_key()
    rsa_pem, rsa_pub_pem = private_key_to_pem(rsa_key), public_key_to_pem(rsa_key)
    now = datetime.now(UTC)
    base = {"Content-Type": "application/activity+json"}
    ours = {**base, **sign_request("POST", URL, base, BODY, KEY_ID, rsa_key, now=now)}
    ed_signed = {**base, **sign_request("POST", URL, base, BODY, KEY_ID, ed_key, now=now)}
    plain = {k: ours[k] for k in ("Host", "Date", "Digest")}
    reused = make_httpsig_signer(KEY_ID, rsa_pem, ["(request-target)", "host", "date", "digest"])
    rfc = sign_request_rfc9421("POST", URL, {}, BODY, KEY_ID, rsa_key, created=now)

    cases = [
        ("sign cavage RSA-2048 (ours, cryptography)",
         lambda: sign_request("POST", URL, base, BODY, KEY_ID, rsa_key, now=now)),
        ("sign cavage RSA-2048 (httpsig, signer reused)",
         lambda: httpsig_sign_request("POST", URL, plain, KEY_ID, rsa_pem, signer=reused)),
        ("sign cavage RSA-2048 (httpsig, PEM parsed per call)",
         lambda: httpsig_sign_request("POST", URL, plain, KEY_ID, rsa_pem)),
        ("sign cavage Ed25519 (ours)",
         lambda: sign_request("POST", URL, base, BODY, KEY_ID, ed_key, now=now)),
        ("verify cavage RSA-2048 (ours, with digest)",
         lambda: verify_request("POST", "/inbox", ours, rsa_key.public_key(), now=now, body=BODY)),
        ("verify cavage RSA-2048 (httpsig)",
         lambda: httpsig_verify_request("POST", "/inbox", ours, rsa_pub_pem)),
        ("verify cavage Ed25519 (ours)",
         lambda: verify_request("POST", "/inbox", ed_signed, ed_key.public_key(), now=now, body=BODY)),
        ("verify RFC 9421 RSA-2048 (http-message-signatures)",
         lambda: verify_request_rfc9421("POST", URL, rfc, BODY, rsa_key.public_key(), now=now)),
    ]
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {seconds:g} s per case")
    print(f"{'case':<52} {'ops/s':>10}")
    print("-" * 63)
    results = {}
    for name, fn in cases:
        results[name] = measure(fn, seconds)
        print(f"{name:<52} {results[name]:>10,.0f}")
    ratio = results[cases[0][0]] / results[cases[1][0]]
    print(f"\nour RSA signer is {ratio:.1f}x httpsig's (signer reused)")


if __name__ == "__main__":
    main()
