"""Database and disk faults: errors that say the database is away or full, not that a query
or the code is wrong.

A fault is worth waiting out (a background loop backs off and resumes; a web request is
answered 503 with ``Retry-After``; the CLI prints one line): PostgreSQL restarting or
stopped (asyncpg's connection errors, "the database system is shutting down", a refused
connection, and the ``InternalClientError`` "cannot switch to state …; another operation is
in progress" of a pooled connection the server closed mid-operation), SQLite's "database or
disk is full", "database is locked", "disk I/O error", "unable to open database file",
"attempt to write a readonly database", "file is not a database" and "database disk image is
malformed" (a foreign or damaged file), tortoise's ``DBConnectionError``, and ``OSError``.
A syntax error, a constraint violation, a missing row or a bad value is not a fault (tortoise
wraps some of those in ``OperationalError`` too: the cause decides).
"""

from __future__ import annotations

import sqlite3

import asyncpg
from tortoise.exceptions import (
    DBConnectionError,
    IntegrityError,
    NotExistOrMultiple,
    ObjectDoesNotExistError,
    OperationalError,
)

#: SQLite errors (``sqlite3.OperationalError`` messages) that are the storage's, not the query's.
SQLITE_FAULTS = ("database or disk is full", "database is locked", "disk i/o error",
                 "unable to open database", "readonly database", "database table is locked",
                 "disk is full", "out of memory", "file is not a database",
                 "database disk image is malformed")
_ASYNCPG_FAULTS = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                   asyncpg.InternalClientError,
                   asyncpg.exceptions.OperatorInterventionError,
                   asyncpg.exceptions.InsufficientResourcesError,
                   asyncpg.exceptions.ConnectionDoesNotExistError)
_NOT_FAULTS = (IntegrityError, NotExistOrMultiple, ObjectDoesNotExistError)


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _one(error: BaseException) -> bool | None:
    """True: a fault; False: surely not one; None: look at its cause."""
    if isinstance(error, _NOT_FAULTS):
        return False
    if isinstance(error, (DBConnectionError, *_ASYNCPG_FAULTS)):
        return True
    if isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError):
        return any(text in str(error).lower() for text in SQLITE_FAULTS)
    if isinstance(error, asyncpg.PostgresError):
        return False  # a query the server refused (syntax, data…)
    if isinstance(error, OSError):
        return True
    if isinstance(error, OperationalError):
        text = str(error).lower()
        return True if any(t in text for t in SQLITE_FAULTS) else None
    return None


def is_database_fault(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a database or disk fault (see the module)."""
    for link in _chain(error):
        verdict = _one(link)
        if verdict is not None:
            return verdict
    return False


def describe(error: BaseException) -> str:
    """One short line for a log or the CLI: the error's type and message."""
    text = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
