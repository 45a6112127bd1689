"""Pytest fixtures for external servers the storage plugins use: PostgreSQL (and S3, see s3server).

Each server is started once per test session on 127.0.0.1 and stopped at its end. When it cannot
be had, tests needing it are skipped with the reason, or fail under ``CI`` (CI installs it).
"""

import os

import pytest

from satchel.testing import s3server
from satchel.testing.pgserver import PostgresServer, Unavailable

# moto accepts any credentials; boto3 only needs some (tests and the servers they start inherit them)
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1"}


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


@pytest.fixture(scope="session")
def postgresql_template(postgresql_server, tmp_path_factory) -> "PostgresTemplate":
    """Fresh databases with satchel's schema for apps on PostgreSQL, one per test (``make_app`` uses it):
    each is a copy of a database where the schema was created once, so a test pays a file copy, not the DDL."""
    from satchel.app import create_app  # the storage plugin creates its schema: core does not know its tables

    dsn = postgresql_server.create_database("template")
    serverdir = tmp_path_factory.mktemp("postgresql-template")
    create_app({"storage": "postgresql", "postgresql_dsn": dsn, "serverdir": str(serverdir)},
               initialize=False).close()
    return PostgresTemplate(postgresql_server, dsn.rpartition("dbname=")[2])


class PostgresTemplate:
    """``new()`` -> the DSN of a new copy of the template database; ``drop(dsn)`` removes it."""

    def __init__(self, server: PostgresServer, name: str):
        self.server, self.name = server, name

    def new(self) -> str:
        return self.server.create_database("t", template=self.name)

    def drop(self, dsn: str) -> None:
        self.server.drop_database(dsn)


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3-compatible server of this test session (``.url``), with fake credentials set."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        unavailable("S3 (moto)", "boto3 is not installed (pip install 'satchel[s3]')")
    saved = {name: os.environ.get(name) for name in FAKE_AWS}
    os.environ.update(FAKE_AWS)
    server = s3server.MotoServer()
    try:
        server.start()
    except s3server.Unavailable as exc:
        unavailable("S3 (moto)", str(exc))
    yield server
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def s3_settings(s3_server) -> dict[str, str]:
    """Blob-store settings for a bucket of the session's server (tests pick their own ``prefix``)."""
    import boto3

    boto3.client("s3", endpoint_url=s3_server.url).create_bucket(Bucket="satchel-tests")
    return {"endpoint_url": s3_server.url, "bucket": "satchel-tests"}
