"""content.0003_lookups_activity_state: activities sent before it that were already undone, or
whose object was deleted, are withdrawn on upgrade (410 at their ids, out of the outbox);
the others stay as they were."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from federation.db import APPS, tortoise_config
from federation.db.actors import Actor
from federation.db.content import OutboxActivity
from federation.db.lifecycle import migrate_database, open_database, pending_migrations
from federation.identity.directory import ActorDirectory, open_vault

PREVIOUS = MigrationTarget(app_label="content", name="0002_typed_event_fields")
SENT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
UNDONE = datetime(2025, 3, 2, 8, 0, tzinfo=UTC)
DELETED = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
B = "https://bridge.example"


async def _migrate_all_but_content(url: str) -> None:
    async with open_database(url) as context:
        executor = MigrationExecutor(context.connections.get("default"),
                                     tortoise_config(url)["apps"])
        await executor.loader.build_graph()
        keys = executor.loader.graph.nodes
        targets = [PREVIOUS] + [
            MigrationTarget(app_label=app, name=max(k.name for k in keys if k.app_label == app))
            for app in APPS if app != "content"]
        await executor.migrate(targets=targets)


async def _execute(url: str, sql: str, values: list[object]) -> None:
    async with open_database(url) as context:
        client = context.connections.get("default")
        if client.capabilities.dialect == "postgres":  # $1, $2… in place of each ?
            parts = sql.split("?")
            sql = "".join(part + (f"${n}" if n < len(parts) else "")
                          for n, part in enumerate(parts, start=1))
        await client.execute_query(sql, values)


async def _object(url: str, actor_id: int, number: int, state: str) -> str:
    uri = f"{B}/objects/article/{number}"
    await _execute(url, "INSERT INTO content_objects (actor_id, kind, source, source_id, uri, "
                        "document, content_hash, state, pinned, published_at, deleted_at, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [actor_id, "article", "push", str(number), uri, json.dumps({"id": uri}),
                    "0" * 64, state, False, SENT, DELETED if state == "deleted" else None, SENT])
    return uri


async def _activity(url: str, actor_id: int, name: str, kind: str, object_uri: str | None,
                    at: datetime = SENT) -> None:
    uri = f"{B}/activities/{name}"
    await _execute(url, "INSERT INTO outbox_activities (uri, actor_id, type, object_uri, "
                        "document, public, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [uri, actor_id, kind, object_uri, json.dumps({"id": uri, "type": kind}),
                    True, at])


async def test_upgrade_withdraws_what_was_undone_or_deleted(empty_database_url,
                                                           make_settings) -> None:
    """The Create, Update, Add and Announce of a deleted object and every activity with an Undo
    of it are withdrawn (at the deletion, at the Undo); the Delete, the Undo, and the activities
    of a live object are not."""
    url = empty_database_url
    await _migrate_all_but_content(url)
    assert "content.0003_lookups_activity_state" in await pending_migrations(url)
    settings = make_settings(url)
    async with open_database(url):
        directory = ActorDirectory(settings, open_vault(settings.data_dir))
        await directory.sync()
        actor_id = (await Actor.get(identifier="site")).id
    gone = await _object(url, actor_id, 1, "deleted")
    live = await _object(url, actor_id, 2, "published")
    for name, kind in (("create-1", "Create"), ("update-1", "Update"), ("add-1", "Add"),
                       ("announce-1", "Announce"), ("delete-1", "Delete")):
        await _activity(url, actor_id, name, kind, gone)
    await _activity(url, actor_id, "create-2", "Create", live)
    await _activity(url, actor_id, "announce-3", "Announce", "https://sister.example/a/3")
    await _activity(url, actor_id, "undo-3", "Undo", f"{B}/activities/announce-3", UNDONE)
    await _activity(url, actor_id, "follow-4", "Follow", "https://sister.example/users/x")
    await _activity(url, actor_id, "undo-4", "Undo", f"{B}/activities/follow-4", UNDONE)
    await _activity(url, actor_id, "follow-5", "Follow", "https://sister.example/users/y")

    assert "content.0003_lookups_activity_state" in await migrate_database(url)

    async with open_database(url):
        withdrawn = {row.uri.rsplit("/", 1)[1]: row.withdrawn_at
                     for row in await OutboxActivity.all()}
    expected = {"create-1": DELETED, "update-1": DELETED, "add-1": DELETED,
                "announce-1": DELETED, "delete-1": None, "create-2": None,
                "announce-3": UNDONE, "undo-3": None, "follow-4": UNDONE, "undo-4": None,
                "follow-5": None}
    assert {name: at and at.astimezone(UTC) for name, at in withdrawn.items()} == expected
