"""Contract suite fixtures: every registered storage backend, discovered the way the app does it.

Each test taking ``backend_name`` (directly or through ``storage``/``make_storage``) runs once per
backend that any installed plugin registers through ``satchel_storage_backend``, so a new backend
(PostgreSQL ...) is covered without touching this suite.

A backend whose server cannot be started makes its factory raise ``satchel.errors.ConfigError``;
its tests are then skipped with that message. Environment knobs:

- ``SATCHEL_CONTRACT_BACKENDS=sqlite,postgresql`` runs only those backends;
- ``SATCHEL_CONTRACT_SETTINGS_<NAME>=key=value,...`` passes settings to that backend's factory
  (the part after ``NAME:`` of ``--storage NAME:key=value,...``).

In a setting value, ``{serverdir_id}`` stands for a name derived from the serverdir: a backend that
keeps its data on a server (PostgreSQL's ``schema``) gets a separate namespace per serverdir, so
instances on different serverdirs are independent, as they are for file-based backends.

Blob stores registered through ``satchel_blob_backend`` (other than the default ``fs``) are tested
with the blob tests (``test_blobs.py``, ``test_capabilities.py``) as variants ``STORAGE+BLOBS``,
paired with the storage backend ``BLOB_VARIANTS`` names; ``SATCHEL_CONTRACT_SETTINGS_BLOBS_<NAME>``
passes settings to the blob store.

``postgresql`` without settings runs against a server the suite starts (``postgresql_server``
fixture of ``satchel.testing.servers``), one schema per serverdir.
"""

import functools
import hashlib
import os
import threading
from pathlib import Path

import pytest

from satchel.app import parse_storage_spec
from satchel.errors import ConfigError
from satchel.pluginmanager import create_pluginmanager
from satchel.registry import Registry
from satchel.storage.contract import Storage, StorageBackend


@functools.cache
def discover_backends() -> Registry:
    """The storage backends registered by core and the installed plugins."""
    backends = Registry("storage backend")
    create_pluginmanager().hook.satchel_storage_backend(backends=backends)
    return backends


def selected_backend_names() -> list[str]:
    names = list(discover_backends())
    wanted = [name.strip() for name in os.environ.get("SATCHEL_CONTRACT_BACKENDS", "").split(",")
              if name.strip()]
    if wanted:
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise pytest.UsageError(f"SATCHEL_CONTRACT_BACKENDS names unknown backends {unknown} "
                                    f"(registered: {names})")
        names = [name for name in names if name in wanted]
    return names


def backend_settings(name: str) -> dict[str, str]:
    value = os.environ.get(f"SATCHEL_CONTRACT_SETTINGS_{name.upper()}", "")
    return parse_storage_spec(f"{name}:{value}")[1]


# blob store -> the storage backend it is tested with
BLOB_VARIANTS = {"postgresql": "postgresql", "s3": "sqlite"}
BLOB_MODULES = {"test_blobs", "test_capabilities"}


@functools.cache
def discover_blob_backends() -> Registry:
    backends = Registry("blob store")
    create_pluginmanager().hook.satchel_blob_backend(backends=backends)
    return backends


def pytest_generate_tests(metafunc):
    if "backend_name" in metafunc.fixturenames:
        names = selected_backend_names()
        if metafunc.module.__name__.rpartition(".")[2] in BLOB_MODULES:
            names += [f"{storage}+{blobs}" for blobs, storage in BLOB_VARIANTS.items()
                      if blobs in discover_blob_backends() and storage in names]
        metafunc.parametrize("backend_name", names, ids=names)


class StorageMaker:
    """``make_storage(serverdir=None)`` opens a storage of one backend; all are closed at teardown.

    Without ``serverdir`` every call gets a fresh directory, so instances are independent.
    """

    def __init__(self, backend: StorageBackend, settings: dict, basedir: Path, blobs=None):
        """``blobs``: ``(BlobBackend, settings)`` to put in place of the storage's own blob store."""
        self.blobs = blobs
        self.backend = backend
        self.settings = settings
        self.basedir = basedir
        self._count = 0
        self._open: list[tuple[Storage, Path]] = []

    def new_serverdir(self) -> Path:
        self._count += 1
        return self.basedir / f"server{self._count}"

    def settings_for(self, serverdir: Path) -> dict[str, str]:
        """The settings, with ``{serverdir_id}`` replaced by a name unique to ``serverdir``."""
        return self.substitute(self.settings, serverdir)

    @staticmethod
    def substitute(settings: dict[str, str], serverdir: Path) -> dict[str, str]:
        serverdir_id = "s" + hashlib.sha256(str(Path(serverdir).resolve()).encode()).hexdigest()[:20]
        return {key: value.replace("{serverdir_id}", serverdir_id) for key, value in settings.items()}

    def __call__(self, serverdir: Path | None = None) -> Storage:
        serverdir = Path(serverdir) if serverdir is not None else self.new_serverdir()
        serverdir.mkdir(parents=True, exist_ok=True)
        try:
            storage = self.backend.factory(serverdir, self.settings_for(serverdir))
        except ConfigError as exc:
            pytest.skip(f"storage backend {self.backend.name!r} is not available: {exc.message}")
        if self.blobs is not None:
            blob_backend, blob_settings = self.blobs
            blob_settings = self.substitute(blob_settings, serverdir)
            try:
                storage.use_blobs(blob_backend.factory(serverdir, blob_settings, storage))
            except ConfigError as exc:
                storage.close()
                pytest.skip(f"blob store {blob_backend.name!r} is not available: {exc.message}")
        assert isinstance(storage, Storage), f"{self.backend.name} factory returned {storage!r}"
        self._open.append((storage, serverdir))
        return storage

    def serverdir_of(self, storage: Storage) -> Path:
        for candidate, serverdir in self._open:
            if candidate is storage:
                return serverdir
        raise LookupError("storage was not opened by this maker, or is closed")

    def close(self, storage: Storage) -> Path:
        serverdir = self.serverdir_of(storage)
        self._open = [(s, d) for s, d in self._open if s is not storage]
        storage.close()
        return serverdir

    def reopen(self, storage: Storage) -> Storage:
        """Close ``storage`` and open a new instance on the same serverdir."""
        return self(self.close(storage))

    def close_all(self) -> None:
        while self._open:
            storage, _ = self._open.pop()
            storage.close()


@pytest.fixture
def backend(backend_name) -> StorageBackend:
    return discover_backends().get(backend_name.partition("+")[0])


@pytest.fixture
def settings(backend, request) -> dict:
    given = backend_settings(backend.name)
    if backend.name == "postgresql" and "dsn" not in given:
        dsn = request.getfixturevalue("postgresql_dsn")
        given = {"dsn": dsn, "schema": "{serverdir_id}", **given}
    return given


@pytest.fixture
def blob_variant(backend_name, request):
    """``(BlobBackend, settings)`` of a ``STORAGE+BLOBS`` variant, else None."""
    name = backend_name.partition("+")[2]
    if not name:
        return None
    given = parse_storage_spec(f"{name}:" + os.environ.get(f"SATCHEL_CONTRACT_SETTINGS_BLOBS_{name.upper()}", ""))[1]
    if name == "s3" and "bucket" not in given:
        given = {**request.getfixturevalue("s3_settings"), "prefix": "{serverdir_id}/", **given}
    return discover_blob_backends().get(name), given


@pytest.fixture
def make_storage(backend, settings, tmp_path, blob_variant):
    maker = StorageMaker(backend, settings, tmp_path, blob_variant)
    yield maker
    maker.close_all()


@pytest.fixture
def storage(make_storage) -> Storage:
    return make_storage()


@pytest.fixture
def persistent(backend):
    """Skip unless the backend keeps its data in the serverdir across instances."""
    if not backend.persistent:
        pytest.skip(f"storage backend {backend.name!r} is not persistent")


@pytest.fixture
def run_threads():
    """``run_threads(*targets, timeout=20)``: run each callable in a thread, re-raise the first error."""

    def run(*targets, timeout: float = 20.0):
        errors: list[BaseException] = []

        def wrap(target):
            def body():
                try:
                    target()
                except BaseException as exc:  # noqa: BLE001 - reported to the test below
                    errors.append(exc)
            return body

        threads = [threading.Thread(target=wrap(target), daemon=True) for target in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        assert not any(thread.is_alive() for thread in threads), "threads did not finish (deadlock?)"
        if errors:
            raise errors[0]

    return run


@pytest.fixture(name="commit")
def commit_fixture():
    """``commit(storage, {key: value or None})`` -> serial of the write transaction (None: no commit)."""

    def run(storage: Storage, values: dict) -> int | None:
        serials = []
        with storage.write() as tx:
            for key, value in values.items():
                if value is None:
                    tx.delete(key)
                else:
                    tx.set(key, value)
            tx.on_commit(serials.append)
        return serials[0] if serials else None

    return run
