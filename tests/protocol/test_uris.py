"""Origins, fragments and hosts of URIs as the inbox meets them."""

from __future__ import annotations

import pytest

from federation.protocol.uris import (
    is_http_url,
    link_url,
    normalise_host,
    origin_of,
    same_origin,
    strip_fragment,
)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://peer.example/users/a#main-key", "https://peer.example/users/a"),
    ("https://peer.example/users/a", "https://peer.example/users/a"),
    ("https://peer.example/a#b#c", "https://peer.example/a"),
    ("http://[::1", "http://[::1"),  # malformed: left for its user to refuse, never raises
    ("", ""),
])
def test_strip_fragment(url: str, expected: str) -> None:
    assert strip_fragment(url) == expected


@pytest.mark.parametrize("url", ["http://[::1", "https://", "ftp://peer.example/", "peer.example",
                                 "https://peer.example:99999/", "https://bad host/"])
def test_malformed_urls_have_no_origin(url: str) -> None:
    with pytest.raises(ValueError):
        origin_of(url)
    assert not same_origin(url, "https://peer.example/")


def test_origins_are_normalised() -> None:
    assert same_origin("https://PEER.example./a", "https://peer.example:443/b")
    assert not same_origin("https://peer.example/", "http://peer.example/")
    assert str(origin_of("https://xn--bcher-kva.example/")) == "https://xn--bcher-kva.example"
    assert normalise_host("BÜCHER.example") == "xn--bcher-kva.example"
    assert normalise_host("[::1]") == "::1"
    with pytest.raises(ValueError):
        normalise_host(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "expected"), [
    ("https://peer.example/users/a", True), ("http://127.0.0.1:8080/", True),
    ("http://[::1", False), ("ftp://peer.example/", False), ("peer.example", False),
    ("https://", False), (None, False), (5, False),
])
def test_is_http_url_never_raises(value: object, expected: bool) -> None:
    assert is_http_url(value) is expected


@pytest.mark.parametrize("value", [
    "http://[", "http://[::1", "javascript:alert(1)", " JaVaScRiPt:alert(1)", "data:text/html,x",
    "https://a.example/x\r\nSet-Cookie: a=1", "https://a.example/\tx", "https://a.example/ x",
    "https://a.example/\x85", "//a.example/x", "/path", "", "\u202ehttps://a.example/",
    "https://a.example:99999/", "https://" + "a" * 2048 + ".example/", None, 42, ["https://a.example/"],
])
def test_link_url_refuses_what_must_not_become_a_link(value: object) -> None:
    """Only absolute http(s) URLs, short and without spaces or controls, become links."""
    assert link_url(value) is None


def test_link_url_keeps_http_urls_as_they_are() -> None:
    for url in ("https://a.example/x?y=1#z", "http://a.example:8080/é", "https://[::1]/"):
        assert link_url(url) == url
