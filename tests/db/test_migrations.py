"""Migrations: every chain applies on SQLite and PostgreSQL, upgrades keep data, models agree."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from federation.db import APPS, tortoise_config
from federation.db.actors import Actor, ActorKey, KeyKind
from federation.db.lifecycle import migrate_database, open_database, pending_migrations
from federation.identity.directory import INSTANCE_IDENTIFIER, ActorDirectory, open_vault
from federation.signing.keys import (
    KeyVault,
    ed25519_public_multibase,
    generate_ed25519_key,
    generate_rsa_key,
    load_ed25519_public_key_pem,
    public_key_to_pem,
)

MIGRATIONS_DIR = Path(__file__).parents[2] / "federation" / "db" / "migrations"


def _migration_files() -> set[str]:
    return {
        f"{app}.{path.stem}"
        for app in APPS
        for path in (MIGRATIONS_DIR / app).glob("[0-9][0-9][0-9][0-9]_*.py")
    }


async def _first_migrations(database_url: str) -> list[MigrationTarget]:
    async with open_database(database_url) as context:
        executor = MigrationExecutor(context.connections.get("default"),
                                     tortoise_config(database_url)["apps"])
        await executor.loader.build_graph()
        keys = executor.loader.graph.nodes
        return [MigrationTarget(app_label=app, name=min(k.name for k in keys if k.app_label == app))
                for app in APPS]


async def _migrate_to(database_url: str, targets: list[MigrationTarget]) -> None:
    async with open_database(database_url) as context:
        executor = MigrationExecutor(context.connections.get("default"),
                                     tortoise_config(database_url)["apps"])
        await executor.migrate(targets=targets)


async def _table_names(database_url: str) -> set[str]:
    async with open_database(database_url) as context:
        connection = context.connections.get("default")
        if database_url.startswith("sqlite"):
            rows = await connection.execute_query_dict(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%'")
            return {row["name"] for row in rows}
        rows = await connection.execute_query_dict(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")
        return {row["name"] for row in rows}


async def test_every_migration_chain_applies_from_scratch(empty_database_url):
    """An empty database reaches head: every migration file is applied, every model has a table."""
    assert set(await pending_migrations(empty_database_url)) == _migration_files()
    applied = await migrate_database(empty_database_url)
    assert set(applied) == _migration_files()
    assert await pending_migrations(empty_database_url) == []
    assert await migrate_database(empty_database_url) == []  # idempotent
    tables = await _table_names(empty_database_url)
    async with open_database(empty_database_url) as context:
        model_tables = {model._meta.db_table for models in context.apps.values()
                        for model in models.values()}
    assert model_tables <= tables, model_tables - tables


async def _insert_actors_as_of_0001(url: str, identifiers: list[str], vault: KeyVault,
                                    created_at: datetime) -> dict[str, tuple[str, str]]:
    """Actors and keys as actors.0001 knows them (the model has columns this schema lacks);
    returns each actor's public keys as the directory shows them."""
    shown = {}
    async with open_database(url) as context:
        client = context.connections.get("default")
        postgres = client.capabilities.dialect == "postgres"

        def marks(count: int) -> str:
            return ", ".join(f"${n}" for n in range(1, count + 1)) if postgres else \
                ", ".join("?" * count)

        for number, identifier in enumerate(identifiers, start=1):
            await client.execute_query(
                f"INSERT INTO actors (id, identifier, created_at) VALUES ({marks(3)})",
                [number, identifier, created_at])
            rsa_key, ed_key = generate_rsa_key(), generate_ed25519_key()
            for kind, key in ((KeyKind.RSA, rsa_key), (KeyKind.ED25519, ed_key)):
                await client.execute_query(
                    "INSERT INTO actor_keys (actor_id, kind, public_pem, private_encrypted, "
                    f"active, created_at) VALUES ({marks(6)})",
                    [number, str(kind), public_key_to_pem(key),
                     vault.encrypt_private_key(key), True, created_at])
            shown[identifier] = (public_key_to_pem(rsa_key),
                                 ed25519_public_multibase(load_ed25519_public_key_pem(
                                     public_key_to_pem(ed_key))))
        if postgres:  # ids given by hand: the next row the application makes comes after them
            await client.execute_query(
                "SELECT setval(pg_get_serial_sequence('actors', 'id'), "
                "(SELECT max(id) FROM actors))")
    return shown


async def test_migrate_upgrades_in_place_and_keeps_data(empty_database_url, make_settings):
    """A database at the first migration of every app, with rows, is upgraded by
    `federation migrate` (migrate_database) to head; the rows and the keys survive."""
    url = empty_database_url
    first = await _first_migrations(url)
    assert {t.app_label for t in first} == set(APPS)
    await _migrate_to(url, first)
    pending = await pending_migrations(url)
    assert set(pending) == _migration_files() - {f"{t.app_label}.{t.name}" for t in first}

    settings = make_settings(url)
    created_at = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    vault = KeyVault.load_or_create(settings.data_dir)  # the release's secret, on disk
    before = await _insert_actors_as_of_0001(url, [a.identifier for a in settings.actors],
                                             vault, created_at)
    key_rows = 2 * len(before)

    applied = await migrate_database(url)
    assert sorted(applied) == sorted(pending)

    async with open_database(url):
        assert await ActorKey.all().count() == key_rows
        assert (await Actor.get(identifier="site")).created_at == created_at
        directory = ActorDirectory(settings, open_vault(settings.data_dir))
        # nothing recreated (the instance actor, which 0001 did not have, is made)
        assert await directory.sync() == [INSTANCE_IDENTIFIER]
        after = {a.identifier: (a.rsa_public_pem, a.ed25519_multibase) for a in directory.all()}
        assert after == before
        assert directory.get("site").published_at == created_at
        assert await ActorKey.filter(kind=KeyKind.RSA, active=True).count() == len(before) + 1
        # actors.0002: the profiles are seeded from the file, as a first start would
        for config in settings.actors:
            assert directory.get(config.identifier).config == config


async def test_pending_webhook_calls_become_jobs_with_their_ids(empty_database_url):
    """jobs.0002_webhook_calls on a database migrated to just before it, with webhook calls in
    every state: the pending ones become pending moderation.webhook jobs with the same ids,
    attempts, due time and last error (the site deduplicates on that id); they are marked
    moved in the old table; the others stay as they were; a new job's id is above every past
    call's (no call id is reused)."""
    from federation.db.jobs import Job, JobState
    from federation.db.moderation import WebhookDelivery, WebhookState

    url = empty_database_url
    await _migrate_to(url, [MigrationTarget(app_label=app, name="__latest__")
                            for app in APPS if app != "jobs"]
                      + [MigrationTarget(app_label="jobs", name="0001_initial")])
    later = ["jobs.0003_jobclaim"]  # the jobs app's later migrations
    assert await pending_migrations(url) == ["jobs.0002_webhook_calls", *later]
    due = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    calls = [  # id, state, attempts, last error
        (3, WebhookState.PENDING, 2, "HTTP 500"),
        (5, WebhookState.SENT, 1, ""),
        (9, WebhookState.PENDING, 0, ""),
        (12, WebhookState.FAILED, 8, "HTTP 404"),
    ]
    async with open_database(url):
        for id_, state, attempts, error in calls:
            await WebhookDelivery.create(
                id=id_, event="reply.approved", payload={"reply": f"r{id_}", "n": [id_]},
                state=state, attempts=attempts, next_attempt_at=due, last_error=error)

    assert await migrate_database(url) == ["jobs.0002_webhook_calls", *later]

    async with open_database(url):
        jobs = await Job.all().order_by("id")
        assert [(j.id, j.kind, j.state, j.attempts, j.next_attempt_at, j.last_error, j.payload)
                for j in jobs] == [
            (3, "moderation.webhook", JobState.PENDING, 2, due, "HTTP 500",
             {"event": "reply.approved", "payload": {"reply": "r3", "n": [3]}}),
            (9, "moderation.webhook", JobState.PENDING, 0, due, None,
             {"event": "reply.approved", "payload": {"reply": "r9", "n": [9]}}),
        ]
        rows = {r.id: (r.state, r.last_error) for r in await WebhookDelivery.all()}
        assert rows == {3: (WebhookState.FAILED, "moved to the job table"),
                        5: (WebhookState.SENT, ""),
                        9: (WebhookState.FAILED, "moved to the job table"),
                        12: (WebhookState.FAILED, "HTTP 404")}
        new = await Job.create(kind="moderation.webhook", payload={}, next_attempt_at=due)
        assert new.id == 13


async def test_models_and_migrations_agree(tmp_path):
    """`make migrations` would write nothing: the autodetector finds no model change."""
    url = f"sqlite://{tmp_path / 'head.sqlite3'}"
    await migrate_database(url)
    config = tortoise_config(url)
    async with open_database(url) as context:
        writers = await MigrationAutodetector(context.apps, config["apps"]).changes()
    pending = {w.app_label: [type(op).__name__ for op in w.operations] for w in writers}
    assert pending == {}, f"models changed without a migration: {pending}"


def test_model_docstrings_and_descriptions_have_no_semicolon():
    """tortoise turns them into SQL comments and splits on ';' (docs/architecture.md)."""
    import importlib

    offenders = []
    for modules in APPS.values():
        for name in modules:
            module = importlib.import_module(name)
            for value in vars(module).values():
                meta = getattr(value, "_meta", None)
                if meta is None or getattr(value, "__module__", None) != name:
                    continue
                if ";" in (value.__doc__ or ""):
                    offenders.append(value.__name__)
                for field_name, field in meta.fields_map.items():
                    if ";" in (getattr(field, "description", None) or ""):
                        offenders.append(f"{value.__name__}.{field_name}")
    assert not offenders


def test_no_migration_adds_a_not_null_column_without_a_database_default():
    """Adding a NOT NULL column to a table that has rows needs a default the database itself
    applies (``db_default``): a Python ``default`` is not in the DDL, so the upgrade of any real
    database fails (SQLite: "Cannot add a NOT NULL column with default value NULL"; PostgreSQL:
    "contains null values"). Three migrations did; the release upgrade test found them."""
    import importlib
    import pkgutil

    from tortoise.fields.base import Field
    from tortoise.migrations import operations as ops

    import federation.db.migrations as package

    offenders = []
    for app in pkgutil.iter_modules(package.__path__):
        app_package = importlib.import_module(f"{package.__name__}.{app.name}")
        for migration in pkgutil.iter_modules(app_package.__path__):
            module = importlib.import_module(f"{app_package.__name__}.{migration.name}")
            if getattr(module.Migration, "initial", False):
                continue  # the tables are created empty
            for operation in module.Migration.operations:
                if not isinstance(operation, ops.AddField):
                    continue
                field: Field = operation.field
                if not field.null and not field.pk and not field.has_db_default():
                    offenders.append(f"{app.name}.{migration.name}: {operation.name}")
    assert offenders == []
