"""Which one wins: the configuration file seeds an actor's profile once, the database wins
afterwards (and says where they differ); changes made by one process are seen by another
without a restart."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from federation.db.lifecycle import open_database
from federation.errors import Conflict, NotFound
from federation.identity.directory import ActorDirectory, open_vault
from federation.identity.images import MediaStore
from federation.publishing.profiles import ActorAdmin, ProfileInput
from federation.settings import Settings
from tests.conftest import base_config


def _settings(make_settings: Callable[..., Settings], database_url: str,
              **changes: Any) -> Settings:
    """The test configuration with the collective ``changer-de-cap`` changed."""
    collectives = base_config(database_url, make_settings(database_url).data_dir)["collectives"]
    collectives[1] = {**collectives[1], **changes}
    return make_settings(database_url, collectives=collectives)


async def _directory(settings: Settings) -> ActorDirectory:
    directory = ActorDirectory(settings, open_vault(settings.data_dir))
    await directory.sync()
    return directory


async def test_the_file_seeds_then_the_database_wins_and_says_so(
        database_url, make_settings, caplog):
    """A first start publishes the file's profile; after an admin's edit, a start with a
    changed file keeps the admin's edit, logs which fields differ, and `import-config`
    publishes the file's values on purpose."""
    first = _settings(make_settings, database_url, name="Changer de cap")
    async with open_database(first.effective_database_url):
        directory = await _directory(first)
        assert directory.get("changer-de-cap").config.name == "Changer de cap"
        admin = ActorAdmin(directory, MediaStore(first.data_dir))
        await admin.edit("changer-de-cap", ProfileInput(name="Nom choisi dans l'admin",
                                                        manually_approves_followers=True))

        changed = _settings(make_settings, database_url, name="Nom du fichier",
                            summary="Nouveau texte")
        with caplog.at_level(logging.WARNING, logger="federation.identity.directory"):
            directory = await _directory(changed)
        assert directory.get("changer-de-cap").config.name == "Nom choisi dans l'admin"
        assert (await directory.differences())["changer-de-cap"] == ["name", "summary"]
        assert "changer-de-cap" in caplog.text and "name, summary" in caplog.text

        result = await ActorAdmin(directory, MediaStore(changed.data_dir)).import_config(
            "changer-de-cap")
        assert result.update_uri is not None
        assert directory.get("changer-de-cap").config.name == "Nom du fichier"
        assert await directory.differences() == {}


async def test_a_change_made_by_another_process_is_seen_without_a_restart(
        database_url, make_settings):
    """A collective created and an edit made through one directory (the CLI, another serve
    process) are seen by another at its next refresh."""
    settings = make_settings(database_url)
    async with open_database(settings.effective_database_url):
        server = await _directory(settings)
        cli = ActorDirectory(settings, open_vault(settings.data_dir))
        await cli.load()
        admin = ActorAdmin(cli, MediaStore(settings.data_dir))
        await admin.create("velo", ProfileInput(name="Vélo"))
        with pytest.raises(NotFound):
            server.get("velo")
        await server.refresh_if_stale(now=True)
        assert server.by_username("VELO").config.name == "Vélo"
        await admin.edit("velo", ProfileInput(name="Vélo libre"))
        await server.refresh_if_stale(now=True)
        assert server.get("velo").config.name == "Vélo libre"
        await admin.retire("velo")
        await server.refresh_if_stale(now=True)
        assert server.retired("velo") is not None
        with pytest.raises(NotFound):
            server.get("velo")
        assert server.sender("velo").identifier == "velo"  # its Delete can still be signed


async def test_a_retired_configured_actor_stays_retired(database_url, make_settings):
    """A collective retired while the file still lists it is not brought back by a start;
    the difference says so."""
    settings = make_settings(database_url)
    async with open_database(settings.effective_database_url):
        directory = await _directory(settings)
        await ActorAdmin(directory, MediaStore(settings.data_dir)).retire("changer-de-cap")
        directory = await _directory(settings)
        assert directory.retired("changer-de-cap") is not None
        assert (await directory.differences())["changer-de-cap"] == ["retired"]


async def test_a_file_username_taken_by_an_admin_collective_is_a_clear_error(
        database_url, make_settings):
    """A collective added to the file with the username of one made in the admin stops the
    start with a message naming both (never two actors with one handle)."""
    settings = make_settings(database_url)
    async with open_database(settings.effective_database_url):
        directory = await _directory(settings)
        await ActorAdmin(directory, MediaStore(settings.data_dir)).create(
            "velo", ProfileInput(name="Vélo"))
        config = base_config(database_url, settings.data_dir)
        config["collectives"].append({"identifier": "velo-stephanois", "username": "Velo",
                                      "name": "Vélo stéphanois"})
        clash = make_settings(database_url, collectives=config["collectives"])
        with pytest.raises(Conflict, match="'velo-stephanois'.*'Velo'.*'velo'"):
            await _directory(clash)
