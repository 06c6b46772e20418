"""The directory of local actors: configuration joined with what the database keeps.

:class:`ActorDirectory` makes sure every configured actor has a row and two key pairs (RSA-2048
for HTTP signatures, Ed25519 for FEP-521a), decrypts the private keys once, and hands out
:class:`LocalActor` values to the web layer and the workers. Key rotation from another process
(``federation keys rotate``) is noticed by :meth:`ActorDirectory.refresh_if_stale`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from federation.db import column
from federation.db.actors import Actor, ActorKey, KeyKind
from federation.errors import FederationError, NotFound
from federation.protocol.actors import (
    ActorView,
    InstanceActorView,
    ProfileFieldView,
    build_actor,
    build_instance_actor,
    plain_text_to_html,
)
from federation.protocol.paths import LocalURIs
from federation.settings import ActorConfig, Settings
from federation.signing.keys import (
    SECRET_FILE_NAME,
    KeyVault,
    PrivateKey,
    ed25519_public_multibase,
    generate_ed25519_key,
    generate_rsa_key,
    load_ed25519_public_key_pem,
    public_key_to_pem,
)

log = logging.getLogger(__name__)

REFRESH_INTERVAL_SECONDS = 30.0
#: The database identifier of the instance actor: not a valid configured identifier (those are
#: lowercase letters, digits and hyphens), so no collective can ever take it.
INSTANCE_IDENTIFIER = "_instance"


class KeyVaultError(FederationError):
    """The data directory's secret is missing, invalid, or not the one the keys were made with."""


def open_vault(data_dir: Path) -> KeyVault:
    """The key vault of ``data_dir``. A missing ``secret.key`` is written only once the
    directory has checked that the database holds no key (:meth:`ActorDirectory.sync`): a data
    directory that lost its secret beside an existing database refuses to start instead of
    making a new secret that can open nothing."""
    try:
        return KeyVault.open(data_dir)
    except ValueError:
        raise KeyVaultError(
            f"{data_dir / SECRET_FILE_NAME} is not a valid secret: restore it from a backup"
        ) from None


@dataclass(frozen=True)
class LocalActor:
    """A configured actor with its database identity and decrypted keys."""

    config: ActorConfig
    db_id: int
    uri: str
    key_id: str
    published_at: datetime
    rsa_public_pem: str
    ed25519_multibase: str
    rsa_private: PrivateKey = field(repr=False)
    ed25519_private: PrivateKey = field(repr=False)
    is_site_actor: bool = False

    @property
    def identifier(self) -> str:
        return self.config.identifier


def _published(config: ActorConfig, created_at: datetime) -> datetime:
    if config.published:
        try:
            moment = datetime.fromisoformat(config.published)
        except ValueError:
            return created_at
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return created_at


class ActorDirectory:
    """Loads, creates and rotates the keys of the configured actors."""

    def __init__(self, settings: Settings, vault: KeyVault) -> None:
        self._settings = settings
        self._vault = vault
        self._uris = LocalURIs(settings.base_url)
        self._actors: dict[str, LocalActor] = {}
        self._instance: LocalActor | None = None
        self._key_marker: int | None = None
        self._checked_at = 0.0

    @property
    def uris(self) -> LocalURIs:
        return self._uris

    async def _new_keys(self, actor: Actor) -> None:
        rsa_key = generate_rsa_key()
        ed_key = generate_ed25519_key()
        for kind, key in ((KeyKind.RSA, rsa_key), (KeyKind.ED25519, ed_key)):
            await ActorKey.create(
                actor=actor,
                kind=kind,
                public_pem=public_key_to_pem(key),
                private_encrypted=self._vault.encrypt_private_key(key),
            )

    async def _settle_vault(self) -> None:
        """Write a new vault secret, unless keys made with another secret are stored."""
        missing = self._vault.unsaved
        if missing is None:
            return
        if await ActorKey.exists():
            raise KeyVaultError(
                f"{missing} is missing but the database holds actor keys encrypted with a "
                "secret: restore secret.key from a backup (`federation restore`) — a new "
                "secret could decrypt none of them, so none is created"
            )
        try:
            self._vault.save()
        except (OSError, ValueError) as exc:
            raise KeyVaultError(f"cannot write {missing}: {exc}") from None

    async def sync(self) -> list[str]:
        """Create missing actors and keys; load everything. Returns the identifiers created."""
        await self._settle_vault()
        created = []
        for identifier in (*(c.identifier for c in self._settings.actors), INSTANCE_IDENTIFIER):
            async with in_transaction():
                actor, was_created = await Actor.get_or_create(identifier=identifier)
                has_keys = await ActorKey.filter(actor=actor, active=True).count()
                if has_keys < 2:
                    await ActorKey.filter(actor=actor, active=True).update(
                        active=False, retired_at=datetime.now(UTC)
                    )
                    await self._new_keys(actor)
            if was_created:
                created.append(identifier)
                log.info("created actor %s with new keys", identifier)
        await self.load()
        return created

    async def rotate(self, identifier: str) -> None:
        """Replace both key pairs of ``identifier``; the old ones are kept, inactive."""
        if self._settings.actor(identifier) is None and identifier != INSTANCE_IDENTIFIER:
            raise NotFound(f"no configured actor {identifier!r}")
        actor = await Actor.get_or_none(identifier=identifier)
        if actor is None:
            raise NotFound(f"actor {identifier!r} is not initialised yet: run federation migrate")
        await self._settle_vault()
        async with in_transaction():
            await ActorKey.filter(actor=actor, active=True).update(
                active=False, retired_at=datetime.now(UTC)
            )
            await self._new_keys(actor)
        log.info("rotated the keys of actor %s", identifier)
        await self.load()

    def _decrypt(self, identifier: str, row: ActorKey) -> PrivateKey:
        try:
            return self._vault.decrypt_private_key(row.private_encrypted)
        except ValueError:
            raise KeyVaultError(
                f"cannot decrypt the keys of actor {identifier!r}: the data directory's "
                f"{SECRET_FILE_NAME} is not the one they were encrypted with (restore it from "
                "a backup)"
            ) from None

    async def _marker(self) -> int:
        latest: list[int] = await column(ActorKey.all().order_by("-id").limit(1), "id")
        return latest[0] if latest else 0

    async def load(self) -> None:
        """(Re)load every configured actor and decrypt its active keys."""
        await self._settle_vault()
        rows = {a.identifier: a for a in await Actor.all()}
        keys: dict[tuple[int, str], ActorKey] = {}
        for key in await ActorKey.filter(active=True).order_by("id"):
            keys[(key.actor_id, key.kind)] = key
        loaded: dict[str, LocalActor] = {}
        for config in (*self._settings.actors, self._instance_config()):
            row = rows.get(config.identifier)
            if row is None:
                continue
            rsa_row = keys.get((row.id, KeyKind.RSA))
            ed_row = keys.get((row.id, KeyKind.ED25519))
            if rsa_row is None or ed_row is None:
                continue
            instance = config.identifier == INSTANCE_IDENTIFIER
            loaded[config.identifier] = LocalActor(
                config=config,
                db_id=row.id,
                uri=self._uris.instance_actor if instance else self._uris.actor(config.identifier),
                key_id=self._uris.instance_key if instance else self._uris.key(config.identifier),
                published_at=_published(config, row.created_at),
                rsa_public_pem=rsa_row.public_pem,
                ed25519_multibase=ed25519_public_multibase(load_ed25519_public_key_pem(ed_row.public_pem)),
                rsa_private=self._decrypt(config.identifier, rsa_row),
                ed25519_private=self._decrypt(config.identifier, ed_row),
                is_site_actor=config.identifier == self._settings.site_actor.identifier,
            )
        self._instance = loaded.pop(INSTANCE_IDENTIFIER, None)
        self._actors = loaded
        self._key_marker = await self._marker()
        self._checked_at = time.monotonic()

    async def refresh_if_stale(self) -> None:
        """Reload when keys changed in the database (rotation by another process)."""
        if time.monotonic() - self._checked_at < REFRESH_INTERVAL_SECONDS:
            return
        self._checked_at = time.monotonic()
        if await self._marker() != self._key_marker:
            await self.load()

    def _instance_config(self) -> ActorConfig:
        """The instance actor's profile: derived from the site, never configured (its
        identifier is one no configuration may use, so it is built without validation)."""
        settings = self._settings
        return ActorConfig.model_construct(
            identifier=INSTANCE_IDENTIFIER, username=urlsplit(settings.base_url).hostname or "",
            type="Application", name=settings.site.name, url=settings.site.home_page,
            manually_approves_followers=True, discoverable=False, indexable=False,
        )

    # -- lookups --------------------------------------------------------------------------

    def all(self) -> list[LocalActor]:
        """The configured actors: the site actor and the collectives."""
        return list(self._actors.values())

    def signing_actors(self) -> list[LocalActor]:
        """Every actor that signs what we send: :meth:`all` and the instance actor."""
        return [*self._actors.values(), *((self._instance,) if self._instance else ())]

    def get(self, identifier: str) -> LocalActor:
        try:
            return self._actors[identifier]
        except KeyError:
            raise NotFound(f"no actor {identifier!r}") from None

    def by_username(self, username: str) -> LocalActor:
        config = self._settings.actor_by_username(username)
        if config is None:
            raise NotFound(f"no actor with username {username!r}")
        return self.get(config.identifier)

    def by_uri(self, uri: str) -> LocalActor | None:
        """The configured actor (site actor or collective) whose id is ``uri``."""
        return next((a for a in self._actors.values() if a.uri == uri), None)

    def any_by_uri(self, uri: str) -> LocalActor | None:
        """:meth:`by_uri`, or the instance actor: for follows and their answers only (a
        mention or a reply never addresses the instance actor)."""
        found = self.by_uri(uri)
        if found is None and self._instance is not None and self._instance.uri == uri:
            return self._instance
        return found

    def by_db_id(self, db_id: int) -> LocalActor | None:
        """The local actor (the instance actor included) of database row ``db_id``."""
        for actor in self.signing_actors():
            if actor.db_id == db_id:
                return actor
        return None

    @property
    def instance_actor(self) -> LocalActor:
        """The instance actor (``/actor``, an ``Application``): it follows relays."""
        if self._instance is None:
            raise NotFound("the instance actor is not created yet: run `federation serve` "
                           "(or any command that writes the actors) once")
        return self._instance

    @property
    def instance_actor_or_none(self) -> LocalActor | None:
        """The instance actor, or None before it is created (a process that only loads)."""
        return self._instance

    def is_instance_actor(self, actor: LocalActor) -> bool:
        return self._instance is not None and actor.db_id == self._instance.db_id

    def instance_document(self) -> dict[str, object]:
        """The ActivityPub document of the instance actor."""
        actor = self.instance_actor
        view = InstanceActorView(
            username=actor.config.username, name=actor.config.name,
            url=self._settings.site.home_page, published_at=actor.published_at,
            rsa_public_pem=actor.rsa_public_pem,
        )
        return build_instance_actor(view, self._uris)

    @property
    def site_actor(self) -> LocalActor:
        return self.get(self._settings.site_actor.identifier)

    def site_domains(self, config: ActorConfig) -> tuple[str, ...]:
        """The hosts of the site's pages (its home page, the actor's page): Mastodon credits
        the actor on link cards of pages there (``attributionDomains``), never on the bridge's."""
        hosts: list[str] = []
        for url in (self._settings.site.home_page, config.url):
            host = (urlsplit(url).hostname or "") if url else ""
            if host and host not in hosts:
                hosts.append(host)
        return tuple(hosts)

    def document(self, actor: LocalActor) -> dict[str, object]:
        """The ActivityPub document of ``actor``."""
        config = actor.config
        view = ActorView(
            identifier=config.identifier,
            username=config.username,
            type=config.type,
            name=config.name,
            summary_html=plain_text_to_html(config.summary),
            url=config.url,
            icon_url=config.icon,
            header_url=config.header,
            fields=tuple(ProfileFieldView(f.name, f.value) for f in config.fields),
            manually_approves_followers=config.manually_approves_followers,
            discoverable=config.discoverable,
            indexable=config.indexable,
            published_at=actor.published_at,
            rsa_public_pem=actor.rsa_public_pem,
            ed25519_multibase=actor.ed25519_multibase,
            site_domains=self.site_domains(config),
        )
        return build_actor(view, self._uris)
