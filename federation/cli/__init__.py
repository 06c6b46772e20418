"""The ``federation`` command line: admin commands grouped by noun.

Every command module exposes ``register(subparsers)``; commands return an exit code. Errors of
the :mod:`federation.errors` tree become one message on stderr and an exit code (2 for a bad
configuration or usage, 1 otherwise) — never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Any

from federation.errors import ConfigError, FederationError
from federation.logs import TEXT_FORMAT

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def _command_modules() -> list[ModuleType]:
    from federation.cli import (
        actors,
        backup,
        delivery,
        followers,
        moderation,
        publishing,
        setup,
        syndication,
    )

    return [setup, actors, delivery, moderation, publishing, followers, syndication, backup]


class _DefaultsFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, when it has one worth saying (not None,
    not a flag's, not already said)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (action.help is None or action.help is argparse.SUPPRESS or "default" in text
                or default in (None, False, argparse.SUPPRESS) or default == []
                or not action.option_strings or action.nargs == 0):  # a flag
            return action.help
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """The CLI's parser: its sub-commands' parsers are of this class too (argparse gives
    ``add_subparsers`` the parent's class), so every help shows the defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)


def _version() -> str:
    try:
        return version("federation")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="federation",
        description="ActivityPub bridge for open-publishing news sites: it serves the site's "
        "collectives as fediverse actors and publishes their articles and events.",
    )
    parser.add_argument(
        "-c", "--config", type=Path, default=None,
        help="configuration file (default: $FEDERATION_CONFIG or config/federation.toml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("-V", "--version", action="version",
                        version=f"federation {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = "DEBUG" if args.verbose else os.environ.get("FEDERATION_LOG_LEVEL", "INFO").upper()
    if not isinstance(logging.getLevelName(level), int):
        print(f"federation: FEDERATION_LOG_LEVEL={level!r} is not a log level "
              "(DEBUG, INFO, WARNING, ERROR)", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=level, format=TEXT_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_one_line_faults)
    try:
        result = args.handler(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or EXIT_OK)
    except ConfigError as error:
        print(f"federation: {error}", file=sys.stderr)
        return EXIT_USAGE
    except FederationError as error:
        print(f"federation: {error.message}", file=sys.stderr)
        for problem in getattr(error, "problems", ()):  # an Unprocessable says what and where
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as error:  # port in use, unreadable data directory, database refused…
        print(f"federation: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as error:
        if _is_database_fault(error):  # the database away, locked or full: one line
            print(f"federation: the database is unavailable ({_short(_describe(error))}): "
                  "is it running, and is database_url right?", file=sys.stderr)
            return EXIT_FAILURE
        if not _is_column_refusal(error):
            raise
        print(f"federation: {_short(str(error))}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


def _is_column_refusal(error: Exception) -> bool:
    """tortoise's ValidationError: an argument no column can hold (too long…). Checked
    without importing tortoise, so that `federation --help` stays light."""
    exceptions = sys.modules.get("tortoise.exceptions")
    return exceptions is not None and isinstance(error, exceptions.ValidationError)


def _is_database_fault(error: Exception) -> bool:
    """sqlite3's and PostgreSQL's connection or storage errors (federation.db.faults), imported
    only once the database was used (`federation --help` stays light)."""
    if "tortoise" not in sys.modules:
        return False
    from federation.db.faults import is_database_fault

    return is_database_fault(error)


def _one_line_faults(record: logging.LogRecord) -> bool:
    """A library's log record about a database fault (asyncpg's pool reconnecting while
    PostgreSQL restarts) is one line: its traceback is replaced by the error's description."""
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, Exception) and _is_database_fault(error):
        record.msg = f"{record.getMessage()} ({_describe(error)})"
        record.args, record.exc_info, record.exc_text = None, None, None
    return True


def _describe(error: Exception) -> str:
    from federation.db.faults import describe

    return describe(error)


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def run() -> None:
    sys.exit(main())
