"""Handles parsed, compared and shown (pure)."""

from __future__ import annotations

import pytest

from federation.errors import BadRequest
from federation.protocol.handles import Handle, authority_of, parse_handle, shown_handle
from federation.protocol.uris import origin_of


@pytest.mark.parametrize("text", ["@alice@Peer.Example", "alice@peer.example",
                                  "acct:alice@peer.example", " ACCT:@alice@peer.example "])
def test_handle_forms(text: str) -> None:
    assert parse_handle(text) == Handle("alice", "peer.example")


@pytest.mark.parametrize("text", ["", "alice", "@alice@", "a b@host", "a@host:99999", "a@[::1",
                                  "a@host:0", "a\u200b@host", "a@ho\nst", "a@ho_st"])
def test_not_handles(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_handle(text)


def test_same_account_ignores_case_and_idna_spelling() -> None:
    assert Handle("Alice", "PEER.example").same_as(Handle("alice", "peer.example"))
    assert Handle("a", "bücher.example").same_as(Handle("a", "xn--bcher-kva.example"))
    assert not Handle("a", "peer.example:8080").same_as(Handle("a", "peer.example"))
    assert not Handle("a", "peer.example").same_as(Handle("b", "peer.example"))


def test_authority_of_an_origin_keeps_a_port_only_when_not_default() -> None:
    assert authority_of(origin_of("https://peer.example/users/a")) == "peer.example"
    assert authority_of(origin_of("http://127.0.0.1:8080/u")) == "127.0.0.1:8080"
    assert authority_of(origin_of("https://[::1]:8443/u")) == "[::1]:8443"


@pytest.mark.parametrize(("verified", "username", "shown"), [
    ("alice@host-a.example", "bob", "@alice@host-a.example"),  # the confirmed handle wins
    (None, "alice", "@alice@host-b.example"),
    (None, "president@gov.example", "@?@host-b.example"),  # would read as another account
    (None, "alice      ", "@?@host-b.example"),
    (None, "al\u202eice", "@?@host-b.example"),
    (None, None, "@?@host-b.example"),
])
def test_shown_handle(verified: str | None, username: str | None, shown: str) -> None:
    assert shown_handle(verified, username, "host-b.example") == shown


@pytest.mark.parametrize(("text", "host"), [
    ("alice@host.example:9210", "host.example:9210"),  # a port is part of the handle
    ("alice@Host.Example:9210", "host.example:9210"),
    ("alice@Faß.Example:9210", "xn--fa-hia.example:9210"),  # IDNA, as origins are compared
    ("alice@xn--fa-hia.example", "xn--fa-hia.example"),
    ("alice@host.example:443", "host.example"),  # WebFinger is https: 443 is no port to show
    ("alice@[::1]:8443", "[::1]:8443"),
])
def test_handle_host_is_normalised_and_keeps_a_non_default_port(text: str, host: str) -> None:
    assert parse_handle(text).host == host
    assert str(parse_handle(text)) == f"alice@{host}"


def test_shown_handle_of_an_actor_on_a_non_default_port_keeps_it() -> None:
    """An unconfirmed handle is preferredUsername on the authority of the actor's origin."""
    authority = authority_of(origin_of("http://127.0.0.1:9210/users/alice"))
    assert shown_handle(None, "alice", authority) == "@alice@127.0.0.1:9210"
