"""The inbox endpoints: size cap before buffering, media type, JSON limits — before any signature work."""

from __future__ import annotations

import json

import pytest

from tests.inbox.conftest import AS_JSON, create, note, nothing_stored

pytest_plugins = ["tests.inbox.conftest"]

HEADERS = {"Host": "bridge.example", "Content-Type": AS_JSON}


async def test_body_over_1mb_with_content_length_is_413(bridge, peer, alice):
    """(27) A body over 1 MB announced by Content-Length is refused 413 before it is read."""
    body = b"{" + b" " * 1_100_000 + b"}"
    response = await bridge.client.post("/inbox", data=body, headers=HEADERS)
    assert response.status == 413
    assert peer.gets == [] and await nothing_stored()


async def test_chunked_body_over_1mb_is_413(bridge, peer):
    """(27) A chunked body is read with a cap: past 1 MB it is refused 413, never buffered whole."""
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(200):  # up to 12.8 MB if the server kept reading
            sent += 65_536
            yield b" " * 65_536

    response = await bridge.client.post("/actors/site/inbox", data=chunks(), headers=HEADERS)
    assert response.status == 413
    assert peer.gets == [] and await nothing_stored()


@pytest.mark.parametrize("content_type", ["text/html", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", ""])
async def test_wrong_media_type_is_415(bridge, peer, alice, content_type):
    """A body that is not ActivityStreams JSON is refused 415 before the signature is looked at."""
    response = await bridge.post(create(alice, note(alice)), alice, content_type=content_type)
    assert response.status == 415
    assert peer.gets == [] and await nothing_stored()


@pytest.mark.parametrize("content_type", ["application/json",
                                          'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'])
async def test_json_media_types_are_accepted(bridge, peer, alice, content_type):
    """application/json and the ld+json profile reach the signature step (here: a valid request)."""
    response = await bridge.post(create(alice, note(alice)), alice, content_type=content_type)
    assert response.status == 202


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,                    # nested 100 000 deep
    b"[" + b"0," * 400_000 + b"0]",                      # 400 001-element array under 1 MB
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,           # deep objects
    b"not json", b"[]", b'"string"', b"{}", b'{"type":"Create"}', b"NaN",
    b'{"id":"https://x.example/1","type":"Create","actor":"file:///etc/passwd"}',
])
async def test_bad_json_is_400_without_recursion_error(bridge, peer, alice, body):
    """(29) Deep nesting, huge arrays, non-objects and activities without id/type/actor: 400."""
    response = await bridge.post(None, alice, body=body)
    assert response.status == 400
    assert peer.gets == [] and await nothing_stored()


async def test_million_element_array_is_refused(bridge, peer, alice):
    """(29) A 1 000 000-element array is over the size cap: refused (413) before parsing."""
    body = b"[" + b"0," * 999_999 + b"0]"
    response = await bridge.post(None, alice, body=body)
    assert response.status == 413
    assert await nothing_stored()


async def test_inbox_answers_json_errors(bridge, alice):
    """Refusals are JSON for ActivityPub clients."""
    response = await bridge.client.post("/inbox", data=json.dumps(create(alice, note(alice))),
                                        headers={**HEADERS, "Accept": AS_JSON})
    assert response.status == 401
    assert "error" in await response.json(content_type=None)


async def test_reply_with_nul_character_is_400_and_stores_nothing(bridge, peer, alice):
    """A NUL (U+0000) in a JSON string, which PostgreSQL cannot store, is a 400, not a 500."""
    body = json.dumps(create(alice, note(alice, content="<p>a\u0000b</p>"))).encode()
    assert b"\\u0000" in body
    response = await bridge.post(None, alice, body=body)
    assert response.status == 400
    assert await nothing_stored()
