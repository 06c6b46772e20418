"""Signed garbage: valid activities of every kind with fields replaced by wrong-typed values.

A remote server can send any JSON once its signature verifies. Each case here is signed by a
known actor, so it passes authentication and reaches the processors; whatever the shape, the
answer must be a 2xx or a 4xx — never a 500 — and nothing may be logged as unhandled.
Cases are generated from a fixed seed (reproducible), several mutations per activity.
"""

from __future__ import annotations

import copy
import logging
import random
from typing import Any

import pytest

from tests.inbox.conftest import ARTICLE, HALTE, PUBLIC, Bridge, Peer, PeerActor, create, note

SEED = 20261128
CASES = 300

ODD_VALUES: list[Any] = [
    None, 0, -1, 1.5e308, True, "", "x" * 5000, [], {}, [None], [[]], {"id": None},
    {"id": 5}, {"type": 7}, {"type": ["Note", "Article"]}, ARTICLE, [ARTICLE, ARTICLE],
    {"id": ARTICLE}, HALTE, [HALTE], PUBLIC, "not a url", "https://evil.example/x",
    "http://[::1", "https://bridge.example/objects/article/999999", "\u202e\u0000"[:1],
    "2026-13-45T99:99:99Z", {"type": "Note", "content": 5}, {"@value": "x", "@language": 3},
    ["a", 1, None, {}], {"href": {"href": {}}}, "#fragment", {"type": "Tombstone"},
]


def templates(alice: PeerActor) -> list[dict[str, Any]]:
    """One valid activity of each kind the inbox handles."""
    reply = note(alice, tag=[{"type": "Mention", "href": HALTE}],
                 attachment=[{"type": "Document", "url": "https://evil.example/a.png"}])
    follow = {"id": f"{alice.uri}/follows/1", "type": "Follow", "actor": alice.uri, "object": HALTE}
    like = {"id": f"{alice.uri}/likes/1", "type": "Like", "actor": alice.uri, "object": ARTICLE}
    return [
        create(alice, reply),
        {"id": f"{alice.uri}/updates/1", "type": "Update", "actor": alice.uri, "object": reply},
        {"id": f"{alice.uri}/deletes/1", "type": "Delete", "actor": alice.uri,
         "object": {"id": reply["id"], "type": "Tombstone"}},
        {"id": f"{alice.uri}/deletes/2", "type": "Delete", "actor": alice.uri, "object": alice.uri},
        like,
        {"id": f"{alice.uri}/announces/1", "type": "Announce", "actor": alice.uri,
         "object": ARTICLE, "to": [PUBLIC]},
        {"id": f"{alice.uri}/undos/1", "type": "Undo", "actor": alice.uri, "object": like},
        follow,
        {"id": f"{alice.uri}/undos/2", "type": "Undo", "actor": alice.uri, "object": follow},
        {"id": f"{alice.uri}/accepts/1", "type": "Accept", "actor": alice.uri,
         "object": {"id": f"{HALTE}#follows/1", "type": "Follow", "actor": HALTE,
                    "object": alice.uri}},
        {"id": f"{alice.uri}/rejects/1", "type": "Reject", "actor": alice.uri,
         "object": f"{HALTE}#follows/1"},
        {"id": f"{alice.uri}/flags/1", "type": "Flag", "actor": alice.uri,
         "object": [HALTE, ARTICLE], "content": "spam"},
        {"id": f"{alice.uri}/blocks/1", "type": "Block", "actor": alice.uri, "object": HALTE},
        {"id": f"{alice.uri}/requests/1", "type": "ReplyRequest", "actor": alice.uri,
         "object": reply["id"], "instrument": reply, "target": ARTICLE},
        {"id": f"{alice.uri}/quote_requests/1", "type": "QuoteRequest", "actor": alice.uri,
         "object": ARTICLE,
         "instrument": {**reply, "id": f"{alice.uri}/statuses/77", "quote": ARTICLE}},
        {"id": f"{alice.uri}/moves/1", "type": "Move", "actor": alice.uri, "object": alice.uri,
         "target": "https://evil.example/users/alice"},
        {"id": f"{alice.uri}/adds/1", "type": "Add", "actor": alice.uri, "object": reply,
         "target": f"{alice.uri}/featured"},
        {"id": f"{alice.uri}/reacts/1", "type": "EmojiReact", "actor": alice.uri,
         "object": ARTICLE, "content": "🔥"},
    ]


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``document`` a value could be replaced (the activity id excluded)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if prefix == () and key in ("id", "actor"):
                continue  # keep the activity unique and signed by its actor
            found.append((*prefix, key))
            found += paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.append((*prefix, index))
            found += paths(value, (*prefix, index))
    return found


def mutate(activity: dict[str, Any], rng: random.Random, number: int) -> dict[str, Any]:
    mutated = copy.deepcopy(activity)
    mutated["id"] = f"{activity['id']}/fuzz/{number}"
    for _ in range(rng.randint(1, 3)):
        where = paths(mutated)
        if not where:
            break
        *parents, last = rng.choice(where)
        target: Any = mutated
        for step in parents:
            target = target[step]
        if rng.random() < 0.15 and isinstance(target, dict):
            target[rng.choice(["inReplyTo", "object", "tag", "to", "content", "attributedTo",
                               "instrument", "result", "contentMap", "quote"])] = \
                copy.deepcopy(rng.choice(ODD_VALUES))
        else:
            target[last] = copy.deepcopy(rng.choice(ODD_VALUES))
    return mutated


async def test_signed_garbage_never_gets_a_500(bridge: Bridge, peer: Peer, alice: PeerActor,
                                               caplog: pytest.LogCaptureFixture) -> None:
    await bridge.article()
    rng = random.Random(SEED)
    bases = templates(alice)
    statuses: dict[int, int] = {}
    with caplog.at_level(logging.ERROR):
        for number in range(CASES):
            activity = mutate(rng.choice(bases), rng, number)
            response = await bridge.post(activity, alice)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            assert response.status < 500, (activity, await response.text())
    unhandled = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert unhandled == []
    # the cases reached the processors: most were accepted, some refused as malformed
    assert statuses.get(202, 0) > CASES // 4 and sum(statuses.values()) == CASES
