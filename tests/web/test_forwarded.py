"""`base_url` is the only source of the public origin: forged proxy headers change nothing.

A client (or a proxy passing them through) may send ``X-Forwarded-Host``, ``X-Forwarded-Proto``,
``X-Forwarded-Port``, ``Forwarded`` or another ``Host``: every document and redirect the bridge
serves is byte for byte what it serves without them (docs/deploy.md, docs/configuration.md).
"""

from __future__ import annotations

import pytest

AS_JSON = "application/activity+json"
FORGED = {
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "http",
    "X-Forwarded-Port": "8666",
    "X-Forwarded-Prefix": "/evil",
    "Forwarded": "for=192.0.2.1;host=evil.example;proto=http",
}


@pytest.mark.parametrize(("path", "accept"), [
    ("/actors/site", AS_JSON),
    ("/actors/halte-au-controle-numerique", AS_JSON),
    ("/actors/halte-au-controle-numerique/outbox", AS_JSON),
    ("/actors/halte-au-controle-numerique/outbox?page=true", AS_JSON),
    ("/actors/halte-au-controle-numerique/followers", AS_JSON),
    ("/actors/halte-au-controle-numerique/featured", AS_JSON),
    ("/.well-known/webfinger?resource=acct:halteaucontrolenumerique@bridge.example",
     "application/jrd+json"),
    ("/.well-known/nodeinfo", "application/json"),
    ("/.well-known/host-meta", "application/xrd+xml"),
    ("/actors/halte-au-controle-numerique", "text/html"),  # browsers: a redirect to the site
])
async def test_forged_forwarded_headers_change_nothing(client, path, accept):
    """Same status, Location and body with forged X-Forwarded-*/Forwarded/Host headers."""
    plain = await client.get(path, headers={"Accept": accept}, allow_redirects=False)
    plain_body = await plain.read()
    for headers in (FORGED, {"Host": "evil.example"}, {**FORGED, "Host": "evil.example:8443"}):
        forged = await client.get(path, headers={"Accept": accept, **headers},
                                  allow_redirects=False)
        body = await forged.read()
        assert forged.status == plain.status, headers
        assert forged.headers.get("Location") == plain.headers.get("Location")
        assert body == plain_body, headers
        assert b"evil" not in body and "evil" not in forged.headers.get("Location", "")
    assert plain.status in (200, 303) and (plain_body or plain.headers.get("Location"))
