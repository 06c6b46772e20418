"""Text no database or sanitiser can hold is refused where it enters, signed or not.

A lone UTF-16 surrogate (``"\\ud800"`` in JSON) or a NUL is valid JSON but no text: nh3 and
PostgreSQL both fail on it. Each case here is a signed activity through the whole application:
a 400 at intake, nothing stored, nothing logged as unhandled.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from federation.db.moderation import Reply

from .conftest import ARTICLE, HALTE, PUBLIC, create, note, nothing_stored

LONE = "\ud800"


def _reply_with(alice: Any, **fields: Any) -> dict[str, Any]:
    return create(alice, note(alice, **fields))


CASES = {
    "content": lambda a: _reply_with(a, content=f"<p>bravo {LONE}</p>"),
    "summary": lambda a: _reply_with(a, summary=f"cw {LONE}"),
    "name": lambda a: _reply_with(a, name=f"titre {LONE}"),
    "attachment name": lambda a: _reply_with(a, attachment=[
        {"type": "Image", "mediaType": "image/png", "url": "https://peer.example/a.png",
         "name": f"photo {LONE}"}]),
    "contentMap": lambda a: _reply_with(a, contentMap={"fr": f"<p>{LONE}</p>"}),
    "key of contentMap": lambda a: _reply_with(a, contentMap={f"f{LONE}": "<p>x</p>"}),
    "low surrogate": lambda a: _reply_with(a, content="\udc00 seul"),
    "flag content": lambda a: {"id": f"{a.uri}/flags/1", "type": "Flag", "actor": a.uri,
                               "object": [HALTE, ARTICLE], "content": f"spam {LONE}"},
    "like object": lambda a: {"id": f"{a.uri}/likes/1", "type": "Like", "actor": a.uri,
                              "object": ARTICLE + LONE},
}


@pytest.mark.parametrize("case", list(CASES))
async def test_lone_surrogate_anywhere_is_400_and_nothing_stored(
        bridge, peer, alice, case, caplog: pytest.LogCaptureFixture) -> None:
    """A signed activity with a lone surrogate in any string is refused at intake."""
    await bridge.article()
    activity = CASES[case](alice)
    assert "\\ud" in json.dumps(activity) or "\\udc" in json.dumps(activity)
    with caplog.at_level(logging.ERROR):
        response = await bridge.post(activity, alice)
        assert response.status == 400, await response.text()
        assert "surrogate" in (await response.json())["error"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert await Reply.all().count() == 0
    assert peer.gets == []  # refused before the signer's key was even fetched


async def test_surrogate_pair_escape_is_one_character_and_accepted(bridge, peer, alice) -> None:
    """A well-formed pair (``\\ud83d\\udd25``) is the emoji it encodes, stored as such."""
    await bridge.article()
    body = json.dumps(_reply_with(alice, content="<p>🔥</p>")).encode()
    assert b"\\ud83d\\udd25" in body
    assert (await bridge.post(None, alice, body=body)).status == 202
    assert (await Reply.get()).content_html == "<p>🔥</p>"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
async def test_body_not_in_utf8_is_400(bridge, peer, alice, encoding) -> None:
    """JSON in UTF-16/32 is refused (RFC 8259: UTF-8), so a NUL cannot hide behind it."""
    await bridge.article()
    body = json.dumps(_reply_with(alice, content="<p>a\u0000b</p>")).encode(encoding)
    response = await bridge.post(None, alice, body=body)
    assert response.status == 400
    assert await nothing_stored()


async def test_surrogate_encoded_as_utf8_bytes_is_400(bridge, peer, alice) -> None:
    """The bytes ED A0 80 (a surrogate written as if UTF-8; Python's json reads them) are refused."""
    await bridge.article()
    body = json.dumps(_reply_with(alice, content="<p>X</p>")).encode().replace(
        b"X", "\ud800".encode("utf-8", "surrogatepass"))
    response = await bridge.post(None, alice, body=body)
    assert response.status == 400
    assert await nothing_stored()


async def test_announced_note_with_a_lone_surrogate_is_not_stored(
        bridge, make_peer, peer, alice, peer_keys, caplog: pytest.LogCaptureFixture) -> None:
    """An Announce of a note fetched from elsewhere whose content holds a lone surrogate: the
    fetched document is refused like a malformed one; 202 and no reply, no 500."""
    other = await make_peer()
    carol = other.actor("carol", peer_keys[1])
    other.serve("/users/carol/statuses/1", note(carol, content=f"<p>{LONE}</p>"))
    await bridge.article()
    announce = {"id": f"{alice.uri}/statuses/9/activity", "type": "Announce", "actor": alice.uri,
                "object": f"{carol.uri}/statuses/1", "to": [PUBLIC]}
    with caplog.at_level(logging.ERROR):
        assert (await bridge.post(announce, alice)).status == 202
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "/users/carol/statuses/1" in other.gets
    assert await Reply.all().count() == 0
