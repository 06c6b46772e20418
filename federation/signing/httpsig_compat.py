"""The ``httpsig`` package, wrapped so that the request can never choose the algorithm.

Used by tests (an independent implementation verifying our signatures) and by
``bench/signing.py`` (to compare signing speed). ``httpsig`` signs through pycryptodome.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from httpsig.sign import HeaderSigner
from httpsig.utils import generate_message, parse_signature_header
from httpsig.verify import Verifier

from federation.signing.headers import HeadersLike, header_pairs, header_value

#: The only algorithm we let httpsig use, whatever the ``Signature`` header says.
HTTPSIG_ALGORITHM = "rsa-sha256"


def make_httpsig_signer(key_id: str, private_key_pem: str, covered: list[str]) -> HeaderSigner:
    """An httpsig signer for ``covered`` header names (parsing the PEM once)."""
    return HeaderSigner(key_id, private_key_pem, algorithm=HTTPSIG_ALGORITHM, headers=covered,
                        sign_header="signature")


def httpsig_sign_request(
    method: str,
    url: str,
    headers: dict[str, str],
    key_id: str,
    private_key_pem: str,
    *,
    signer: HeaderSigner | None = None,
) -> dict[str, str]:
    """``headers`` plus a ``Signature`` made by httpsig over the header names present in it."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    covered = ["(request-target)"] + [name.lower() for name in headers]
    signer = signer or make_httpsig_signer(key_id, private_key_pem, covered)
    signed = signer.sign(dict(headers), method=method.upper(), path=target)
    return {name: signed[name] for name in list(headers) + ["signature"]}


def httpsig_verify_request(
    method: str, path_with_query: str, headers: HeadersLike, public_key_pem: str
) -> bool:
    """True when httpsig finds the cavage ``Signature`` valid under RSA-SHA256."""
    params = parse_signature_header(header_value(headers, "signature") or "")
    covered = params.get("headers", "date").split(" ")
    message = generate_message(covered, dict(header_pairs(headers)), None, method, path_with_query)
    return bool(Verifier(public_key_pem, algorithm=HTTPSIG_ALGORITHM)._verify(message, params["signature"]))
