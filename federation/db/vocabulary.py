"""The states and kinds the command line offers as choices, without the ORM.

``federation --help`` builds every command's parser: the values it lists live here, free of
tortoise, and the model modules (``db.moderation``, ``db.ingest``) re-export them.
"""

from __future__ import annotations

from enum import StrEnum


class FeedKind(StrEnum):
    RSS = "rss"
    ATOM = "atom"
    JSON = "json"
    ICAL = "ical"


class ReplyState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SPAM = "spam"


class Action(StrEnum):
    """What a moderator did (the audit log's ``action``)."""

    APPROVE = "approve"
    REJECT = "reject"
    SPAM = "spam"
    UNDO = "undo"
    BLOCK_AUTHOR = "block_author"
    BLOCK_DOMAIN = "block_domain"
    UNBLOCK = "unblock"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    DELETE = "delete"
    NOTE = "note"


#: The actions on a reply, and on a report (the CLI and the API offer these).
REPLY_ACTIONS = (Action.APPROVE, Action.REJECT, Action.SPAM, Action.UNDO)
REPORT_ACTIONS = (Action.RESOLVE, Action.REOPEN, Action.DELETE)
