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


# Checklist 37: hosts are compared as the HTTP client encodes them to connect (IDNA 2008, UTS 46
# non-transitional, as yarl does): Python's "idna" codec (IDNA 2003) folded these pairs together.
@pytest.mark.parametrize(("host", "expected"), [
    ("faß.example", "xn--fa-hia.example"),
    ("FAß.Example", "xn--fa-hia.example"),
    ("fass.example", "fass.example"),
    ("ς.example", "xn--3xa.example"),  # Greek final sigma
    ("σ.example", "xn--4xa.example"),
    ("Σ.example", "xn--4xa.example"),  # capital sigma lower-cases to σ, not ς
    ("a．b.example", "a.b.example"),  # fullwidth full stop
    ("a｡b.example", "a.b.example"),  # halfwidth ideographic full stop
    ("BÜCHER.example.", "xn--bcher-kva.example"),
    ("XN--FA-HIA.example", "xn--fa-hia.example"),
    ("１２７.0.0.1", "127.0.0.1"),  # fullwidth digits: an address once mapped
])
def test_hosts_are_normalised_as_the_client_encodes_them(host: str, expected: str) -> None:
    assert normalise_host(host) == expected


@pytest.mark.parametrize(("a", "same", "other"), [
    ("https://faß.example/", "https://FAß.EXAMPLE:443/x", "https://fass.example/"),
    ("https://faß.example/", "https://xn--fa-hia.example/", "https://FASS.example/"),
    ("https://ς.example/", "https://xn--3xa.EXAMPLE/", "https://σ.example/"),
    ("https://σ.example/", "https://Σ.example/", "https://ς.example/"),
])
def test_hosts_idna_2003_folded_together_are_two_origins(a: str, same: str, other: str) -> None:
    assert same_origin(a, same)
    assert not same_origin(a, other)


@pytest.mark.parametrize("host", [
    "a\u200db.example",  # ZERO WIDTH JOINER
    "a\u200cb.example",  # ZERO WIDTH NON-JOINER
    "\u0915\u094d\u200d\u0937.example",  # ZWJ after a virama: valid IDNA 2008, refused by yarl
    "e\ufe0fvil.example",  # a variation selector UTS 46 deletes (it would read "evil")
    "e\u00advil.example",  # soft hyphen, deleted too
    "\u2603.example",  # not IDNA 2008 (yarl would fall back to IDNA 2003)
    "my_host.example",
])
def test_hosts_the_client_would_not_connect_to_as_written_have_no_origin(host: str) -> None:
    with pytest.raises(ValueError):
        normalise_host(host)
    assert not is_http_url(f"https://{host}/")
    assert not same_origin(f"https://{host}/", "https://evil.example/")

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


@pytest.mark.parametrize("url", [
    "https://a.example/x", "http://a.example", "https://a.example?q", "https://a.example#f",
    "https://a.example./x", "https://127.0.0.1/x", "http://0x7f.1/", "https://a..example/",
    "https://-a.example/", "https://" + "a" * 64 + ".example/", "https://./", "https://a.example:443/",
    "https://A.example/", "HTTPS://a.example/", "https://user@a.example/", "https://a.example:8443/",
    "https://[::1]/", "https://a.example\\@b.example/", "https://a.example /", "https:///x",
    "https:a.example/", "ftp://a.example/", "https://ａ.example/", "https://xn--fa-hia.example/",
    "https://a.example:/x", "https://a.example:99999/", "http://a_b.example/",
    "http://127.0.0.1:8080/x", "https://a.example:0/", "https://a.example:00443?q",
    "https://a.example:65535#f", "https://a.example:65536/", "https://a.example:123456/",
    "https://a.example:８０/", "https://a.example:80:80/", "https://a.example:8a/"])
def test_the_plain_url_shortcut_gives_the_general_parses_origin(url):
    """``origin_of`` takes a shortcut for ``https://name.example/…``: every URL gets the origin
    (or the ``ValueError``) of the general parse (``urlsplit``)."""
    from urllib.parse import urlsplit

    from federation.protocol.uris import DEFAULT_PORTS, Origin, check_url_characters

    def general(value: str) -> Origin:
        check_url_characters(value)
        parts = urlsplit(value)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("no origin")
        port = parts.port
        return Origin(scheme, normalise_host(parts.hostname),
                      port if port is not None else DEFAULT_PORTS[scheme])

    try:
        expected: Origin | None = general(url)
    except ValueError:
        expected = None
    try:
        found: Origin | None = origin_of(url)
    except ValueError:
        found = None
    assert found == expected
