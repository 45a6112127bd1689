"""satchel's test kit as a pytest plugin: apps on memory or sqlite storage, WebTest clients, live servers.

pytest loads it through the ``pytest11`` entry point ``satchel.testing.fixtures`` once ``satchel[testing]`` is
installed (``-p no:satchel.testing.fixtures`` disables it); docs/writing-plugins.md documents every fixture. The runtime never imports this package.
"""

import base64
import hashlib
import io
import zipfile
from contextlib import contextmanager

import pytest
import requests
from argon2 import PasswordHasher
from pypi_simple import PYPI_SIMPLE_ENDPOINT

from satchel import clock
from satchel.app import create_app
from satchel.model import indexes, projects, users
from satchel.testing.clock import FakeClock
from satchel.testing.fake_upstream import fake_upstream  # noqa: F401  (a fixture, exported)
from satchel.testing.server import ServerProcess, ThreadedServer


def make_wheel(name: str, version: str, extra: str = "") -> tuple[str, bytes]:
    """A small, installable wheel: ``(filename, bytes)`` with METADATA, WHEEL and a hashed RECORD."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}/__init__.py": f"VERSION = {version!r}\n{extra}".encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: satchel-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{path},sha256={_record_hash(data)},{len(data)}" for path, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join(record + [f"{info}/RECORD,,"]) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return f"{dist}-{version}-py3-none-any.whl", buf.getvalue()


def make_zip(files: dict[str, bytes]) -> bytes:
    """A zip archive of ``{member name: bytes}`` (doc zips, bad archives)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _record_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


class Filler:
    """Create users, indexes and release files through the model (one transaction each)."""

    def __init__(self, app):
        self.app = app

    def user(self, name: str, password: str = "pw"):
        with self.app.storage.write() as tx:
            return users.create_user(tx, name, password=password)

    def index(self, user: str, name: str, **config):
        with self.app.storage.write() as tx:
            return indexes.create_index(tx, self.app, user, name, config)

    def file(self, index_name: str, project: str, version: str, filename: str | None = None,
             content: bytes | None = None, **kwargs):
        if filename is None:
            filename, content = make_wheel(project, version)
        with self.app.storage.write() as tx:
            stage = indexes.get_stage(tx, self.app, *index_name.split("/"))
            return projects.add_release_file(tx, self.app, stage, project=project, version=version,
                                             filename=filename, content=content or filename.encode(), **kwargs)


@contextmanager
def filled_server(serverdir, fill, env=None, **options):
    """A ``satchel serve`` process on a sqlite serverdir that ``fill(Filler)`` filled through the model first.

    ``options``: more configuration for the filling app (e.g. blob settings); ``env``: the server's environment
    (``SATCHEL_*`` settings it needs too).
    """
    app = create_app({"serverdir": str(serverdir), "storage": "sqlite", **options})
    try:
        fill(Filler(app))
    finally:
        app.close()
    with ServerProcess(serverdir, env=env) as process:
        yield process


@pytest.fixture
def fast_password_hashing(monkeypatch):
    """Cheap argon2 parameters in this process for the test: tests hash many passwords, none need to be strong.

    Not autouse: ``make_app`` (and so ``app``, ``testapp``, ``filler``) requests it; a suite that hashes passwords
    otherwise opts in from its conftest. Server processes (``live_server``) keep the real parameters.
    """
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=256, parallelism=1))


@pytest.fixture
def fake_clock():
    """A ``FakeClock`` installed as satchel's clock for the test: ``fake_clock.advance(seconds)`` lets expiry,
    back-off and token lifetimes pass without sleeping. In this process only (not in ``live_server``)."""
    fake = FakeClock()
    previous = clock.use(fake)
    yield fake
    clock.use(previous)


@pytest.fixture
def make_app(tmp_path, fast_password_hashing):
    """``make_app(storage="memory", **options)`` -> initialized App, closed after the test."""
    created = []

    def factory(storage: str = "memory", plugins=(), disable_plugins=(), **options):
        options.setdefault("serverdir", str(tmp_path / f"server{len(created)}"))
        app = create_app({"storage": storage, **options}, plugins=plugins, disable_plugins=disable_plugins)
        created.append(app)
        return app

    yield factory
    for app in created:
        app.close()


@pytest.fixture(params=["memory", "sqlite"])
def app(request, make_app):
    """An initialized App on each core-tested backend."""
    return make_app(storage=request.param)


@pytest.fixture
def filler(app):
    return Filler(app)


@pytest.fixture
def testapp(app):
    """A WebTest client of ``app``."""
    from webtest import TestApp  # imported here: loading the plugin must not need WebTest

    return TestApp(app.wsgi)


@pytest.fixture(scope="session")
def real_upstream() -> str:
    """The real PyPI simple API URL, for tests marked ``live``; skips the test when it cannot be reached in a few
    seconds, so the default test run works offline."""
    try:
        requests.head(PYPI_SIMPLE_ENDPOINT, timeout=3)
    except requests.RequestException as exc:
        pytest.skip(f"the real upstream {PYPI_SIMPLE_ENDPOINT} cannot be reached ({type(exc).__name__})")
    return PYPI_SIMPLE_ENDPOINT


@pytest.fixture
def live_server(tmp_path):
    """``live_server(*args, env=None)`` -> a started ServerProcess; all are stopped after the test."""
    started = []

    def factory(*args, env=None, serverdir=None):
        server = ServerProcess(serverdir or tmp_path / f"live{len(started)}", args=args, env=env)
        started.append(server)
        return server.start()

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def serve():
    """``serve(app, threads=16)`` -> a started ``ThreadedServer`` (``.url``); stopped after the test."""
    started = []

    def factory(app, threads=16):
        server = ThreadedServer(app.wsgi, threads)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
