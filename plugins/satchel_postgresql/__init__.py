"""PostgreSQL storage backend (``--storage postgresql --postgresql-dsn DSN``), install ``satchel[postgresql]``."""

from satchel.errors import ConfigError
from satchel.plugin import hookimpl
from satchel.storage.contract import BlobBackend, StorageBackend

__version__ = "0.1.0"


def _factory(serverdir, settings):
    # imported here: without the extra installed, the backend is listed but says what is missing
    try:
        from satchel_postgresql.storage import PostgresStorage
    except ImportError as exc:
        raise ConfigError(f"the postgresql backend needs psycopg 3: pip install 'satchel[postgresql]' "
                          f"({exc})") from None
    return PostgresStorage(serverdir, settings)


def _blob_factory(serverdir, settings, storage):
    if storage.name != "postgresql":
        raise ConfigError(f"--blobs postgresql keeps files in the PostgreSQL database: it needs "
                          f"--storage postgresql (not {storage.name})")
    from satchel_postgresql.largeobjects import LargeObjectBlobStore

    return LargeObjectBlobStore(storage.pool)


@hookimpl
def satchel_blob_backend(backends):
    """Offer ``--blobs postgresql``: files as large objects in the same database."""
    backends.add("postgresql", BlobBackend(
        "postgresql", _blob_factory, "large objects in the --storage postgresql database, streamed in chunks"))


@hookimpl
def satchel_add_options(parser):
    """The connection string and schema of the PostgreSQL database."""
    parser.add_option("postgresql-dsn", default=None, metavar="DSN",
                      help="PostgreSQL connection string for --storage postgresql (libpq format or URL)")
    parser.add_option("postgresql-schema", default=None, metavar="NAME",
                      help="PostgreSQL schema holding satchel's tables (default: satchel)")


@hookimpl
def satchel_storage_backend(backends):
    """Offer ``postgresql``; without psycopg installed it says what to install when chosen."""
    backends.add("postgresql", StorageBackend(
        "postgresql", _factory, "records and changelog in PostgreSQL; files in the serverdir or --blobs",
        options={"postgresql_dsn": "dsn", "postgresql_schema": "schema", "threads": "threads"}))
