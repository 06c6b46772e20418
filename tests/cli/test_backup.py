"""`federation backup` / `restore`: a bridge rebuilt from its backup signs with the same keys,
and what its followers cached still verifies it (SQLite online copy; PostgreSQL with pg_dump)."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
from httpsig.verify import HeaderVerifier

from federation.db.lifecycle import open_database
from federation.identity.directory import ActorDirectory, open_vault
from federation.settings import Settings
from federation.signing.cavage import sign_request
from tests.cli.conftest import run_cli, valid_toml

ACTOR = "halte-au-controle-numerique"
INBOX = "https://peer.example/users/alice/inbox"


async def _public_pem(settings: Settings, database_url: str) -> str:
    async with open_database(database_url):
        directory = ActorDirectory(settings, open_vault(settings.data_dir))
        await directory.load()
        return directory.document(directory.get(ACTOR))["publicKey"]["publicKeyPem"]


async def _signed_post(settings: Settings, database_url: str) -> dict[str, str]:
    """A delivery POST signed by the (restored) bridge, as its worker signs it."""
    async with open_database(database_url):
        directory = ActorDirectory(settings, open_vault(settings.data_dir))
        await directory.load()
        actor = directory.get(ACTOR)
        body = b'{"type": "Create"}'
        headers = {"Content-Type": "application/activity+json"}
        headers.update(sign_request("POST", INBOX, headers, body, actor.key_id,
                                    actor.rsa_private))
        return headers


def _follower_verifies(headers: dict[str, str], cached_pem: str) -> bool:
    """The follower's server verifies with the key it fetched before the loss (httpsig)."""
    return HeaderVerifier(headers, cached_pem, required_headers=["(request-target)", "host",
                                                                  "date", "digest"],
                          method="POST", path="/users/alice/inbox",
                          sign_header="signature").verify()


def _lose_everything(data_dir: Path, database_url: str) -> None:
    shutil.rmtree(data_dir)
    if database_url.startswith("sqlite://"):
        Path(database_url.removeprefix("sqlite://")).unlink(missing_ok=True)


def test_sqlite_backup_restores_a_bridge_that_signs_with_the_same_keys(
        tmp_path: Path, ready_config: Path, settings: Settings, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite database travels in the archive; PostgreSQL: the test below")
    cached_pem = asyncio.run(_public_pem(settings, database_url))
    archive = tmp_path / "backup.tar.gz"
    made = run_cli("--config", str(ready_config), "backup", str(archive), cwd=tmp_path)
    assert made.returncode == 0, made
    assert "private keys" in made.stdout
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert {"manifest.json", "database.sqlite3", "data/secret.key"} <= names
    assert not any(name.startswith("data/status") for name in names)
    assert manifest["database"] == "sqlite" and manifest["migrations"]

    again = run_cli("--config", str(ready_config), "backup", str(archive), cwd=tmp_path)
    assert again.returncode == 1 and "exists already" in again.stderr  # never overwritten

    _lose_everything(settings.data_dir, database_url)
    restored = run_cli("--config", str(ready_config), "restore", str(archive), cwd=tmp_path)
    assert restored.returncode == 0, restored
    migrate = run_cli("--config", str(ready_config), "migrate", cwd=tmp_path)
    assert migrate.returncode == 0 and "applied 0 migration(s)" in migrate.stdout, migrate
    assert stat.S_IMODE((settings.data_dir / "secret.key").stat().st_mode) == 0o600
    headers = asyncio.run(_signed_post(settings, database_url))
    assert _follower_verifies(headers, cached_pem)


def test_restore_refuses_to_replace_a_live_secret_unless_forced(
        tmp_path: Path, ready_config: Path, settings: Settings, database_url: str) -> None:
    archive = tmp_path / "backup.tar.gz"
    assert run_cli("--config", str(ready_config), "backup", str(archive),
                   cwd=tmp_path).returncode == 0
    secret = (settings.data_dir / "secret.key").read_bytes()
    refused = run_cli("--config", str(ready_config), "restore", str(archive), cwd=tmp_path)
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (settings.data_dir / "secret.key").read_bytes() == secret
    forced = run_cli("--config", str(ready_config), "restore", "--force", str(archive),
                     cwd=tmp_path)
    assert forced.returncode == 0, forced
    assert (settings.data_dir / "secret.key").read_bytes() == secret


def _hostile_archive(path: Path, member: str) -> None:
    manifest = json.dumps({"format": "federation-backup/1", "version": "x", "created_at": "x",
                           "database": "postgresql", "migrations": [], "files": []}).encode()
    with tarfile.open(path, "w:gz") as tar:
        for name, body in (("manifest.json", manifest), (member, b"owned\n")):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))


@pytest.mark.parametrize("member", ["../escaped.txt", "/tmp/absolute-federation-test.txt"])
def test_restore_of_a_hostile_archive_writes_nothing_outside(tmp_path: Path, member: str,
                                                             write_config) -> None:
    config = write_config()
    archive = tmp_path / "hostile.tar.gz"
    _hostile_archive(archive, member)
    result = run_cli("--config", str(config), "restore", str(archive), cwd=tmp_path)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/absolute-federation-test.txt").exists()
    assert not (tmp_path / "data" / "secret.key").exists()


def test_restore_of_something_else_is_a_clear_error(tmp_path: Path, write_config) -> None:
    config = write_config()
    for name, body in (("random.tar.gz", b"not a tar at all"), ("empty.txt", b"")):
        (tmp_path / name).write_bytes(body)
        result = run_cli("--config", str(config), "restore", str(tmp_path / name), cwd=tmp_path)
        assert result.returncode == 1 and "cannot be read as a backup" in result.stderr, result
    plain = tmp_path / "plain.tar.gz"
    with tarfile.open(plain, "w:gz") as tar:
        info = tarfile.TarInfo("hello.txt")
        tar.addfile(info, io.BytesIO(b""))
    result = run_cli("--config", str(config), "restore", str(plain), cwd=tmp_path)
    assert result.returncode == 1 and "not a backup written by" in result.stderr, result


def test_backup_without_a_secret_is_refused(tmp_path: Path, write_config) -> None:
    config = write_config()
    result = run_cli("--config", str(config), "backup", str(tmp_path / "b.tar.gz"), cwd=tmp_path)
    assert result.returncode == 1 and "secret.key does not exist" in result.stderr
    assert not (tmp_path / "b.tar.gz").exists()


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(
        f"*/bin/{name}"))), None)
    if not found:
        pytest.skip(f"{name} is not installed")
    return str(found)


def test_postgresql_backup_with_pg_dump_restores_the_same_keys(
        tmp_path: Path, ready_config: Path, settings: Settings, database_url: str) -> None:
    """PostgreSQL: `federation backup` (the secret) + pg_dump, restored on a new database with
    pg_restore + `federation restore`: the followers still verify the restored bridge."""
    if not database_url.startswith("postgres"):
        pytest.skip("pg_dump is for PostgreSQL")
    cached_pem = asyncio.run(_public_pem(settings, database_url))
    archive, dump = tmp_path / "backup.tar.gz", tmp_path / "federation.dump"
    made = run_cli("--config", str(ready_config), "backup", str(archive), cwd=tmp_path)
    assert made.returncode == 0 and "pg_dump" in made.stdout, made
    subprocess.run([_pg_tool("pg_dump"), "--format=custom", f"--file={dump}", database_url],
                   check=True, capture_output=True)
    target = database_url.rsplit("/", 1)[0] + "/federation_restore_test"
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run([_pg_tool("psql"), admin, "-c",
                    "DROP DATABASE IF EXISTS federation_restore_test"], check=True,
                   capture_output=True)
    subprocess.run([_pg_tool("psql"), admin, "-c", "CREATE DATABASE federation_restore_test"],
                   check=True, capture_output=True)
    try:
        subprocess.run([_pg_tool("pg_restore"), "--no-owner", f"--dbname={target}", str(dump)],
                       check=True, capture_output=True)
        shutil.rmtree(settings.data_dir)
        moved = tmp_path / "restored.toml"
        moved.write_text(valid_toml(database_url=target), encoding="utf-8")
        restored = run_cli("--config", str(moved), "restore", str(archive), cwd=tmp_path)
        assert restored.returncode == 0 and "pg_restore" in restored.stdout, restored
        new_settings = settings.model_copy(update={"database_url": target})
        headers = asyncio.run(_signed_post(new_settings, target))
        assert _follower_verifies(headers, cached_pem)
    finally:
        subprocess.run([_pg_tool("psql"), admin, "-c",
                        "DROP DATABASE IF EXISTS federation_restore_test WITH (FORCE)"],
                       capture_output=True)
