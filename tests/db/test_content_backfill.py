"""content.0002_typed_event_fields: a database with published objects, upgraded, has their
event's date, place and status and their last ``updated`` in typed columns."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from federation.db import APPS, tortoise_config
from federation.db.actors import Actor
from federation.db.content import ContentObject
from federation.db.lifecycle import migrate_database, open_database, pending_migrations
from federation.identity.directory import ActorDirectory, open_vault
from federation.ingest.payloads import parse_item
from federation.publishing.items import ContentItem, EventFacts
from federation.publishing.service import Publisher

PREVIOUS = MigrationTarget(app_label="content", name="0001_initial")
PUBLISHED = datetime(2022, 5, 29, 8, 0, tzinfo=UTC)
EDITED = datetime(2022, 6, 1, 9, 30, tzinfo=UTC)


async def _migrate_all_but_content(url: str) -> None:
    """Every app at its head, ``content`` at its first migration."""
    async with open_database(url) as context:
        executor = MigrationExecutor(context.connections.get("default"),
                                     tortoise_config(url)["apps"])
        await executor.loader.build_graph()
        keys = executor.loader.graph.nodes
        targets = [PREVIOUS] + [
            MigrationTarget(app_label=app, name=max(k.name for k in keys if k.app_label == app))
            for app in APPS if app != "content"]
        await executor.migrate(targets=targets)


def _event(**overrides: object) -> ContentItem:
    payload = {"type": "event", "actor": "halte-au-controle-numerique", "id": "e1",
               "title": "Débat", "published": "2022-05-29T10:00:00+02:00",
               "start": "2022-06-09T18:00:00", "end": "2022-06-09T20:00:00",
               "location": "la Cale, 16 rue Royet, 42000 Saint-Étienne"}
    payload.update(overrides)
    return parse_item(payload)


async def _insert(url: str, actor_id: int, number: int, kind: str, document: object,
                  state: str = "published") -> None:
    """A row as content.0001 knows it (the model has columns this schema lacks)."""
    async with open_database(url) as context:
        client = context.connections.get("default")
        postgres = client.capabilities.dialect == "postgres"
        marks = ", ".join(f"${n}" for n in range(1, 12)) if postgres else ", ".join("?" * 11)
        await client.execute_query(
            "INSERT INTO content_objects (actor_id, kind, source, source_id, uri, document, "
            "content_hash, state, pinned, published_at, created_at) "
            f"VALUES ({marks})",
            [actor_id, kind, "push", f"item-{number}", f"https://bridge.example/o/{number}",
             json.dumps(document), "0" * 64, state, False, PUBLISHED, PUBLISHED])


async def test_upgrade_copies_event_facts_out_of_stored_documents(
        empty_database_url, make_settings) -> None:
    """Rows written at content.0001 get, on upgrade, the same typed facts the publisher now
    writes for the same items; rows without them (articles, tombstones, wrong-typed fields)
    get None, and nothing fails."""
    url = empty_database_url
    await _migrate_all_but_content(url)
    assert "content.0002_typed_event_fields" in await pending_migrations(url)
    settings = make_settings(url)
    items = [_event(), _event(id="e2", status="cancelled", location=None, online=True),
             _event(id="e3", start="2022-06-09", end=None,
                    location="Bourse du travail, 10 cours Victor Hugo, 42000 Saint-Étienne")]
    async with open_database(url):
        directory = ActorDirectory(settings, open_vault(settings.data_dir))
        await directory.sync()
        publisher = Publisher(directory)
        actor = directory.get(items[0].actor)
        actor_id = (await Actor.get(identifier=actor.identifier)).id
        documents = [publisher.build_document(item, actor, f"https://bridge.example/o/{n}",
                                              PUBLISHED, EDITED if n == 0 else None)
                     for n, item in enumerate(items)]
        article = publisher.build_document(replace(items[0], kind="article", event=None), actor,
                                           "https://bridge.example/o/3", PUBLISHED, EDITED)
    for number, document in enumerate(documents):
        await _insert(url, actor_id, number, "event", document)
    await _insert(url, actor_id, 3, "article", article)
    await _insert(url, actor_id, 4, "event", {"type": "Tombstone", "formerType": "Event"},
                  state="deleted")
    await _insert(url, actor_id, 5, "event", {
        "type": "Event", "startTime": 42, "endTime": "not a time", "timezone": ["x"],
        "location": "a string", "ical:status": {"x": 1}, "updated": None})

    applied = await migrate_database(url)
    assert "content.0002_typed_event_fields" in applied

    async with open_database(url):
        rows = {row.source_id: row for row in await ContentObject.all()}
        for number, item in enumerate(items):
            row = rows[f"item-{number}"]
            assert EventFacts.of_row(row) == EventFacts.of_item(item), number
        assert rows["item-0"].edited_at == EDITED
        assert rows["item-0"].place == "la Cale, 16 rue Royet, Saint-Étienne"
        assert rows["item-1"].event_status == "CANCELLED" and rows["item-1"].place is None
        assert rows["item-2"].end_at is None
        assert rows["item-1"].edited_at is None  # a Create carries no ``updated``
        assert rows["item-3"].edited_at == EDITED
        assert EventFacts.of_row(rows["item-3"]) == EventFacts()
        for empty in ("item-4", "item-5"):
            assert EventFacts.of_row(rows[empty]) == EventFacts(), empty
            assert rows[empty].edited_at is None
