"""An app with alice/dev (and alice/prod inheriting from it), filled through the model, and the
three kinds of clients the web UI must tell apart: browsers, installers and JSON clients."""

import json

import pytest
from webtest import TestApp

from satchel.model import indexes
from satchel.model.attachments import store_doczip, store_toxresult
from satchel.testing.fixtures import Filler, make_zip

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
           "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"}
PIP = {"User-Agent": "pip/24.0 {\"installer\":{\"name\":\"pip\"}}",
       "Accept": "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"}
UV = {"User-Agent": "uv/0.4.0", "Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.01"}
JSON = {"Accept": "application/json"}


TOXRESULT = {"reportversion": "1", "host": "ci-box", "platform": "linux", "testenvs": {
    "py311": {"python": {"version": "3.11.4 (main)"},
              "test": [{"command": ["pytest"], "retcode": "0", "output": "3 passed", "duration": 1.5}]},
    "py312": {"python": {"version": "3.12.1"},
              "test": [{"command": ["pytest"], "retcode": "1", "output": "1 failed", "duration": 2.0}]}}}


class WebWorld:
    """``app``, ``web`` (a WebTest client), ``filler``; alice/dev holds hello-web 1.0 and 1.1.

    ``HEADERS`` are what the clients send: a browser, pip, uv and a JSON client (devpi).
    """

    HEADERS = {"browser": BROWSER, "pip": PIP, "uv": UV, "json": JSON}

    def __init__(self, app):
        self.app = app
        self.web = TestApp(app.wsgi)
        self.filler = Filler(app)
        self.filler.user("alice")
        self.filler.index("alice", "dev", title="Alice's dev", description="work in progress")
        self.filler.index("alice", "prod", bases=["alice/dev"])
        self.release("hello-web", "1.0", summary="A greeting machine for browsers",
                     description="Hello *world*", keywords="greeting web")
        self.release("hello-web", "1.1", summary="A greeting machine for browsers",
                     description="# Hello\n\nNewer **text**", description_content_type="text/markdown",
                     requires_python=">=3.9", author="Alice", license="MIT",
                     project_urls=["Source, https://example.org/src", "Bad, javascript:alert(1)"],
                     classifiers=["Programming Language :: Python :: 3"], requires_dist=["requests>=2"])

    def release(self, project, version, index="alice/dev", **metadata):
        requires_python = metadata.pop("requires_python", None)
        return self.filler.file(index, project, version, metadata=metadata, requires_python=requires_python)

    def stage(self, index="alice/dev"):
        with self.app.storage.read() as tx:
            return indexes.get_stage(tx, self.app, *index.split("/"))

    def add_docs(self, project="hello-web", version="1.0", index="alice/dev", files=None):
        content = make_zip(files or {"index.html": b"<h1>Hello docs</h1>", "api/index.html": b"api"})
        blob = self.app.storage.blobs.put_bytes(content)
        with self.app.storage.write() as tx:
            store_doczip(tx, self.stage(index), project, version, blob)

    def add_toxresult(self, link, data=TOXRESULT, index="alice/dev"):
        blob = self.app.storage.blobs.put_bytes(json.dumps(data).encode())
        with self.app.storage.write() as tx:
            return store_toxresult(tx, self.stage(index), link["path"], blob)

    def page(self, path, status=200, headers=None):
        return self.web.get(path, headers={**BROWSER, **(headers or {})}, status=status)


@pytest.fixture
def make_world(make_app):
    """``make_world(storage="memory", **options)`` -> a WebWorld on a new app."""

    def factory(storage="memory", **options):
        return WebWorld(make_app(storage=storage, no_root_pypi=True, **options))

    return factory


@pytest.fixture
def world(make_world):
    return make_world()
