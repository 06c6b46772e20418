"""A-priori moderation: replies waiting for a decision, the decisions, reports, counters.

A reply row keeps only what moderation needs: the sanitised content, its author (a remote
actor), what it answers, and its edit history while it is kept. A Delete from the fediverse
removes the row.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.expressions import Q
from tortoise.models import Model

from federation.db import URI_LENGTH
from federation.db.vocabulary import REPLY_ACTIONS as REPLY_ACTIONS
from federation.db.vocabulary import REPORT_ACTIONS as REPORT_ACTIONS
from federation.db.vocabulary import Action as Action
from federation.db.vocabulary import ReplyState as ReplyState

if TYPE_CHECKING:
    from federation.db.actors import Actor
    from federation.db.content import ContentObject
    from federation.db.social import RemoteActor


class ReplyKind(StrEnum):
    REPLY = "reply"  # Create(Note) in reply to one of our objects
    MENTION = "mention"  # Create(Note) mentioning one of our actors
    REPLY_REQUEST = "reply_request"  # GoToSocial ReplyRequest
    QUOTE = "quote"  # a note quoting one of our objects, asked by QuoteRequest (FEP-044f)


class InteractionKind(StrEnum):
    LIKE = "like"
    ANNOUNCE = "announce"


class Reply(Model):
    """A fediverse reply (or mention) held for moderation."""

    id = fields.IntField(primary_key=True)
    uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    kind = fields.CharEnumField(ReplyKind, max_length=16, default=ReplyKind.REPLY)
    author: fields.ForeignKeyRelation[RemoteActor] = fields.ForeignKeyField(
        "social.RemoteActor", related_name="replies", on_delete=fields.CASCADE
    )
    author_id: int
    local_actor: fields.ForeignKeyNullableRelation[Actor] = fields.ForeignKeyField(
        "actors.Actor", related_name="replies", null=True, on_delete=fields.CASCADE
    )
    local_actor_id: int | None
    target: fields.ForeignKeyNullableRelation[ContentObject] = fields.ForeignKeyField(
        "content.ContentObject", related_name="replies", null=True, on_delete=fields.SET_NULL
    )
    target_id: int | None
    in_reply_to_uri = fields.CharField(max_length=URI_LENGTH, null=True, db_index=True)
    thread_root_uri = fields.CharField(max_length=URI_LENGTH, null=True, db_index=True)
    request_activity_uri = fields.CharField(max_length=URI_LENGTH, null=True)
    object_type = fields.CharField(max_length=32, default="Note")
    url = fields.CharField(max_length=URI_LENGTH, null=True)
    name = fields.TextField(default="")
    summary = fields.TextField(default="")
    content_html = fields.TextField(default="")
    language = fields.CharField(max_length=16, null=True)
    attachments: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    sensitive = fields.BooleanField(default=False, db_default=False, description="marked sensitive by its author (content warning)")
    poll: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True, description="a Question: mode, options, closes_at")
    history: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list, description="earlier versions, oldest first")
    is_public = fields.BooleanField(default=True)
    state = fields.CharEnumField(ReplyState, max_length=16, default=ReplyState.PENDING)
    authorization_uri = fields.CharField(max_length=URI_LENGTH, null=True)
    published_at = fields.DatetimeField(null=True)
    received_at = fields.DatetimeField(auto_now_add=True)
    edited_at = fields.DatetimeField(null=True)
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "replies"
        indexes = (("state", "received_at"), ("target_id", "state"))


def is_a_reply() -> Q:
    """The rows that are replies: all but quotes, and a quote that also answers a thread."""
    return Q(kind__not=ReplyKind.QUOTE) | Q(thread_root_uri__isnull=False)


class NotifyMode(StrEnum):
    """How a moderator hears of new pending replies and reports (by e-mail)."""

    OFF = "off"
    IMMEDIATE = "immediate"  # one e-mail per item, as it arrives
    DIGEST = "digest"  # one e-mail a day listing what arrived


class ModeratorAccount(Model):
    """A moderator who logs in to the moderation UI (password hashed with argon2id)."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    password_hash = fields.CharField(max_length=255)
    language = fields.CharField(max_length=8, default="fr")
    is_admin = fields.BooleanField(default=False)
    disabled = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    email = fields.CharField(max_length=254, default="", db_default="", description="notifications go here")
    notify = fields.CharEnumField(NotifyMode, max_length=16, default=NotifyMode.OFF, db_default="off")
    digest_sent_at = fields.DatetimeField(
        null=True, description="the end of the period the last daily digest covered")

    class Meta:
        table = "moderator_accounts"


class Decision(Model):
    """The audit log: who decided what, when (kept when the reply itself is deleted)."""

    id = fields.IntField(primary_key=True)
    moderator = fields.CharField(max_length=64)
    action = fields.CharField(max_length=32)
    subject_type = fields.CharField(max_length=32, default="reply")
    subject_uri = fields.CharField(max_length=URI_LENGTH)
    subject_name = fields.CharField(
        max_length=400, default="", db_default="",
        description="Who or what it was about, as shown then: a name and handle, a domain",
    )
    from_state = fields.CharField(max_length=16, null=True)
    to_state = fields.CharField(max_length=16, null=True)
    note = fields.TextField(default="")
    cause_id = fields.IntField(
        null=True, db_index=True,
        description="The decision this one follows from (a block rejecting pending replies)",
    )
    undone_at = fields.DatetimeField(null=True, description="When an undo reversed it")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "decisions"
        indexes = (("subject_uri",), ("created_at",))


class Report(Model):
    """A Flag received from the fediverse, shown to moderators."""

    id = fields.IntField(primary_key=True)
    activity_uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    reporter: fields.ForeignKeyNullableRelation[RemoteActor] = fields.ForeignKeyField(
        "social.RemoteActor", related_name="reports", null=True, on_delete=fields.SET_NULL
    )
    reporter_id: int | None
    object_uris: fields.JSONField[list[str]] = fields.JSONField(default=list)
    content = fields.TextField(default="")
    note = fields.TextField(default="", db_default="", description="The moderators' note about the report")
    resolved = fields.BooleanField(default=False)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reports"


class Interaction(Model):
    """A Like or an Announce of one of our objects, counted per object."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(InteractionKind, max_length=16)
    activity_uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    remote: fields.ForeignKeyRelation[RemoteActor] = fields.ForeignKeyField(
        "social.RemoteActor", related_name="interactions", on_delete=fields.CASCADE
    )
    remote_id: int
    object_uri = fields.CharField(max_length=URI_LENGTH, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "interactions"
        unique_together = (("kind", "remote", "object_uri"),)


class ReplyAuthorization(Model):
    """A Reply- or QuoteAuthorization we issued on approval, served until revoked (then 410)."""

    id = fields.IntField(primary_key=True)
    token = fields.CharField(max_length=64, unique=True)
    uri = fields.CharField(max_length=URI_LENGTH, unique=True)
    object_type = fields.CharField(max_length=32, default="ReplyAuthorization",
                                   db_default="ReplyAuthorization",
                                   description="ReplyAuthorization or QuoteAuthorization")
    reply: fields.ForeignKeyNullableRelation[Reply] = fields.ForeignKeyField(
        "moderation.Reply", related_name="authorizations", null=True, on_delete=fields.SET_NULL
    )
    reply_id: int | None
    actor_uri = fields.CharField(max_length=URI_LENGTH)
    interacting_uri = fields.CharField(max_length=URI_LENGTH)
    target_uri = fields.CharField(max_length=URI_LENGTH)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "reply_authorizations"


class ModeratorSession(Model):
    """A logged-in moderator: the sha-256 of the cookie token, the CSRF token, an expiry."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    csrf_token = fields.CharField(max_length=64)
    moderator: fields.ForeignKeyRelation[ModeratorAccount] = fields.ForeignKeyField(
        "moderation.ModeratorAccount", related_name="sessions", on_delete=fields.CASCADE
    )
    moderator_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "moderator_sessions"


class ModeratorToken(Model):
    """An API token of a moderator (only its sha-256 is kept) with its scopes."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=64, default="")
    scopes: fields.JSONField[list[str]] = fields.JSONField(default=list)
    moderator: fields.ForeignKeyRelation[ModeratorAccount] = fields.ForeignKeyField(
        "moderation.ModeratorAccount", related_name="tokens", on_delete=fields.CASCADE
    )
    moderator_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "moderator_tokens"


class WebhookState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class WebhookDelivery(Model):
    """One webhook call to the site for a decision, retried until sent or given up."""

    id = fields.IntField(primary_key=True)
    event = fields.CharField(max_length=64)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField()
    state = fields.CharEnumField(WebhookState, max_length=16, default=WebhookState.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    leased_until = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_deliveries"
        indexes = (("state", "next_attempt_at"),)
