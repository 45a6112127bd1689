"""The embedded default storage: one SQLite database (WAL) in the serverdir, blobs as files."""

from satchel.plugin import hookimpl
from satchel.storage.contract import StorageBackend

from satchel_sqlite.storage import SqliteStorage

__version__ = "0.1.0"


@hookimpl
def satchel_storage_backend(backends):
    """Offer the ``sqlite`` backend (the default ``--storage``)."""
    backends.add("sqlite", StorageBackend(
        "sqlite", SqliteStorage, "SQLite database in the serverdir, files under +blobs/ (default)"))
