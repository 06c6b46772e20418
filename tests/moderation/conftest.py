"""Moderation fixtures: an opened database with the actor directory, and rows as the inbox makes
them (remote actors, our published objects, pending replies, reports)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from federation.db.content import ContentObject, ObjectKind
from federation.db.lifecycle import open_database
from federation.db.moderation import Reply, ReplyKind, ReplyState, Report
from federation.db.social import RemoteActor
from federation.identity.directory import ActorDirectory
from federation.moderation.service import ModerationService
from federation.settings import Settings
from federation.signing.keys import KeyVault

COLLECTIVE = "halte-au-controle-numerique"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def mod_settings(database_url: str, make_settings: Callable[..., Settings]) -> Settings:
    """Settings without background workers (tests run them by hand)."""
    return make_settings(database_url, server={"run_worker": False})


@pytest.fixture
async def directory(mod_settings: Settings) -> AsyncIterator[ActorDirectory]:
    """The database opened and the local actors loaded."""
    async with open_database(mod_settings.effective_database_url):
        directory = ActorDirectory(mod_settings, KeyVault.load_or_create(mod_settings.data_dir))
        await directory.sync()
        yield directory


@pytest.fixture
def service(mod_settings: Settings, directory: ActorDirectory) -> ModerationService:
    return ModerationService(mod_settings, directory)


_counter = itertools.count(1)


@dataclass
class Factory:
    """Creates rows as the inbox would."""

    directory: ActorDirectory

    async def remote(self, username: str = "alice", domain: str = "social.example",
                     name: str | None = "Alice Martin") -> RemoteActor:
        uri = f"https://{domain}/users/{username}"
        actor = await RemoteActor.get_or_none(uri=uri)
        if actor is not None:
            return actor
        return await RemoteActor.create(
            uri=uri, domain=domain, inbox=f"{uri}/inbox", shared_inbox=f"https://{domain}/inbox",
            username=username, name=name, url=f"https://{domain}/@{username}",
            fetched_at=datetime.now(UTC),
        )

    async def article(self, source_id: str = "art-1", title: str = "Débat sur la numérisation",
                      identifier: str = COLLECTIVE) -> ContentObject:
        actor = self.directory.get(identifier)
        uri = self.directory.uris.object("article", source_id)
        return await ContentObject.create(
            actor_id=actor.db_id, kind=ObjectKind.ARTICLE, source="push", source_id=source_id,
            uri=uri, url=f"https://site.example/spip.php?article{source_id}",
            document={"id": uri, "type": "Article", "name": title}, content_hash="x",
            published_at=datetime.now(UTC) - timedelta(days=1),
        )

    async def reply(self, target: ContentObject | None, author: RemoteActor | None = None, *,
                    content: str = "<p>Merci pour cet article</p>",
                    state: ReplyState = ReplyState.PENDING, kind: ReplyKind = ReplyKind.REPLY,
                    is_public: bool = True, **extra: Any) -> Reply:
        author = author or await self.remote()
        number = next(_counter)
        uri = f"https://{author.domain}/users/{author.username}/statuses/{number}"
        defaults: dict[str, Any] = {
            "uri": uri, "kind": kind, "author": author, "target": target,
            "in_reply_to_uri": target.uri if target else None,
            "thread_root_uri": target.uri if target else None,
            "url": f"https://{author.domain}/@{author.username}/{number}",
            "content_html": content, "state": state, "is_public": is_public,
            "published_at": datetime.now(UTC) - timedelta(minutes=number),
        }
        if kind == ReplyKind.REPLY_REQUEST:
            defaults["request_activity_uri"] = f"{uri}/request"
        defaults.update(extra)
        return await Reply.create(**defaults)

    async def report(self, reporter: RemoteActor, object_uris: list[str],
                     content: str = "spam") -> Report:
        return await Report.create(
            activity_uri=f"https://{reporter.domain}/flags/{next(_counter)}", reporter=reporter,
            object_uris=object_uris, content=content,
        )


@pytest.fixture
def factory(directory: ActorDirectory) -> Factory:
    return Factory(directory)
