"""Pytest fixtures for external servers the storage plugins use: PostgreSQL (and S3, see s3server).

Each server is started once per test session on 127.0.0.1 and stopped at its end. When it cannot
be had, tests needing it are skipped with the reason, or fail under ``CI`` (CI installs it).
"""

import os

import pytest

from satchel.testing.pgserver import PostgresServer, Unavailable


def unavailable(what: str, reason: str):
    """Skip (fail under CI, which must have it) for a missing server or library."""
    message = f"{what} is not available: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI installs it: see .ci/run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgresql_server():
    """A PostgreSQL server of this test session (``.dsn(dbname)``, ``.create_database()``)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("PostgreSQL", "psycopg is not installed (pip install 'satchel[postgresql]')")
    server = PostgresServer()
    try:
        server.start()
    except Unavailable as exc:
        server.stop()
        unavailable("PostgreSQL", str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgresql_dsn(postgresql_server) -> str:
    """One database of the session's server, shared by tests (each uses its own schema)."""
    return postgresql_server.create_database("satchel")
