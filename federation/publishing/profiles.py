"""Admins create, edit and retire collectives (``/admin/actors`` and ``federation actors``).

:class:`ActorAdmin` is the one place both the web UI and the CLI go through:

- **create**: a new collective with its own keys; its username is its identifier, and neither
  ever changes (the actor's id is the URL ``/actors/<username>``: every follower's server knows
  the collective by it; another name would be another actor, without followers). It answers
  WebFinger and its URL at once (the directory is reloaded; another process notices within
  30 s, :meth:`~federation.identity.directory.ActorDirectory.refresh_if_stale`).
- **edit**: name, summary, page URL, profile fields (``PropertyValue``), avatar and header
  (uploaded, re-encoded: :mod:`federation.identity.images`), whether follows need approval.
  When the actor's document changed, an ``Update`` of it is queued for its followers (one
  fanout job: the delivery worker sends it, never the request).
- **retire**: what Mastodon does when an account is deleted: a ``Delete`` of the actor is
  queued for its followers (in the same transaction as the retirement), then its URLs answer
  410 with a ``Tombstone`` and it publishes nothing more. Its keys are kept (the ``Delete``,
  retried for days, is signed with them; peers verify it by the key they cached) and its
  identifier and username are never given to another actor. There is no undo: a deleted
  actor cannot come back on Mastodon either.

Bad input is an :class:`~federation.errors.Unprocessable` listing every problem (field and
message), an image problem a 400/413/415; nothing is written then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from tortoise.transactions import in_transaction

from federation.delivery.outbox import Audience, activity_uri, send_activity
from federation.errors import Problem, Unprocessable
from federation.identity.directory import KEEP, ActorDirectory, LocalActor
from federation.identity.images import ImageKind, MediaStore, process_image
from federation.protocol.actors import build_actor_delete, build_actor_update
from federation.settings import IDENTIFIER_RE, ActorConfig, ProfileField

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SendActivity = Callable[..., Awaitable[Any]]
#: Mastodon shows at most 4 profile fields (more are kept but hidden); we allow a few more.
MAX_FIELDS = 8


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ProfileInput:
    """What an admin sets (web form or CLI options). ``None`` in ``avatar``/``header``: keep
    the current image; ``remove_*``: drop it."""

    name: str
    summary: str = ""
    url: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    manually_approves_followers: bool = False
    avatar: bytes | None = None
    header: bytes | None = None
    remove_avatar: bool = False
    remove_header: bool = False


@dataclass(frozen=True)
class EditResult:
    actor: LocalActor
    update_uri: str | None  # the Update queued, if the document changed
    changed: list[str] = field(default_factory=list)


def _problems(error: ValidationError) -> list[Problem]:
    found = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        found.append(Problem(location, item["msg"].removeprefix("Value error, ")))
    return found


def check_username(username: str) -> str:
    """A new collective's username (and identifier); Unprocessable when it cannot be one."""
    if not IDENTIFIER_RE.match(username):
        raise Unprocessable([Problem(
            "username", "1 to 64 lowercase letters, digits or hyphens, not starting or ending "
            "with a hyphen (it is the actor's URL: it can never change)")],
            "this username cannot be used")
    return username


def _config(base: dict[str, Any], profile: ProfileInput) -> ActorConfig:
    problems: list[Problem] = []
    fields = [(n.strip(), v.strip()) for n, v in profile.fields if n.strip() or v.strip()]
    if len(fields) > MAX_FIELDS:
        problems.append(Problem("fields", f"at most {MAX_FIELDS} profile fields"))
    for number, (name, value) in enumerate(fields, start=1):
        if not name or not value:
            problems.append(Problem(f"fields.{number}", "a profile field needs a name and a "
                                                        "value"))
    data = {**base, "name": profile.name.strip(), "summary": profile.summary.strip(),
            "url": (profile.url or "").strip() or None,
            "manually_approves_followers": profile.manually_approves_followers}
    try:
        data["fields"] = tuple(ProfileField(name=n, value=v) for n, v in fields if n and v)
    except ValidationError as error:
        problems += [Problem("fields", p.message) for p in _problems(error)]
        data["fields"] = ()
    try:
        config = ActorConfig.model_validate(data)
    except ValidationError as error:
        problems += _problems(error)
    if problems:
        raise Unprocessable(problems, "the profile is not valid")
    return config


class ActorAdmin:
    """Creates, edits and retires local actors, and tells their followers."""

    def __init__(self, directory: ActorDirectory, media: MediaStore, *,
                 clock: Clock = _utc_now, send: SendActivity = send_activity) -> None:
        self._directory = directory
        self._media = media
        self._clock = clock
        self._send = send

    async def _image(self, data: bytes | None, kind: ImageKind) -> str | None:
        if data is None:
            return None
        processed = await asyncio.to_thread(process_image, data, kind)
        return await asyncio.to_thread(self._media.save, processed)

    async def create(self, username: str, profile: ProfileInput) -> LocalActor:
        """A new collective (Group) named ``username``; its images, if given, uploaded."""
        check_username(username)
        config = _config({"identifier": username, "username": username},  # a Group
                         profile)
        avatar = await self._image(profile.avatar, ImageKind.AVATAR)
        header = await self._image(profile.header, ImageKind.HEADER)
        actor = await self._directory.create(config)
        if avatar or header:
            actor = await self._directory.save_profile(
                actor.identifier, actor.config, avatar_file=avatar or KEEP,
                header_file=header or KEEP)
        return actor

    async def edit(self, identifier: str, profile: ProfileInput) -> EditResult:
        """Change the profile of ``identifier``; queue an ``Update`` if its document changed."""
        current = self._directory.get(identifier)
        base = current.config.model_dump(exclude={"name", "summary", "url", "fields",
                                                  "manually_approves_followers"})
        if current.avatar_file:  # an uploaded image is a file of the row, not a profile URL
            base["icon"] = None
        if current.header_file:
            base["header"] = None
        config = _config(base, profile)
        avatar = await self._image(profile.avatar, ImageKind.AVATAR)
        header = await self._image(profile.header, ImageKind.HEADER)
        if profile.remove_avatar and avatar is None:
            config = config.model_copy(update={"icon": None})
        if profile.remove_header and header is None:
            config = config.model_copy(update={"header": None})
        return await self.save(identifier, config,
                               avatar_file=avatar or (None if profile.remove_avatar else KEEP),
                               header_file=header or (None if profile.remove_header else KEEP))

    async def save(self, identifier: str, config: ActorConfig, *,
                   avatar_file: str | None = KEEP, header_file: str | None = KEEP
                   ) -> EditResult:
        """Store ``config`` (and images) and queue the ``Update`` if the document changed."""
        before = self._directory.get(identifier)
        async with in_transaction():  # the profile and its Update, or neither
            actor = await self._directory.save_profile(
                identifier, config, avatar_file=avatar_file, header_file=header_file)
            result = await self._announce(before, actor)
        await self._forget_images(before)
        return result

    async def _announce(self, before: LocalActor, actor: LocalActor) -> EditResult:
        """Queue an ``Update`` of ``actor`` for its followers if its document changed."""
        old_document = self._directory.document(before)
        document = self._directory.document(actor)
        changed = sorted(k for k in {*document, *old_document}
                         if document.get(k) != old_document.get(k))
        if not changed:
            return EditResult(actor, None, [])
        identifier = actor.identifier
        update = build_actor_update(activity_uri(self._directory, "update"), document,
                                    self._directory.uris.followers(identifier), self._clock())
        await self._send(update, sender=actor, audience=Audience(followers_of=identifier))
        log.info("actor %s edited (%s): Update queued for its followers", identifier,
                 ", ".join(changed))
        return EditResult(actor, update["id"], changed)

    async def _forget_images(self, before: LocalActor) -> None:
        in_use = await self._directory.media_in_use()
        await asyncio.to_thread(self._media.remove_unused,
                                [before.avatar_file, before.header_file], in_use)

    async def import_config(self, identifier: str) -> EditResult:
        """Publish the configuration file's profile of ``identifier`` (the file then wins)."""
        before = self._directory.get(identifier)
        async with in_transaction():
            result = await self._announce(before, await self._directory.import_config(identifier))
        await self._forget_images(before)
        return result

    async def retire(self, identifier: str) -> LocalActor:
        """Retire ``identifier``: its ``Delete`` is queued for its followers."""
        uris = self._directory.uris

        async def tell_followers(actor: LocalActor) -> None:
            delete = build_actor_delete(activity_uri(self._directory, "delete"), actor.uri,
                                        uris.followers(identifier))
            await self._send(delete, sender=actor, audience=Audience(followers_of=identifier))

        before = self._directory.get(identifier)
        retired = await self._directory.retire(identifier, then=tell_followers)
        await self._forget_images(before)
        return retired
