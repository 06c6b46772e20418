"""A pooled asyncpg connection the server closed in the middle of an operation fails its next
query with ``InternalClientError: cannot switch to state 12; another operation (2) is in
progress`` (seen under a PostgreSQL restart, ``tests/cli/test_serve_pg_restart.py``): that is
a database fault (503, the loop backs off), not a bug (500 with a traceback)."""

from __future__ import annotations

import asyncpg

from federation.db.faults import is_database_fault


def test_a_connection_left_mid_operation_is_a_database_fault():
    error = asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress")
    assert is_database_fault(error)


def test_it_is_a_fault_as_the_cause_of_another_error_too():
    try:
        try:
            raise asyncpg.InternalClientError("cannot switch to state 12")
        except asyncpg.InternalClientError as inner:
            raise RuntimeError("query failed") from inner
    except RuntimeError as outer:
        assert is_database_fault(outer)
