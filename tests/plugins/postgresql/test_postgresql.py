"""The PostgreSQL backend beyond the contract suite: options, schema versions, errors, an app on it."""

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from webtest import TestApp

from satchel.errors import ConfigError
from satchel.testing.fixtures import Filler
from satchel.testing.server import free_port

from satchel_postgresql.schema import SCHEMA_VERSION
from satchel_postgresql.storage import PostgresStorage


@pytest.fixture
def schema() -> str:
    return "t_" + uuid.uuid4().hex[:12]


def test_schema_is_created_with_its_version(postgresql_dsn, schema, tmp_path):
    storage = PostgresStorage(tmp_path, {"dsn": postgresql_dsn, "schema": schema})
    storage.close()
    with psycopg.connect(postgresql_dsn) as conn:
        tables = {row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))}
        version = conn.execute(f"SELECT version FROM {schema}.satchel_schema_version").fetchall()
    assert {"kv", "changelog", "satchel_schema_version"} <= tables
    assert version == [(SCHEMA_VERSION,)]


def test_newer_schema_is_refused_with_a_clear_message(postgresql_dsn, schema, tmp_path):
    storage = PostgresStorage(tmp_path, {"dsn": postgresql_dsn, "schema": schema})
    with storage.write() as tx:
        tx.set("users/alice", {})
    storage.close()
    with psycopg.connect(postgresql_dsn, autocommit=True) as conn:
        conn.execute(f"UPDATE {schema}.satchel_schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(ConfigError, match=f"version {SCHEMA_VERSION + 1}, newer than this satchel knows "
                                          f"\\({SCHEMA_VERSION}\\).*upgrade satchel"):
        PostgresStorage(tmp_path, {"dsn": postgresql_dsn, "schema": schema})
    with psycopg.connect(postgresql_dsn) as conn:  # nothing was changed by the refused start
        assert conn.execute(f"SELECT count(*) FROM {schema}.kv").fetchone() == (1,)


def test_unreachable_server_is_a_config_error_without_the_password(tmp_path):
    port = free_port()
    dsn = f"host=127.0.0.1 port={port} user=satchel password=hunter2 dbname=satchel connect_timeout=2"
    with pytest.raises(ConfigError, match=f"cannot connect to PostgreSQL at .*port={port}") as info:
        PostgresStorage(tmp_path, {"dsn": dsn})
    assert "hunter2" not in info.value.message


@pytest.mark.parametrize("name", ["Public", "a-b", "x; DROP TABLE kv"])
def test_invalid_schema_name_is_refused(postgresql_dsn, tmp_path, name):
    with pytest.raises(ConfigError, match="invalid PostgreSQL schema name"):
        PostgresStorage(tmp_path, {"dsn": postgresql_dsn, "schema": name})


def test_app_on_postgresql_from_options(make_app, postgresql_dsn, schema):
    app = make_app(storage="postgresql", postgresql_dsn=postgresql_dsn, postgresql_schema=schema)
    assert app.storage.name == "postgresql" and app.storage.schema == schema
    filler = Filler(app)
    filler.user("alice")
    filler.index("alice", "dev")
    filler.file("alice/dev", "hello-pkg", "1.0")
    page = TestApp(app.wsgi).get("/alice/dev/+simple/hello-pkg/")
    assert "hello_pkg-1.0-py3-none-any.whl" in page.text
    assert page.headers["X-Devpi-Serial"] == str(app.storage.last_serial())


def test_storage_spec_settings_win_over_options(make_app, postgresql_dsn, schema):
    app = make_app(storage=f"postgresql:schema={schema}", postgresql_dsn=postgresql_dsn,
                   postgresql_schema="not_this_one")
    assert app.storage.schema == schema


def test_init_from_environment_variables(postgresql_dsn, schema, tmp_path):
    env = {**os.environ, "SATCHEL_STORAGE": "postgresql", "SATCHEL_POSTGRESQL_DSN": postgresql_dsn,
           "SATCHEL_POSTGRESQL_SCHEMA": schema}
    result = subprocess.run([sys.executable, "-m", "satchel", "init", "--serverdir", str(tmp_path / "server")],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with psycopg.connect(postgresql_dsn) as conn:
        assert conn.execute(f"SELECT 1 FROM {schema}.kv WHERE key = 'users/root'").fetchone() == (1,)
    again = subprocess.run([sys.executable, "-m", "satchel", "init", "--serverdir", str(tmp_path / "other")],
                           env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "already initialized" in again.stderr


def test_large_object_blob_from_small_chunks_reads_back_whole(make_app, postgresql_dsn, schema):
    """An upload arrives in 64 KiB chunks; the store regroups them into MiB pieces, across piece borders."""
    app = make_app(storage="postgresql", postgresql_dsn=postgresql_dsn, postgresql_schema=schema, blobs="postgresql")
    assert app.storage.blobs.__class__.__name__ == "LargeObjectBlobStore"
    data = bytes(range(256)) * (10 * 1024 + 7)  # 2.5 MiB and a bit: two whole pieces and a short one
    info = app.storage.blobs.put(data[i:i + 65536] for i in range(0, len(data), 65536))
    assert info.size == len(data)
    with app.storage.blobs.open(info.sha256) as handle:
        assert handle.read() == data
