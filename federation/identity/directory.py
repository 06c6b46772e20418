"""The directory of local actors: what the database keeps, seeded by the configuration.

:class:`ActorDirectory` makes sure every configured actor has a row, a profile and two key pairs
(RSA-2048 for HTTP signatures, Ed25519 for FEP-521a), decrypts the private keys once, and hands
out :class:`LocalActor` values to the web layer and the workers.

Which one wins (docs/admin.md): the configuration file seeds an actor's profile the first time
the actor is seen (``sync``); from then on the database's profile is published, whatever the
file says, so that an edit made in ``/admin/actors`` (or with ``federation actors edit``) is
never undone by a restart. :meth:`ActorDirectory.differences` lists the fields where the file
and the database disagree: ``serve``, ``migrate`` and ``check-config`` print them, and
``federation actors import-config`` copies the file's values over on purpose.

Collectives made by an admin exist only in the database. A retired actor (``retired_at``) is
no longer returned by :meth:`get`, :meth:`all`, :meth:`by_uri` or :meth:`by_username` (every
public surface then says 404, the actor's own URLs 410); only :meth:`sender` and
:meth:`everyone` still hand it out, so that its queued ``Delete`` can be signed.

Changes made by another process (a key rotation, an admin's edit) are noticed by
:meth:`ActorDirectory.refresh_if_stale`; the process that makes a change reloads at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ValidationError
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from federation.db import column
from federation.db.actors import Actor, ActorKey, KeyKind
from federation.errors import Conflict, FederationError, Gone, NotFound
from federation.protocol.actors import (
    ActorView,
    InstanceActorView,
    ProfileFieldView,
    build_actor,
    build_actor_tombstone,
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


#: The profile fields an admin may change (the identifier and the username never change).
EDITABLE_FIELDS = ("name", "summary", "url", "icon", "header", "fields",
                   "manually_approves_followers", "discoverable", "indexable", "type")

#: Marks an image argument left as it is (``None`` removes the image).
KEEP: str = "\0keep"


@dataclass(frozen=True)
class LocalActor:
    """A local actor with its database identity, profile and decrypted keys."""

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
    avatar_file: str | None = None
    header_file: str | None = None
    retired_at: datetime | None = None

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


def profile_of(config: ActorConfig) -> dict[str, object]:
    """What the database keeps of ``config``: every field but the identifier."""
    return config.model_dump(mode="json", exclude={"identifier"})


def _differing(config: ActorConfig, profile: dict[str, object]) -> list[str]:
    stored = {**profile_of(config), **profile}
    return [name for name, value in profile_of(config).items() if stored.get(name) != value]


class ActorDirectory:
    """Loads, creates, edits, retires the local actors and rotates their keys."""

    def __init__(self, settings: Settings, vault: KeyVault) -> None:
        self._settings = settings
        self._vault = vault
        self._uris = LocalURIs(settings.base_url)
        self._actors: dict[str, LocalActor] = {}
        self._retired: dict[str, LocalActor] = {}
        self._instance: LocalActor | None = None
        self._key_marker: tuple[int, int, str] | None = None
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
        """Create the configured actors missing from the database (with their keys) and seed
        the profile of those that have none yet, and the instance actor; load everything.
        Returns the identifiers created. A profile the database has already is left alone
        (:meth:`differences`)."""
        await self._settle_vault()
        created = []
        async with in_transaction():  # the instance actor: no profile, derived from the site
            instance, was_created = await Actor.get_or_create(identifier=INSTANCE_IDENTIFIER)
            if await ActorKey.filter(actor=instance, active=True).count() < 2:
                await ActorKey.filter(actor=instance, active=True).update(
                    active=False, retired_at=datetime.now(UTC))
                await self._new_keys(instance)
        if was_created:
            created.append(INSTANCE_IDENTIFIER)
            log.info("created the instance actor with new keys")
        for config in self._settings.actors:
            async with in_transaction():
                actor, was_created = await Actor.get_or_create(identifier=config.identifier)
                if actor.profile is None:
                    await self._seed(actor, config)
                has_keys = await ActorKey.filter(actor=actor, active=True).count()
                if has_keys < 2 and actor.retired_at is None:
                    await ActorKey.filter(actor=actor, active=True).update(
                        active=False, retired_at=datetime.now(UTC)
                    )
                    await self._new_keys(actor)
            if was_created:
                created.append(config.identifier)
                log.info("created actor %s with new keys", config.identifier)
        await self.load()
        for identifier, names in (await self.differences()).items():
            log.warning("actor %s: the configuration file differs from the database for %s; "
                        "the database is published (edit in /admin/actors, or run `federation "
                        "actors import-config %s`)", identifier, ", ".join(names), identifier)
        return created

    async def _seed(self, actor: Actor, config: ActorConfig) -> None:
        taken = await Actor.filter(username_key=config.username.lower()).exclude(
            id=actor.id).first()
        if taken is not None:
            raise Conflict(
                f"the configuration's actor {config.identifier!r} has username "
                f"{config.username!r}, already used by actor {taken.identifier!r} "
                "(created in the admin): choose another username in the file")
        actor.profile = profile_of(config)
        actor.username_key = config.username.lower()
        await actor.save(update_fields=["profile", "username_key", "updated_at"])

    async def differences(self) -> dict[str, list[str]]:
        """For each configured actor whose stored profile differs from the file: the fields
        that differ (``username`` included: it is never changed by the file). A retired actor
        still listed in the file is reported with ``retired``."""
        rows = {a.identifier: a for a in await Actor.filter(
            identifier__in=[c.identifier for c in self._settings.actors])}
        found: dict[str, list[str]] = {}
        for config in self._settings.actors:
            row = rows.get(config.identifier)
            if row is None or not isinstance(row.profile, dict):
                continue
            names = _differing(config, row.profile)
            if row.retired_at is not None:
                names.insert(0, "retired")
            if names:
                found[config.identifier] = names
        return found

    async def import_config(self, identifier: str) -> LocalActor:
        """Copy the configuration file's profile of ``identifier`` over the database's."""
        config = self._settings.actor(identifier)
        if config is None:
            raise NotFound(f"the configuration file has no actor {identifier!r}")
        current = self.get(identifier)
        if config.username.lower() != current.config.username.lower():
            raise Conflict(f"the file gives {identifier!r} the username {config.username!r}, "
                           f"but it is @{current.config.username}: a username never changes "
                           "(followers know the actor by it)")
        return await self.save_profile(
            identifier, config.model_copy(update={"username": current.config.username}),
            avatar_file=None if config.icon else KEEP,
            header_file=None if config.header else KEEP)

    async def create(self, config: ActorConfig) -> LocalActor:
        """A new actor with ``config`` as its profile and new keys (Conflict if its identifier
        or username was ever used: a retired actor's names are never given again)."""
        if await Actor.filter(identifier=config.identifier).exists():
            raise Conflict(f"the identifier {config.identifier!r} is already used (or was, by a "
                           "retired actor: its URL must never name another actor)")
        if await Actor.filter(username_key=config.username.lower()).exists():
            raise Conflict(f"the username {config.username!r} is already used (or was, by a "
                           "retired actor)")
        try:
            async with in_transaction():
                actor = await Actor.create(identifier=config.identifier,
                                           username_key=config.username.lower(),
                                           profile=profile_of(config))
                await self._new_keys(actor)
        except IntegrityError:  # created at the same moment by another request
            raise Conflict(f"the identifier {config.identifier!r} or username "
                           f"{config.username!r} is already used") from None
        log.info("created actor %s with new keys (admin)", config.identifier)
        await self.load()
        return self.get(config.identifier)

    async def save_profile(self, identifier: str, config: ActorConfig, *,
                           avatar_file: str | None = KEEP,
                           header_file: str | None = KEEP) -> LocalActor:
        """Store ``config`` as the profile of ``identifier`` (its identifier and username must
        be the actor's own); ``avatar_file``/``header_file``: an uploaded image's name, None
        to remove it, :data:`KEEP` to leave it."""
        row = await Actor.get_or_none(identifier=identifier)
        if row is None or row.profile is None:
            raise NotFound(f"no actor {identifier!r}")
        if row.retired_at is not None:
            raise Gone(f"actor {identifier!r} is retired")
        if config.identifier != identifier or config.username.lower() != row.username_key:
            raise Conflict("the identifier and the username of an actor never change")
        row.profile = profile_of(config)
        fields = ["profile", "updated_at"]
        if avatar_file != KEEP:
            row.avatar_file = avatar_file
            fields.append("avatar_file")
        if header_file != KEEP:
            row.header_file = header_file
            fields.append("header_file")
        await row.save(update_fields=fields)
        await self.load()
        return self.get(identifier)

    async def retire(self, identifier: str,
                     then: Callable[[LocalActor], Awaitable[object]] | None = None
                     ) -> LocalActor:
        """Mark ``identifier`` retired (the site actor cannot be) and run ``then`` (queueing
        its ``Delete``) in the same transaction. Its keys are kept: the ``Delete`` is signed
        with them, and its identifier and username stay reserved for ever."""
        if identifier == self._settings.site_actor.identifier:
            raise Conflict("the site actor cannot be retired")
        actor = self.get(identifier)
        async with in_transaction():
            await Actor.filter(id=actor.db_id, retired_at__isnull=True).update(
                retired_at=datetime.now(UTC), updated_at=datetime.now(UTC),
                avatar_file=None, header_file=None)  # its images are deleted, as Mastodon does
            if then is not None:
                await then(actor)
        log.info("retired actor %s", identifier)
        await self.load()
        return self._retired.get(identifier, actor)

    async def media_in_use(self) -> set[str]:
        """The uploaded image files some actor still shows."""
        names: set[str] = set()
        for avatar, header in await Actor.all().values_list("avatar_file", "header_file"):
            names.update(n for n in (avatar, header) if isinstance(n, str))
        return names

    async def rotate(self, identifier: str) -> None:
        """Replace both key pairs of ``identifier``; the old ones are kept, inactive."""
        actor = await Actor.get_or_none(identifier=identifier, retired_at__isnull=True)
        if actor is None:
            raise NotFound(f"no actor {identifier!r} (is it initialised? run federation migrate)")
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

    async def _marker(self) -> tuple[int, int, str]:
        """Changes to look for: a new key, a new actor, a profile saved."""
        latest: list[int] = await column(ActorKey.all().order_by("-id").limit(1), "id")
        count = await Actor.all().count()
        edited = await Actor.filter(updated_at__isnull=False).order_by("-updated_at").first()
        return (latest[0] if latest else 0, count,
                edited.updated_at.isoformat() if edited and edited.updated_at else "")

    def _config_of(self, row: Actor) -> ActorConfig | None:
        """The profile of ``row`` (the file's for a configured actor not seeded yet)."""
        if not isinstance(row.profile, dict):
            return self._settings.actor(row.identifier)
        data = {**row.profile, "identifier": row.identifier}
        if row.avatar_file:
            data["icon"] = self._uris.media(row.avatar_file)
        if row.header_file:
            data["header"] = self._uris.media(row.header_file)
        try:
            return ActorConfig.model_validate(data)
        except ValidationError as error:  # a row written by hand: never stop the others
            log.error("actor %s: the stored profile is not valid, actor not loaded: %s",
                      row.identifier, str(error)[:300])
            return None

    async def load(self) -> None:
        """(Re)load every actor and decrypt its active keys."""
        await self._settle_vault()
        rows = await Actor.all().order_by("id")
        keys: dict[tuple[int, str], ActorKey] = {}
        for key in await ActorKey.filter(active=True).order_by("id"):
            keys[(key.actor_id, key.kind)] = key
        site_identifier = self._settings.site_actor.identifier
        loaded: dict[str, LocalActor] = {}
        retired: dict[str, LocalActor] = {}
        instance: LocalActor | None = None
        for row in sorted(rows, key=lambda r: (r.identifier != site_identifier, r.id)):
            is_instance = row.identifier == INSTANCE_IDENTIFIER
            config = self._instance_config() if is_instance else self._config_of(row)
            rsa_row = keys.get((row.id, KeyKind.RSA))
            ed_row = keys.get((row.id, KeyKind.ED25519))
            if config is None or rsa_row is None or ed_row is None:
                continue
            actor = LocalActor(
                config=config,
                db_id=row.id,
                uri=self._uris.instance_actor if is_instance else self._uris.actor(row.identifier),
                key_id=self._uris.instance_key if is_instance else self._uris.key(row.identifier),
                published_at=_published(config, row.created_at),
                rsa_public_pem=rsa_row.public_pem,
                ed25519_multibase=ed25519_public_multibase(load_ed25519_public_key_pem(ed_row.public_pem)),
                rsa_private=self._decrypt(row.identifier, rsa_row),
                ed25519_private=self._decrypt(row.identifier, ed_row),
                is_site_actor=row.identifier == site_identifier,
                avatar_file=row.avatar_file,
                header_file=row.header_file,
                retired_at=row.retired_at,
            )
            if is_instance:
                instance = actor
            else:
                (retired if row.retired_at is not None else loaded)[row.identifier] = actor
        self._actors = loaded
        self._retired = retired
        self._instance = instance
        self._key_marker = await self._marker()
        self._checked_at = time.monotonic()

    async def refresh_if_stale(self, *, now: bool = False) -> None:
        """Reload when the actors changed in the database (another process rotated keys or
        an admin edited a profile); ``now``: look at once rather than every 30 s."""
        if not now and time.monotonic() - self._checked_at < REFRESH_INTERVAL_SECONDS:
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
        """The actors we publish as: the site actor and the collectives (not retired)."""
        return list(self._actors.values())

    def signing_actors(self) -> list[LocalActor]:
        """Every actor that signs what we send: the retired ones (their last ``Delete``) and
        the instance actor too."""
        return [*self.everyone(), *((self._instance,) if self._instance else ())]

    def get(self, identifier: str) -> LocalActor:
        try:
            return self._actors[identifier]
        except KeyError:
            raise NotFound(f"no actor {identifier!r}") from None

    def by_username(self, username: str) -> LocalActor:
        wanted = username.lower()
        found = next((a for a in self._actors.values() if a.config.username.lower() == wanted),
                     None)
        if found is None:
            raise NotFound(f"no actor with username {username!r}")
        return found

    def retired(self, identifier: str) -> LocalActor | None:
        """The retired actor ``identifier``, if it is one."""
        return self._retired.get(identifier)

    def retired_by_username(self, username: str) -> LocalActor | None:
        wanted = username.lower()
        return next((a for a in self._retired.values() if a.config.username.lower() == wanted),
                    None)

    def sender(self, identifier: str) -> LocalActor:
        """The actor ``identifier`` to sign with, retired or not (its last ``Delete`` is
        delivered after it retired)."""
        actor = self._actors.get(identifier) or self._retired.get(identifier)
        if actor is None:
            raise NotFound(f"no actor {identifier!r}")
        return actor

    def everyone(self) -> list[LocalActor]:
        """Every actor, the retired ones too (for the signers of deliveries)."""
        return [*self._actors.values(), *self._retired.values()]

    def tombstone(self, actor: LocalActor) -> dict[str, object]:
        """What a retired actor's URL answers (410), as Mastodon does for a deleted account."""
        return build_actor_tombstone(actor.uri, actor.config.type,
                                     actor.retired_at or datetime.now(UTC))

    def by_uri(self, uri: str) -> LocalActor | None:
        """The actor we publish as (site actor or collective) whose id is ``uri``."""
        return next((a for a in self._actors.values() if a.uri == uri), None)

    def any_by_uri(self, uri: str) -> LocalActor | None:
        """:meth:`by_uri`, or the instance actor: for follows and their answers only (a
        mention or a reply never addresses the instance actor)."""
        found = self.by_uri(uri)
        if found is None and self._instance is not None and self._instance.uri == uri:
            return self._instance
        return found

    def by_db_id(self, db_id: int) -> LocalActor | None:
        """The local actor (retired ones and the instance actor included) of row ``db_id``."""
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
