"""The suite's own machinery: backend discovery and skipping a backend that cannot be started."""

import pytest

from satchel.errors import ConfigError
from satchel.pluginmanager import create_pluginmanager
from satchel.registry import Registry
from satchel.storage.contract import StorageBackend


def test_core_backends_are_discovered():
    backends = Registry("storage backend")
    create_pluginmanager().hook.satchel_storage_backend(backends=backends)
    assert {"memory", "sqlite"} <= set(backends)
    assert backends.get("sqlite").persistent and not backends.get("memory").persistent


def test_backend_that_cannot_start_is_skipped_with_its_message(make_storage):
    def factory(serverdir, settings):
        raise ConfigError("cannot connect to PostgreSQL at localhost:5432")

    make_storage.backend = StorageBackend("unavailable", factory)
    with pytest.raises(pytest.skip.Exception, match="cannot connect to PostgreSQL at localhost:5432"):
        make_storage()
