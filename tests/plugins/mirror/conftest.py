"""A satchel app (sqlite, no root/pypi) with a mirror index root/mirror pointing at a fake upstream."""

from urllib.parse import urljoin

import pytest

from satchel.model.indexes import get_stage
from satchel.testing.client import DevpiClient
from satchel.testing.fixtures import make_wheel

PIP = {"User-Agent": "pip/24.0 CPython/3.11"}
JSON_V1 = "application/vnd.pypi.simple.v1+json"


class MirrorWorld:
    """``app``, a root ``client`` (DevpiClient), ``web`` (its TestApp) and the fake ``upstream``."""

    def __init__(self, app, upstream, index_name="root/mirror", **config):
        self.app, self.upstream, self.index_name = app, upstream, index_name
        # what reopens this app's data (its serverdir alone does not hold a PostgreSQL database)
        self.storage_options = {"storage": app.storage.name}
        if app.config.get("postgresql_dsn"):
            self.storage_options["postgresql_dsn"] = app.config.get("postgresql_dsn")
        self.client = DevpiClient(app)
        self.web = self.client.web
        self.client.login("root", "")
        if index_name:
            self.client.put(f"/{index_name}", {"type": "mirror", "mirror_url": upstream.url, **config},
                            status=200)

    def page(self, project, status=200, index_name=None, json=False, headers=None):
        accept = {"Accept": JSON_V1} if json else {}
        return self.web.get(f"/{index_name or self.index_name}/+simple/{project}/", status=status,
                            headers={**PIP, **accept, **(headers or {})})

    def links(self, project, index_name=None) -> dict:
        """``{filename: absolute server path}`` of a project page (JSON)."""
        base = f"/{index_name or self.index_name}/+simple/{project}/"
        page = self.page(project, index_name=index_name, json=True)
        return {f["filename"]: urljoin(base, f["url"]) for f in page.json["files"]}

    def file(self, project, filename, status=200, headers=None, index_name=None):
        return self.web.get(self.links(project, index_name)[filename], status=status, headers=headers or {})

    def stage(self, index_name=None):
        with self.app.storage.read() as tx:
            return get_stage(tx, self.app, *(index_name or self.index_name).split("/"))

    def storage_args(self) -> list[str]:
        """``storage_options`` as command-line options."""
        return [arg for dest, value in self.storage_options.items()
                for arg in ("--" + dest.replace("_", "-"), value)]

    def status(self) -> dict:
        return self.web.get("/+status", headers={"Accept": "application/json"}).json["result"]["mirrors"]

    def wheel(self, project="hello-pkg", version="1.0", **kwargs):
        filename, content = make_wheel(project, version)
        return self.upstream.add_file(project, filename, content, **kwargs)


@pytest.fixture(params=["sqlite", "postgresql"])
def make_world(request, make_app, fake_upstream):
    """``make_world(upstream=None, index_name="root/mirror", options={}, **index config)`` -> MirrorWorld, on
    sqlite and on PostgreSQL (a fresh database of the session's server)."""

    def factory(upstream=None, index_name="root/mirror", options=None, **config):
        opts = {"storage": request.param, "no_root_pypi": True, "request_timeout": 0.5,
                "mirror_cache_expiry": 60, **(options or {})}
        app = make_app(**opts)
        return MirrorWorld(app, upstream or fake_upstream, index_name, **config)

    return factory


@pytest.fixture
def world(make_world):
    return make_world()
