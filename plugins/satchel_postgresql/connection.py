"""Connecting: a psycopg connection pool whose connections work in one schema."""

import re

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from satchel.errors import ConfigError

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema_name(name: str) -> str:
    if not _SCHEMA_NAME.fullmatch(name):
        raise ConfigError(f"invalid PostgreSQL schema name {name!r}: use lowercase letters, digits and _")
    return name


def describe(dsn: str) -> str:
    """The DSN without its password, for messages."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unparsable DSN)"
    params.pop("password", None)
    return " ".join(f"{key}={value}" for key, value in sorted(params.items())) or "(libpq defaults)"


def _use_schema(conn: psycopg.Connection, schema: str) -> None:
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))


def connect(dsn: str, schema: str) -> psycopg.Connection:
    """One autocommit connection outside the pool, working in ``schema`` (e.g. to LISTEN)."""
    conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    try:
        _use_schema(conn, schema)
    except BaseException:
        conn.close()
        raise
    return conn


def open_pool(dsn: str, schema: str, max_size: int) -> ConnectionPool:
    """A pool of autocommit connections with ``search_path`` set to ``schema``; ConfigError when
    the server cannot be reached."""

    def configure(conn: psycopg.Connection) -> None:
        _use_schema(conn, schema)

    try:
        psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"invalid PostgreSQL DSN: {exc}") from None
    pool = ConnectionPool(dsn, min_size=1, max_size=max_size, kwargs={"autocommit": True},
                          configure=configure, open=False, name="satchel", timeout=60)
    try:
        pool.open(wait=True, timeout=10)
    except PoolTimeout:
        pool.close()
        try:  # one direct attempt, for the server's own error message
            psycopg.connect(dsn, connect_timeout=5).close()
            reason = "timed out"
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot connect to PostgreSQL at {describe(dsn)}: {reason}") from None
    return pool
