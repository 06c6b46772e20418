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


# -- URLs with control characters -----------------------------------------------------------

BAD_URL_TAILS = ["\r\nX-Injected: 1", "\n", "\t", " x", "\x00", "\x85", "\u202e"]


@pytest.mark.parametrize("tail", BAD_URL_TAILS)
async def test_actor_whose_inbox_holds_a_control_character_is_not_stored(
        bridge, peer, peer_keys, tail) -> None:
    """An actor document whose ``inbox`` holds CR/LF (or another control, a space…) is not a
    usable actor: its Follow stores no row (urlsplit dropped the CR/LF, so it was accepted)."""
    alice = peer.actor("alice", peer_keys[0], inbox=f"{peer.base}/users/alice/in{tail}box")
    follow = {"id": f"{alice.uri}/follows/1", "type": "Follow", "actor": alice.uri,
              "object": HALTE}
    response = await bridge.post(follow, alice)
    assert response.status in (202, 401)
    assert await nothing_stored()


async def test_shared_inbox_and_url_with_control_characters_are_dropped(bridge, peer,
                                                                         peer_keys) -> None:
    """A sharedInbox or profile ``url`` with CR/LF is not kept (the actor is, with its inbox)."""
    from federation.db.social import Follower, RemoteActor

    alice = peer.actor("alice", peer_keys[0], endpoints={"sharedInbox": f"{peer.base}/in\r\nbox"},
                       url=[f"{peer.base}/@alice\r\n", {"href": f"{peer.base}/@alice\n"}])
    follow = {"id": f"{alice.uri}/follows/1", "type": "Follow", "actor": alice.uri, "object": HALTE}
    assert (await bridge.post(follow, alice)).status == 202
    assert await Follower.all().count() == 1
    row = await RemoteActor.get()
    assert (row.inbox, row.shared_inbox, row.url) == (f"{alice.uri}/inbox", None, None)


async def test_listed_key_id_with_control_characters_is_not_kept(peer, peer_keys) -> None:
    """A key listed under an id holding CR/LF is not the actor's key row (it could never match
    a keyId a header carries, and is not stored)."""
    from federation.remote.actors import actor_fields
    from federation.signing.keys import public_key_to_pem

    alice = peer.actor("alice", peer_keys[0])
    document = dict(peer.documents["/users/alice"])
    document["publicKey"] = {"id": f"{alice.uri}#main-key\r\n", "owner": alice.uri,
                             "publicKeyPem": public_key_to_pem(peer_keys[0])}
    assert actor_fields(document)["key_id"] is None


@pytest.mark.parametrize("field", ["id", "actor"])
@pytest.mark.parametrize("tail", ["\r\n", "\t", " "])
async def test_activity_id_or_actor_with_control_characters_is_400(bridge, peer, alice, field,
                                                                  tail) -> None:
    """The activity's own id and actor are refused at intake when they hold CR/LF, TAB or a space."""
    like = {"id": f"{alice.uri}/likes/1", "type": "Like", "actor": alice.uri, "object": ARTICLE}
    like[field] = like[field][:-3] + tail + like[field][-3:]
    await bridge.article()
    response = await bridge.post(like, alice)
    assert response.status == 400
    assert await nothing_stored()


async def test_reply_links_with_control_characters_are_dropped(bridge, peer, alice) -> None:
    """A reply's ``url`` and attachment URLs holding CR/LF are not kept; clean ones are."""
    await bridge.article()
    attachments = [
        {"type": "Image", "mediaType": "image/png", "url": "https://peer.example/a.png\r\n"},
        {"type": "Image", "mediaType": "image/png", "url": [{"href": "https://peer.example/\nb.png"}]},
        {"type": "Image", "mediaType": "image/png", "url": "https://peer.example/c.png"},
    ]
    activity = _reply_with(alice, url="https://peer.example/@alice/1\r\nSet-Cookie: x=1",
                           attachment=attachments)
    assert (await bridge.post(activity, alice)).status == 202
    reply = await Reply.get()
    assert reply.url is None
    assert [a["url"] for a in reply.attachments] == ["https://peer.example/c.png"]
