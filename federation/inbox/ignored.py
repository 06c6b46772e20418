"""Activity types we receive from real servers and deliberately do nothing with.

Each is acknowledged (202, ``{"status": "ignored"}``), stores nothing, and is logged at debug
level with its type and the reason below. A type that is neither listened to nor listed here
is treated the same way (logged as having no listener): an inbox never answers 500 for a
vocabulary it does not know. The corpus of ``tests/fixtures/wild/`` holds one real-shaped
example of each (docs/FEDERATION.md, "What we accept").
"""

from __future__ import annotations

#: Type → why it is ignored (what we would have to offer for it to matter).
IGNORED_TYPES: dict[str, str] = {
    "Move": "account migration: followers of the old account move themselves "
            "(the new account follows us again); our actors follow no people",
    "Add": "an object pinned to a collection (Mastodon featured, Hubzilla containers, Lemmy "
           "featured posts and moderators): no collection of ours changes",
    "Remove": "an object unpinned from a collection of the sender's: nothing of ours",
    "Join": "event participation (Mobilizon): our events take none (joinMode external)",
    "Leave": "event participation withdrawn (Mobilizon): our events take none",
    "TentativeAccept": "tentative event attendance (Friendica): our events take none",
    "TentativeReject": "event attendance declined (Friendica): our events take none",
    "Dislike": "a down-vote (Lemmy, Friendica): we count only Like and Announce",
    "Read": "a read receipt (Friendica): nothing to keep",
    "View": "a view (PeerTube): nothing to keep",
    "Bite": "a Sharkey bite: no meaning for a publication",
    "Lock": "a Lemmy moderator locking a thread: not ours",
}


def ignored_reason(activity_type: str) -> str | None:
    """Why ``activity_type`` is deliberately ignored (``None`` if it is not listed)."""
    return IGNORED_TYPES.get(activity_type)
