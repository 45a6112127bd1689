"""The database schema, created on first start and migrated on later ones.

``satchel_schema_version`` holds one row: the version of the tables below. A satchel finding a
newer version than it knows refuses to start rather than write data an upgrade has changed.
"""

from psycopg import sql

from satchel.errors import ConfigError

SCHEMA_VERSION = 2

# version -> statements bringing the schema from version - 1 to version
MIGRATIONS = {
    1: [
        # COLLATE "C": keys sort by code point, as the contract (and Python) sorts them
        'CREATE TABLE kv (key text COLLATE "C" PRIMARY KEY, value text NOT NULL, serial bigint NOT NULL)',
        "CREATE TABLE changelog (serial bigint PRIMARY KEY, changes text NOT NULL)",
        "CREATE TABLE blobs (sha256 char(64) PRIMARY KEY, oid oid NOT NULL, size bigint NOT NULL)",
        "CREATE TABLE blob_spool (oid oid PRIMARY KEY, size bigint NOT NULL DEFAULT 0, "
        "touched timestamptz NOT NULL DEFAULT now())",
    ],
    2: [
        # processes following commits by LISTEN (push.py): backend pid and start identify a live session
        "CREATE TABLE peers (pid integer NOT NULL, started timestamptz NOT NULL, seen bigint NOT NULL, "
        "PRIMARY KEY (pid, started))",
    ],
}


def ensure_schema(conn, schema: str) -> int:
    """Create or migrate ``schema``; its version. Concurrent starts wait for each other."""
    with conn.transaction():
        # an advisory lock per schema name: two processes starting at once do not both create it
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("satchel schema " + schema,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        exists = conn.execute("SELECT to_regclass('satchel_schema_version') IS NOT NULL").fetchone()[0]
        if not exists:
            conn.execute("CREATE TABLE satchel_schema_version (version integer NOT NULL)")
            conn.execute("INSERT INTO satchel_schema_version VALUES (0)")
        version = conn.execute("SELECT version FROM satchel_schema_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"the PostgreSQL schema {schema!r} has version {version}, newer than this satchel knows "
                f"({SCHEMA_VERSION}): it was written by a newer satchel; upgrade satchel to use it")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number]:
                conn.execute(statement)
            conn.execute("UPDATE satchel_schema_version SET version = %s", (number,))
    return SCHEMA_VERSION
