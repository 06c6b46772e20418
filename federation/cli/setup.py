"""Setting up and running: ``init``, ``check-config``, ``migrate``, ``serve``."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import sys
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from federation.cli.context import (
    check_loopback_fetch,
    opened,
    preflight,
    settings_from,
)
from federation.errors import BadRequest, ConfigError, Conflict, Problem
from federation.settings import (
    DEFAULT_CONFIG_PATH,
    ENV_PREFIX,
    Settings,
    load_settings,
    smtp_password,
)

CONFIG_ENV = f"{ENV_PREFIX}CONFIG"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = subparsers.add_parser(
        "init", help="write a configuration and create the data directory",
        description="Write a new configuration file (a demo site modelled on Le Numéro Zéro, "
        "Saint-Étienne, with two collectives and the site actor) unless it exists, and create "
        "its data directory. Edit the file, then run `federation migrate`.",
    )
    init.add_argument("--base-url", default="http://127.0.0.1:8080",
                      help="public URL of the bridge (https in production)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=cmd_init)

    check = subparsers.add_parser(
        "check-config", help="validate the configuration and list every problem",
        description="Validate the configuration file and environment overrides (and read "
        "[smtp] password_file). Exit code 0 when valid, 2 with the list of problems otherwise. "
        "--smtp also opens a session with the SMTP server (TLS, login) without sending.",
    )
    check.add_argument("--smtp", action="store_true",
                       help="connect to [smtp] host and log in (nothing is sent)")
    check.set_defaults(handler=cmd_check_config)

    migrate = subparsers.add_parser(
        "migrate", help="create or upgrade the database schema in place",
        description="Apply every pending migration to the configured database (SQLite or "
        "PostgreSQL), then create the keys of new actors. Safe to run repeatedly.",
    )
    migrate.set_defaults(handler=cmd_migrate)

    serve = subparsers.add_parser(
        "serve", help="serve the bridge over HTTP",
        description="Serve discovery, actors, objects and inboxes. Runs the delivery worker "
        "and the job worker (feed polling, the moderation webhook's calls, the hourly purges) "
        "in-process unless --no-worker is given: then run `federation worker`, which runs the "
        "same loops (without one, nothing is delivered, polled, called or purged).",
    )
    serve.add_argument("--host", help="listen address (default: server.host)")
    serve.add_argument("--port", type=int, help="listen port (default: server.port)")
    serve.add_argument("--no-worker", action="store_true",
                       help="do not run the delivery worker and the job worker (feeds, "
                       "webhook, purges) in-process")
    serve.set_defaults(handler=cmd_serve)


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


#: The template's ``server.port``.
DEMO_PORT = 8080


def _listen_port(base_url: str) -> int | None:
    """The port ``serve`` must listen on for ``base_url``: an http base URL (served directly,
    on loopback) with an explicit port listens there; otherwise (https: a TLS proxy in front)
    the template's port stays. A port that is not one is a :class:`BadRequest`."""
    parts = urlsplit(base_url)
    try:
        port = parts.port
    except ValueError:
        raise BadRequest(f"--base-url {base_url!r}: the port is not a number from 1 to "
                         "65535") from None
    if parts.scheme != "http" or port is None:
        return None
    if port == 0:
        raise BadRequest(f"--base-url {base_url!r}: the port is not a number from 1 to 65535")
    return port


def cmd_init(args: argparse.Namespace) -> int:
    path = _config_path(args)
    if path.exists() and not args.force:
        raise Conflict(f"{path} exists already (use --force to overwrite)")
    base_url = args.base_url.rstrip("/")
    port = _listen_port(base_url)
    template = resources.files("federation.cli").joinpath("templates/demo.toml").read_text()
    text = template.replace("{base_url}", base_url)
    if port is not None:
        text = text.replace(f"port = {DEMO_PORT}\n", f"port = {port}\n", 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    settings = load_settings(path)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    print(f"wrote {path}; data directory {settings.data_dir}")
    print(f"next: federation --config {path} migrate && federation --config {path} serve")
    return 0


def print_differences(differences: dict[str, list[str]]) -> None:
    """The actors whose profile in the database differs from the file (the database wins)."""
    for identifier, names in differences.items():
        print(f"note: actor {identifier}: the file differs from the database for "
              f"{', '.join(names)}; the database is published (edit it at /admin/actors, or "
              f"`federation actors import-config {identifier}` to publish the file's values)")


def cmd_check_config(args: argparse.Namespace) -> int:
    from federation.remote.client import tls_context

    settings = settings_from(args)
    tls_context()  # SSL_CERT_FILE, when set, must name CAs: ConfigError otherwise
    asyncio.run(check_loopback_fetch(settings))
    smtp_password(settings.smtp)  # an unreadable password_file is a ConfigError (exit 2)
    print(f"{settings.source}: valid — {len(settings.collectives)} collective(s), "
          f"site actor {settings.site_actor.identifier!r}, base URL {settings.base_url}")
    smtp = settings.smtp
    if not smtp.enabled:
        print("e-mail notifications: off (no [smtp] host)")
    else:
        print(f"e-mail notifications: {smtp.security} to {smtp.host}:{smtp.effective_port}"
              f"{' as ' + smtp.username if smtp.username else ''}, from {smtp.from_address}")
    if args.smtp:
        if not smtp.enabled:
            raise ConfigError(settings.source, [Problem("smtp.host", "not set (--smtp)")])
        from federation.moderation.mail import SendError, check_server

        try:
            asyncio.run(check_server(smtp))
        except SendError as error:
            print(f"federation: the SMTP server did not accept us: {error.message}",
                  file=sys.stderr)
            return 1
        print("SMTP server: connected and accepted (nothing sent)")
    asyncio.run(_check_database(settings))
    return 0


async def _check_database(settings: Settings) -> None:
    """Compare the file's actors with the database's, when there is a migrated one."""
    from federation.errors import FederationError

    try:
        async with opened(settings, sync=False) as directory:
            print_differences(await directory.differences())
    except (FederationError, OSError) as error:
        print(f"(the actors in the database were not compared: {str(error).splitlines()[0]})")


async def cmd_migrate(args: argparse.Namespace) -> int:
    from federation.db.lifecycle import migrate_database

    settings = settings_from(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    applied = await migrate_database(settings.effective_database_url)
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    async with opened(settings) as directory:
        print(f"{len(directory.all())} actor(s) ready")
        print_differences(await directory.differences())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from federation.app import create_app
    from federation.web.serverlog import server_logger

    settings = settings_from(args)
    if args.no_worker:
        settings = settings.model_copy(
            update={"server": settings.server.model_copy(update={"run_worker": False})}
        )
    asyncio.run(preflight(settings))
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    app = create_app(settings)
    app.on_startup.append(_settle_after_start)  # after the loops' start (a cleanup context)

    def announce(*_: object) -> None:
        """The banner, printed by ``run_app`` once every listening socket is bound (never
        before: a reader who sees it can connect)."""
        base = settings.base_url
        print(f"federation serving {settings.site.name} on http://{host}:{port} (public {base})")
        print(f"home page: {base}/ (the collectives, their handles and a follow button)")
        print("try:")
        print(f"  curl -s '{base}/.well-known/webfinger?resource=acct:"
              f"{settings.site_actor.username}@{settings.host}'")
        for actor in settings.actors:
            print(f"  curl -s -H 'Accept: application/activity+json' {base}/actors/"
                  f"{actor.identifier}")
        print(f"collectives: {base}/admin/actors (an administrator: federation moderators "
              "add NAME --admin)")
        if settings.collectives:
            first = settings.collectives[0].identifier
            print(f"  curl -s -H 'Accept: application/activity+json' '{base}/actors/{first}"
                  "/outbox?page=1'")
        print(f"  curl -s {base}/.well-known/nodeinfo")
        print(f"moderation: {base}/admin/ (create an account: federation moderators add NAME)",
              flush=True)

    try:
        web.run_app(app, host=host, port=port, print=announce, access_log=None,
                    logger=server_logger())
    except OSError as error:
        message = bind_failure(error, host, port)
        if message is None:
            raise
        print(f"federation: {message}", file=sys.stderr)
        return 1
    return 0


async def _settle_after_start(_app: object) -> None:
    """The server has started: what it loaded stays out of the garbage collector's walks."""
    from federation.heap import settle_after_start

    settle_after_start()


def bind_failure(error: OSError, host: str, port: int) -> str | None:
    """One line saying why ``serve`` could not listen on ``host:port`` and how to fix it, or
    None for another error."""
    where = f"port {port} on {host}"
    if error.errno == errno.EADDRINUSE:
        return (f"{where} is in use: stop the other process or use --port N / server.port "
                "(and the same port in base_url)")
    if error.errno == errno.EACCES:
        return (f"{where} needs privileges this user lacks: use a port above 1023 "
                "(--port N / server.port) behind a TLS proxy")
    if error.errno == errno.EADDRNOTAVAIL:
        return (f"{host} is not an address of this machine: use --host / server.host "
                "(127.0.0.1 behind a proxy)")
    return None
