"""Actor keys: generated once, private parts encrypted by the data directory's secret."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from federation.db.actors import Actor, ActorKey, KeyKind
from federation.db.lifecycle import open_database
from federation.identity.directory import (
    INSTANCE_IDENTIFIER,
    ActorDirectory,
    KeyVaultError,
    open_vault,
)
from federation.signing.keys import SECRET_FILE_NAME, KeyVault, public_key_to_pem
from federation.web.state import DIRECTORY


async def _dump_database_text(database_url: str) -> str:
    """Every value of every table, as text (what an attacker with a database dump sees)."""
    if database_url.startswith("sqlite://"):
        return Path(database_url.removeprefix("sqlite://")).read_bytes().decode("latin-1")
    connection = await asyncpg.connect(database_url.replace("postgresql://", "postgres://", 1))
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        chunks = []
        for row in tables:
            for record in await connection.fetch(f'SELECT * FROM "{row["tablename"]}"'):
                chunks.extend(str(value) for value in record.values())
        return "\n".join(chunks)
    finally:
        await connection.close()


async def test_every_actor_gets_rsa_2048_and_ed25519_keys_once(settings):
    """sync() creates one RSA-2048 and one Ed25519 key per actor (the instance actor too); a
    second sync creates none."""
    vault = open_vault(settings.data_dir)
    async with open_database(settings.database_url):
        directory = ActorDirectory(settings, vault)
        assert sorted(await directory.sync()) == sorted(
            [*(a.identifier for a in settings.actors), INSTANCE_IDENTIFIER])
        assert await ActorKey.filter(active=True).count() == 2 * (len(settings.actors) + 1)
        assert directory.instance_actor.key_id == "https://bridge.example/actor#main-key"
        for actor in directory.signing_actors():
            assert isinstance(actor.rsa_private, rsa.RSAPrivateKey)
            assert actor.rsa_private.key_size == 2048
            assert isinstance(actor.ed25519_private, ed25519.Ed25519PrivateKey)
            assert public_key_to_pem(actor.rsa_private) == actor.rsa_public_pem
        assert await ActorDirectory(settings, vault).sync() == []
        assert await ActorKey.all().count() == 2 * (len(settings.actors) + 1)


async def test_database_holds_no_private_key_in_clear(settings, database_url):
    """The stored private parts are Fernet tokens: no PEM, no key bytes in a database dump."""
    async with open_database(database_url):
        directory = ActorDirectory(settings, open_vault(settings.data_dir))
        await directory.sync()
        rows = await ActorKey.all()
    dump = await _dump_database_text(database_url)
    assert "PRIVATE KEY" not in dump
    assert "BEGIN PUBLIC KEY" in dump  # the dump did read the key table
    for row in rows:
        assert row.private_encrypted.startswith("gAAAAA")  # Fernet token version byte
        assert "PRIVATE" not in repr(row) and row.private_encrypted not in repr(row)
    secret = (settings.data_dir / SECRET_FILE_NAME).read_bytes().strip()
    assert secret.decode() not in dump
    assert (settings.data_dir / SECRET_FILE_NAME).stat().st_mode & 0o077 == 0


async def test_wrong_secret_cannot_decrypt(settings, database_url, tmp_path):
    """Another secret cannot read the keys: a clear KeyVaultError, not a traceback."""
    async with open_database(database_url):
        await ActorDirectory(settings, open_vault(settings.data_dir)).sync()
        token = (await ActorKey.filter(kind=KeyKind.RSA).first()).private_encrypted
        other = KeyVault(KeyVault.generate_secret())
        with pytest.raises(ValueError):
            other.decrypt_private_key(token)
        with pytest.raises(KeyVaultError, match="not the one they were encrypted with"):
            await ActorDirectory(settings, other).load()


async def test_new_secret_is_written_once_the_database_holds_no_key(settings, database_url):
    """A fresh data directory gets its secret.key (mode 0600) when the first keys are made;
    opening the vault alone writes nothing."""
    secret = settings.data_dir / SECRET_FILE_NAME
    vault = open_vault(settings.data_dir)
    assert not secret.exists() and vault.unsaved == secret
    async with open_database(database_url):
        await ActorDirectory(settings, vault).sync()
    assert secret.exists() and (secret.stat().st_mode & 0o777) == 0o600
    assert vault.unsaved is None
    assert KeyVault.open(settings.data_dir).decrypt_private_key(
        await _first_private_token(database_url))


async def _first_private_token(database_url: str) -> str:
    async with open_database(database_url):
        return (await ActorKey.all().order_by("id").first()).private_encrypted


async def test_lost_secret_beside_stored_keys_refuses_and_writes_nothing(settings, database_url):
    """sync, load and rotate refuse when secret.key is gone but keys are stored, and leave no
    new secret behind."""
    async with open_database(database_url):
        await ActorDirectory(settings, open_vault(settings.data_dir)).sync()
        secret = settings.data_dir / SECRET_FILE_NAME
        secret.unlink()
        for step in ("sync", "load"):
            directory = ActorDirectory(settings, open_vault(settings.data_dir))
            with pytest.raises(KeyVaultError, match="secret.key is missing"):
                await getattr(directory, step)()
        with pytest.raises(KeyVaultError, match="restore secret.key from a backup"):
            await ActorDirectory(settings, open_vault(settings.data_dir)).rotate("site")
        assert not secret.exists()
        assert await ActorKey.filter(active=True).count() == 2 * (len(settings.actors) + 1)  # + the instance actor


def test_invalid_secret_file_is_a_clear_error(tmp_path):
    (tmp_path / SECRET_FILE_NAME).write_text("not a fernet key\n")
    with pytest.raises(KeyVaultError, match="is not a valid secret"):
        open_vault(tmp_path)


async def test_rotation_replaces_both_keys_and_retires_the_old(settings, database_url):
    """rotate() makes new RSA and Ed25519 keys active; the old rows stay, inactive and dated."""
    async with open_database(database_url):
        directory = ActorDirectory(settings, open_vault(settings.data_dir))
        await directory.sync()
        before = directory.get("halte-au-controle-numerique")
        old_document = directory.document(before)
        await directory.rotate("halte-au-controle-numerique")
        after = directory.get("halte-au-controle-numerique")
        new_document = directory.document(after)
        assert after.rsa_public_pem != before.rsa_public_pem
        assert after.ed25519_multibase != before.ed25519_multibase
        assert new_document["publicKey"]["publicKeyPem"] == after.rsa_public_pem
        assert new_document["publicKey"]["id"] == old_document["publicKey"]["id"]
        assert (new_document["assertionMethod"][0]["publicKeyMultibase"]
                == after.ed25519_multibase)
        actor = await Actor.get(identifier="halte-au-controle-numerique")
        retired = await ActorKey.filter(actor=actor, active=False)
        assert {k.kind for k in retired} == {KeyKind.RSA, KeyKind.ED25519}
        assert all(k.retired_at is not None for k in retired)
        assert await ActorKey.filter(actor=actor, active=True).count() == 2
        other = directory.get("site")  # other actors keep their keys
        assert await ActorKey.filter(actor_id=other.db_id, active=False).count() == 0


async def test_rotation_is_noticed_by_another_directory(settings, database_url, monkeypatch):
    """A server's directory reloads keys rotated by another process (the CLI)."""
    from federation.identity import directory as directory_module

    async with open_database(database_url):
        server = ActorDirectory(settings, open_vault(settings.data_dir))
        await server.sync()
        old_pem = server.get("site").rsa_public_pem
        await ActorDirectory(settings, open_vault(settings.data_dir)).rotate("site")
        await server.refresh_if_stale()
        assert server.get("site").rsa_public_pem == old_pem  # checked at most every 30 s
        monkeypatch.setattr(directory_module, "REFRESH_INTERVAL_SECONDS", 0.0)
        await server.refresh_if_stale()
        assert server.get("site").rsa_public_pem != old_pem


async def test_no_log_line_contains_key_material(settings, database_url, caplog, aiohttp_client):
    """Creating, loading, rotating keys and serving actors logs no private key material."""
    from federation.app import create_app

    with caplog.at_level(logging.DEBUG):
        client = await aiohttp_client(create_app(settings))
        for identifier in ("site", "halte-au-controle-numerique"):
            await client.get(f"/actors/{identifier}",
                             headers={"Accept": "application/activity+json"})
        directory = client.server.app[DIRECTORY]
        await directory.rotate("site")
        secret = (settings.data_dir / SECRET_FILE_NAME).read_text().strip()
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "PRIVATE KEY" not in text
    assert secret not in text
    assert "rotated the keys of actor site" in caplog.text


async def test_server_without_worker_serves_rotated_keys(make_settings, database_url, monkeypatch,
                                                         aiohttp_client):
    """`serve --no-worker` (no delivery worker to reload the directory) still publishes keys
    rotated by another process in its actor documents, so that what the workers sign verifies."""
    from federation.app import create_app
    from federation.identity import directory as directory_module
    from federation.web import loops as loops_part

    monkeypatch.setattr(directory_module, "REFRESH_INTERVAL_SECONDS", 0.0)
    monkeypatch.setattr(loops_part, "REFRESH_INTERVAL_SECONDS", 0.05)
    settings = make_settings(database_url, server={"run_worker": False})
    client = await aiohttp_client(create_app(settings))
    accept = {"Accept": "application/activity+json"}

    async def served_pem() -> str:
        document = await (await client.get("/actors/site", headers=accept)).json()
        return document["publicKey"]["publicKeyPem"]

    old_pem = await served_pem()
    await ActorDirectory(settings, open_vault(settings.data_dir)).rotate("site")  # the CLI
    async with asyncio.timeout(10):  # polling, not timing
        while await served_pem() == old_pem:
            await asyncio.sleep(0.05)
