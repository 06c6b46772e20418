"""Typed, validated settings: a TOML file, then ``FEDERATION_*`` environment overrides.

``load_settings`` reads the file, applies the environment and validates everything at once, so a
wrong configuration stops start-up with one :class:`~federation.errors.ConfigError` that lists
every problem (file, key, what is wrong). Relative paths are resolved against the directory of the
configuration file. Nothing here touches the network or the database.

Environment overrides: ``FEDERATION_BASE_URL``, ``FEDERATION_DATABASE_URL``,
``FEDERATION_DATA_DIR``, ``FEDERATION_SERVER__PORT`` … — a double underscore walks into a table.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ValidationError,
    field_validator,
    model_validator,
)

from federation.errors import ConfigError, Problem
from federation.i18n import languages as interface_languages

ENV_PREFIX = "FEDERATION_"
DEFAULT_CONFIG_PATH = Path("config/federation.toml")
#: Variables of the command line, not configuration keys (FEDERATION_TEST_* are ignored too).
NOT_SETTINGS_ENV = frozenset({f"{ENV_PREFIX}CONFIG", f"{ENV_PREFIX}LOG_LEVEL"})

IDENTIFIER_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
#: Peers sign and compare the ASCII form; a Unicode form would be encoded one way or another.
IDN_HINT = "write an internationalised host name in its ASCII (xn--) form, as peers see it"
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _web_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    return value


WebURL = Annotated[str, AfterValidator(_web_url)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileField(_Strict):
    """A profile field shown on the actor (Mastodon's ``PropertyValue``)."""

    name: str = Field(min_length=1, max_length=255)
    value: str = Field(min_length=1, max_length=2048)


class ActorConfig(_Strict):
    """One actor: the site actor or a collective."""

    identifier: str = Field(description="stable identifier used in URLs; never change it")
    username: str = Field(description="WebFinger username (acct:username@host)")
    type: Literal["Group", "Organization", "Person", "Service", "Application"] = "Group"
    name: str = Field(min_length=1, max_length=200)
    summary: str = ""
    url: WebURL | None = Field(default=None, description="the actor's page on the site")
    icon: WebURL | None = None
    header: WebURL | None = None
    fields: tuple[ProfileField, ...] = ()
    manually_approves_followers: bool = False
    discoverable: bool = True
    indexable: bool = True
    published: str | None = Field(default=None, description="ISO date the actor started")

    @field_validator("identifier")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER_RE.match(value):
            raise ValueError("must be 1-64 lowercase letters, digits or hyphens")
        return value

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not USERNAME_RE.match(value):
            raise ValueError("must be 1-64 letters, digits, '_', '.' or '-'")
        return value


class SiteConfig(_Strict):
    """The site the bridge runs beside."""

    name: str = Field(min_length=1)
    description: str = ""
    home_page: WebURL
    language: str = "fr"
    timezone: str = "Europe/Paris"
    recurring_events_days: int = Field(
        default=60, ge=1, le=366,
        description="how far ahead the occurrences of a recurring iCalendar event are published")

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not LANGUAGE_RE.match(value):
            raise ValueError("must be a language tag such as 'fr' or 'fr-FR'")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # 'Europe' is a directory
            raise ValueError(f"unknown timezone {value!r}") from None
        return value


class ModeratorConfig(_Strict):
    """A moderator named in the configuration. Validated, not used yet (moderators are not
    published: FEP-1b12 is not implemented, for the moderators' privacy); the accounts of the
    moderation UI are made by CLI."""

    username: str
    display_name: str = ""


class ServerConfig(_Strict):
    """Where ``federation serve`` listens."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    run_worker: bool = True
    read_cache_seconds: float = Field(
        default=5.0, ge=0, le=300,
        description="how long a prepared public answer (actor, object, collection page, "
                    "WebFinger, NodeInfo) is served before it is rendered again: the bound on "
                    "how long another process's write stays unseen (0: no cache)",
    )
    trusted_proxies: tuple[IPvAnyNetwork, ...] = Field(
        default=(), max_length=32,
        description="reverse proxies whose X-Forwarded-For names the client (addresses or networks)",
    )
    ready_needs_worker: bool = Field(
        default=True,
        description="/readyz answers 503 until a worker (this process's or a `federation "
                    "worker` sharing data_dir) reported recently; false when workers run on "
                    "other machines",
    )


class DeliverySettings(_Strict):
    """How deliveries are sent (``[delivery]``)."""

    per_host_concurrency: int = Field(default=2, ge=1, le=64, description="requests per host at once")
    batch_size: int = Field(default=200, ge=1, le=5000, description="jobs claimed at once")
    lease_seconds: int = Field(default=300, ge=10, le=86400, description="claim validity")
    max_attempts: int = Field(default=17, ge=1, le=40, description="then the job is abandoned")
    request_timeout: float = Field(default=30.0, gt=0, le=300, description="per POST, seconds")
    concurrency: int = Field(default=64, ge=1, le=2000, description="requests in flight per worker")
    max_connections: int = Field(
        default=256, ge=4, le=16_384,
        description="outbound connections open at once per process, idle keep-alive ones included",
    )
    signing_processes: int = Field(
        default=0, ge=0, le=32,
        description="processes that sign deliveries beside the worker (0: sign in the worker)",
    )
    retention_days: int = Field(
        default=7, ge=1, le=3650,
        description="finished deliveries, done fanouts and idle healthy hosts are deleted after",
    )


class InboxLimitsConfig(_Strict):
    """What one remote domain may make us store, per hour (``[inbox.limits]``).

    Counted in memory per host of the verified sender (a restart forgets the counts); beyond a
    limit an activity is answered 429 with ``Retry-After`` and nothing is stored, so the peer's
    retry is processed later. The defaults are far above what a busy instance sends one site.
    """

    follows_per_hour: int = Field(default=300, ge=1, le=1_000_000,
                                  description="Follows (each answered by an Accept)")
    replies_per_hour: int = Field(default=300, ge=1, le=1_000_000,
                                  description="replies and mentions queued for moderation")
    interactions_per_hour: int = Field(default=3_000, ge=1, le=1_000_000,
                                       description="Likes and Announces of our objects counted")
    reports_per_hour: int = Field(default=30, ge=1, le=1_000_000,
                                  description="Flags (reports) for the moderators")


class InboxConfig(_Strict):
    """Limits and retention of the inbox (``[inbox]``)."""

    dedup_retention_days: int = Field(default=14, ge=1, le=365,
                                      description="how long received activity ids are remembered")
    tombstone_retention_days: int = Field(default=180, ge=1, le=3650,
                                          description="how long deletions of remote objects are kept")
    unverified_tombstones_kept: int = Field(
        default=10_000, ge=0, le=10_000_000,
        description="deletions from actors we never knew kept at most (the oldest go first)")
    max_fetches_per_activity: int = Field(default=4, ge=1, le=16,
                                          description="remote documents fetched for one activity")
    actor_refresh_hours: int = Field(default=24, ge=1, le=720,
                                     description="remote actor documents and keys are refetched after this")
    key_fetches_per_host: int = Field(
        default=120, ge=1, le=10_000,
        description="key fetches caused by not-yet-verified requests, per remote host per window")
    key_fetches_total: int = Field(
        default=600, ge=1, le=100_000,
        description="key fetches caused by not-yet-verified requests, all hosts, per window")
    key_fetch_window_seconds: int = Field(default=300, ge=10, le=86_400,
                                          description="the window of the key fetch budgets")
    publish_follower_lists: bool = Field(
        default=False, description="list followers/following in collections (else only counts)"
    )
    limits: InboxLimitsConfig = InboxLimitsConfig()


class ModerationConfig(_Strict):
    """The moderation queue, its web UI and the site's webhook (``[moderation]``)."""

    webhook_url: WebURL | None = Field(
        default=None, description="the site's URL called (POST, JSON, HMAC-signed) on each decision"
    )
    webhook_secret: str = Field(default="", description="shared secret of the webhook's HMAC")
    session_hours: int = Field(default=12, ge=1, le=720, description="moderator sessions expire")
    login_attempts_per_username: int = Field(
        default=5, ge=1, le=100, description="failed logins per username from one client, per window"
    )
    login_attempts_per_client: int = Field(
        default=30, ge=1, le=10_000, description="failed logins from one client, all usernames"
    )
    login_attempts_per_username_total: int = Field(
        default=100, ge=1, le=100_000, description="failed logins per username, all clients"
    )
    login_window_seconds: int = Field(default=900, ge=10, le=86_400)
    language: str = Field(default="fr", description="the UI's default language (a language "
                          "with a catalogue in federation/locale: fr, en)")
    digest_hour: int = Field(
        default=8, ge=0, le=23,
        description="hour (site timezone) of the daily digest of moderators who chose it")
    quotes: Literal["automatic", "moderated", "nobody"] = Field(
        default="automatic",
        description="who may quote our objects (FEP-044f canQuote): anyone at once, after a "
                    "moderator approves, or nobody",
    )

    @field_validator("language")
    @classmethod
    def _ui_language(cls, value: str) -> str:
        """A language of the interface: one with a catalogue (docs/translating.md)."""
        if value not in interface_languages():
            raise ValueError(f"must be one of {', '.join(interface_languages())}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        """``login_attempts_global`` (a global lock-out any stranger could trigger) became the
        per-client ``login_attempts_per_client``: an older configuration still starts."""
        if isinstance(data, dict) and "login_attempts_global" in data:
            data = dict(data)
            value = data.pop("login_attempts_global")
            data.setdefault("login_attempts_per_client", value)
        return data

    @model_validator(mode="after")
    def _secret_with_url(self) -> ModerationConfig:
        if self.webhook_url and len(self.webhook_secret) < 16:
            raise ValueError("webhook_secret of at least 16 characters is required with webhook_url")
        return self


class MetricsConfig(_Strict):
    """Prometheus metrics (``[metrics]``), off unless ``listen`` is set."""

    listen: str = Field(
        default="",
        description="host:port of a separate listener serving /metrics (empty: no metrics)",
    )

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        if not value:
            return value
        host, separator, port = value.rpartition(":")
        if not separator or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError("must be host:port, e.g. 127.0.0.1:9464")
        return value

    @property
    def address(self) -> tuple[str, int] | None:
        if not self.listen:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class LogConfig(_Strict):
    """How the processes write their log (``[log]``); the level is ``FEDERATION_LOG_LEVEL``
    or ``--verbose``."""

    format: Literal["text", "json"] = Field(
        default="text", description="text for people, json: one object per line for a collector"
    )
#: How an SMTP connection is protected: STARTTLS after connecting (port 587), TLS from the
#: first byte (SMTPS, port 465), or nothing (only to a relay on this machine: loopback).
SmtpSecurity = Literal["starttls", "ssl", "none"]
_SMTP_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
#: An e-mail address in ASCII (an internationalised domain in its xn-- form): one ``@``, a
#: dotted domain, no spaces, no control or header characters.
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
                      r"@(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                      r"[A-Za-z0-9-]{2,63}$")


class SmtpConfig(_Strict):
    """The mail server of the moderators' notifications (``[smtp]``); no ``host``: no e-mail."""

    host: str = Field(default="", description="the SMTP server (empty: e-mail notifications off)")
    port: int | None = Field(default=None, ge=1, le=65535,
                             description="default 587 (starttls), 465 (ssl), 25 (none)")
    security: SmtpSecurity = Field(default="starttls", description="starttls, ssl or none")
    username: str = Field(default="", max_length=255, description="login (empty: no login)")
    password: str = Field(default="", description="login password (prefer password_file or "
                                                  "FEDERATION_SMTP__PASSWORD)")
    password_file: Path | None = Field(default=None,
                                       description="a file whose first line is the password")
    from_address: str = Field(default="", description="the From: of notifications")
    timeout: float = Field(default=30.0, gt=0, le=300,
                           description="seconds allowed for one whole SMTP session")

    @field_validator("from_address")
    @classmethod
    def _from(cls, value: str) -> str:
        if value and not EMAIL_RE.match(value):
            raise ValueError("must be an e-mail address such as federation@site.example")
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip()
        if value and not value.isascii():
            raise ValueError(IDN_HINT)
        if any(ch.isspace() or ch in "/@" for ch in value):
            raise ValueError("must be a host name or an address, without scheme or port")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> SmtpConfig:
        if not self.host:
            return self
        if not self.from_address:
            raise ValueError("from_address is required with host")
        if self.password and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        if (self.password or self.password_file is not None) and not self.username:
            raise ValueError("a password needs a username")
        if self.security == "none" and not is_loopback_host(self.host):
            raise ValueError("security = \"none\" (no TLS) is accepted only for a relay on "
                             "loopback; use starttls or ssl")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    @property
    def effective_port(self) -> int:
        return self.port or _SMTP_PORTS[self.security]


def smtp_password(config: SmtpConfig) -> str:
    """The SMTP password: ``password`` (or ``FEDERATION_SMTP__PASSWORD``), else the first line
    of ``password_file`` (read at each use: a rotated secret is picked up); ConfigError if the
    file cannot be read."""
    if config.password_file is None:
        return config.password
    try:
        text = config.password_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(config.password_file),
                          [Problem("smtp.password_file", f"cannot read: {error}")]) from None
    return text.splitlines()[0] if text else ""


class Settings(_Strict):
    """The whole validated configuration."""

    base_url: WebURL
    database_url: str = ""
    data_dir: Path = Path("data")
    allow_loopback_fetch: bool = Field(
        default=False, description="let the outbound client reach 127.0.0.0/8 (dev/tests only)"
    )
    server: ServerConfig = ServerConfig()
    delivery: DeliverySettings = DeliverySettings()
    site: SiteConfig
    site_actor: ActorConfig
    collectives: tuple[ActorConfig, ...] = ()
    moderators: tuple[ModeratorConfig, ...] = ()
    blocked_domains: tuple[str, ...] = ()
    inbox: InboxConfig = InboxConfig()
    moderation: ModerationConfig = ModerationConfig()
    log: LogConfig = LogConfig()
    metrics: MetricsConfig = MetricsConfig()
    smtp: SmtpConfig = SmtpConfig()
    source: str = Field(default="<defaults>", exclude=True)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be an origin such as https://site.example (no path)")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError("must use https (http is accepted only for loopback development)")
        if not value.isascii():
            raise ValueError(IDN_HINT)
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ("sqlite", "postgres", "postgresql", "asyncpg"):
            raise ValueError("must start with sqlite://, postgres:// or postgresql://")
        return value

    @field_validator("blocked_domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = []
        for domain in value:
            lowered = domain.strip().lower().rstrip(".")
            if not lowered.isascii():
                raise ValueError(f"{domain!r}: {IDN_HINT}")
            if not DOMAIN_RE.match(lowered):
                raise ValueError(f"{domain!r} is not a domain name")
            cleaned.append(lowered)
        return tuple(cleaned)

    @model_validator(mode="after")
    def _unique_actors(self) -> Settings:
        problems = duplicate_actor_problems(
            {"site_actor": self.site_actor.model_dump(), "collectives": [
                c.model_dump() for c in self.collectives]}
        )
        if problems:
            raise ValueError("; ".join(str(p) for p in problems))
        return self

    # -- derived values -------------------------------------------------------------------

    @property
    def actors(self) -> tuple[ActorConfig, ...]:
        """The site actor first, then every collective."""
        return (self.site_actor, *self.collectives)

    @property
    def host(self) -> str:
        """The public host with its port when it is not the scheme's default, as used in
        ``acct:`` handles and as a signed request's ``Host`` must name it."""
        parts = urlsplit(self.base_url)
        name = (parts.hostname or "").lower()
        name = f"[{name}]" if ":" in name else name
        default = {"http": 80, "https": 443}.get(parts.scheme.lower())
        return name if parts.port in (None, default) else f"{name}:{parts.port}"

    def actor(self, identifier: str) -> ActorConfig | None:
        return next((a for a in self.actors if a.identifier == identifier), None)

    def actor_by_username(self, username: str) -> ActorConfig | None:
        wanted = username.lower()
        return next((a for a in self.actors if a.username.lower() == wanted), None)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite://{self.data_dir / 'federation.sqlite3'}"


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS_ENV:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        if path[0].startswith("test_"):
            continue
        target = raw
        for key in path[:-1]:
            child = target.setdefault(key, {})
            if not isinstance(child, dict):
                break
            target = child
        else:
            target[path[-1]] = value


def _problems_from(error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        location = ".".join(
            f"[{part}]" if isinstance(part, int) else str(part) for part in item["loc"]
        ).replace(".[", "[")
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key" + _did_you_mean(item["loc"])
        problems.append(Problem(location, message))
    return problems


def _did_you_mean(location: tuple[int | str, ...]) -> str:
    """``" (did you mean 'port'?)"`` for an unknown key close to a key of its section."""
    model: type[BaseModel] = Settings
    for part in location[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return ""
        annotation = field.annotation
        candidates = [annotation, *get_args(annotation)]
        nested = next((c for c in candidates
                       if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nested is None:
            return ""
        model = nested
    close = difflib.get_close_matches(str(location[-1]).lower(),
                                      [name for name in model.model_fields
                                       if not model.model_fields[name].exclude],
                                      n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def duplicate_actor_problems(raw: Mapping[str, Any]) -> list[Problem]:
    """Identifiers and usernames (case-insensitive) used by two actors, from raw data.

    Checked on the raw mapping as well as on the model, because pydantic runs model validators
    only when every field is valid: a duplicate must be reported together with other problems.
    """
    entries: list[tuple[str, Any]] = [("site_actor", raw.get("site_actor"))]
    collectives = raw.get("collectives")
    if isinstance(collectives, (list, tuple)):
        entries += [(f"collectives[{i}]", c) for i, c in enumerate(collectives)]
    problems = []
    for key, label, fold in (("identifier", "identifier", False), ("username", "username", True)):
        first_seen: dict[str, str] = {}
        for location, actor in entries:
            value = actor.get(key) if isinstance(actor, Mapping) else None
            if not isinstance(value, str):
                continue
            folded = value.lower() if fold else value
            if folded in first_seen:
                problems.append(Problem(
                    f"{location}.{key}",
                    f"{label} {value!r} is already used by {first_seen[folded]}",
                ))
            else:
                first_seen[folded] = location
    return problems


def settings_from_mapping(
    raw: Mapping[str, Any], *, source: str = "<mapping>", base_dir: Path | None = None
) -> Settings:
    """Validate a configuration mapping; relative paths are resolved against ``base_dir``."""
    data = dict(raw)
    data["source"] = source
    duplicates = duplicate_actor_problems(data)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        problems = _problems_from(error)
        if duplicates:  # the model-level check said the same, without locations
            problems = [p for p in problems if p.location or "already used" not in p.message]
        raise ConfigError(source, problems + duplicates) from None
    if base_dir is not None and not settings.data_dir.is_absolute():
        settings = settings.model_copy(update={"data_dir": (base_dir / settings.data_dir)})
    secret = settings.smtp.password_file
    if base_dir is not None and secret is not None and not secret.is_absolute():
        settings = settings.model_copy(update={"smtp": settings.smtp.model_copy(
            update={"password_file": base_dir / secret})})
    return settings


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (or ``$FEDERATION_CONFIG``, or ``config/federation.toml``) and validate it."""
    env = os.environ if env is None else env
    path = Path(path or env.get(f"{ENV_PREFIX}CONFIG") or DEFAULT_CONFIG_PATH)
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(source, [Problem("", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(source, [Problem("", f"cannot read: {error}")]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, [Problem("", f"not valid TOML: {error}")]) from None
    _apply_env(raw, env)
    return settings_from_mapping(raw, source=source, base_dir=path.resolve().parent)
