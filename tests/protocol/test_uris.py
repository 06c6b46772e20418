"""Origins, fragments and hosts of URIs as the inbox meets them."""

from __future__ import annotations

import pytest

from federation.protocol.uris import (
    is_http_url,
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


CONTROL_URLS = ["https://peer.example/in\r\nbox", "https://peer.example/inbox\n",
                " https://peer.example/inbox", "https://peer.example/in box",
                "https://peer.example/\tinbox", "https://peer.example/a\x00", "https://peer.example/a\x7f",
                "https://peer.example/a\x85", "https://peer.example/\u202egnp.exe",
                "https://peer.example/a\u200b", "https://peer.example\\@other.example/",
                "https://peer.example/\ud800", "http\r\n://peer.example/", "https://peer.\nexample/"]


@pytest.mark.parametrize("url", CONTROL_URLS)
def test_urls_with_control_characters_or_spaces_are_refused(url: str) -> None:
    """urlsplit silently drops CR, LF and TAB (and we stripped spaces): the URL we would store
    is not the one we checked. Controls, spaces, invisible format characters, backslashes
    (read as "/" by browsers) and surrogates make a URL invalid, wherever they are."""
    assert not is_http_url(url)
    with pytest.raises(ValueError):
        origin_of(url)
    assert not same_origin(url, "https://peer.example/")


def test_non_ascii_paths_and_hosts_stay_valid() -> None:
    """IRIs used by real peers stay valid: accented paths, IDNA hosts, percent-escapes."""
    for url in ("https://peer.example/@café", "https://bücher.example/a", "https://peer.example/a%0D%0A"):
        assert is_http_url(url), url
