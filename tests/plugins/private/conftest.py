"""Apps with the private and auth plugins, users alice and bob, and helpers for legacy uploads."""

import base64

import pytest
from webtest import TestApp

from satchel.testing.fixtures import Filler, make_wheel


def basic(user: str, password: str = "pw") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class World:
    """An app with users alice and bob, alice/dev (volatile) and alice/prod (non-volatile)."""

    def __init__(self, app):
        self.app = app
        self.testapp = TestApp(app.wsgi)
        self.filler = Filler(app)
        for name in ("alice", "bob"):
            self.filler.user(name)
        self.filler.index("alice", "dev")
        self.filler.index("alice", "prod", volatile=False)

    def serial(self) -> int:
        return self.app.storage.last_serial()

    def upload(self, index_name: str, filename: str, content: bytes, name: str | None = None,
               version: str | None = None, user: str | None = "alice", action: str = "file_upload",
               status="*", **fields):
        """POST a legacy upload the way twine does."""
        if name is None or version is None:
            stem_name, _, stem_version = filename.removesuffix(".tar.gz").rpartition("-")
            name, version = name or stem_name, version or stem_version
        params = [(":action", action), ("name", name), ("version", version), ("protocol_version", "1")]
        params += [(key, value) for key, values in fields.items()
                   for value in (values if isinstance(values, list) else [values])]
        headers = basic(user) if user else {}
        return self.testapp.post(f"/{index_name}/", params=params, upload_files=[("content", filename, content)],
                                 headers=headers, status=status)

    def wheel(self, index_name: str, name: str = "hello-pkg", version: str = "1.0", **kwargs):
        filename, content = make_wheel(name, version)
        return self.upload(index_name, filename, content, name=name, version=version, **kwargs)

    def json(self, path: str, status=200):
        return self.testapp.get(path, headers={"Accept": "application/json"}, status=status)

    def simple(self, index_name: str, project: str) -> str:
        return self.testapp.get(f"/{index_name}/+simple/{project}/", status="*").text


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def world(request, make_app):
    app = make_app(storage=request.param)
    return World(app)


@pytest.fixture
def make_world(make_app):
    """``make_world(storage="memory", **options)`` -> a World."""

    def factory(storage: str = "memory", **options):
        return World(make_app(storage=storage, **options))

    return factory


@pytest.fixture
def auth():
    """``auth(user, password="pw")`` -> Basic auth headers."""
    return basic
