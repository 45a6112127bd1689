"""Each built-in plugin can be disabled alone: the rest still starts and serves (issue 12, point 5).

The list of built-in plugins is the ``satchel.plugins`` entry-point table of this repository's pyproject.toml,
so a new built-in plugin is covered without editing this file.
"""

import tomllib
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from satchel.app import create_app
from satchel.errors import ConfigError
from satchel.testing.client import DevpiClient
from satchel.testing.fixtures import Filler, make_wheel

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
BUILT_IN = sorted(tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"]["satchel.plugins"])
JSON_V1 = "application/vnd.pypi.simple.v1+json"


def _storage_without(name: str) -> str:
    # sqlite is the default backend: without it the app runs on core's memory backend
    return "memory" if name == "sqlite" else "sqlite"


def _page(web, index: str, project: str) -> dict:
    return web.get(f"/{index}/+simple/{project}/", headers={"Accept": JSON_V1}).json


def test_the_built_in_list_is_the_real_one():
    assert {"sqlite", "private", "auth", "mirror", "ops", "replica", "genconfig"} <= set(BUILT_IN)


@pytest.mark.parametrize("name", BUILT_IN)
def test_disable_one_plugin_the_rest_serves(name, make_app, fake_upstream):
    app = make_app(storage=_storage_without(name), disable_plugins=[name])
    loaded = {plugin_name for plugin_name, plugin in app.pm.list_name_plugin() if plugin is not None}
    assert name not in loaded
    assert set(BUILT_IN) - {name} <= loaded
    client = DevpiClient(app)
    assert client.get("/+api").json["result"]["login"].endswith("/+login")
    assert "root" in client.get("/").json["result"]
    assert ("pypi" in client.get("/root").json["result"]["indexes"]) == (name != "mirror")

    with_auth = name != "auth"
    if with_auth:
        client.login("root", "")
    fake_upstream.add_file("hello-pkg", *make_wheel("hello-pkg", "1.0"))
    for type_name in app.index_types:
        config = {"type": type_name}
        if type_name == "mirror":
            config["mirror_url"] = fake_upstream.url
        if with_auth:  # index creation is generic: it works for every loaded index type over REST
            reply = client.put(f"/root/{type_name}-index", config, status=200)
            assert reply.json["result"]["type"] == type_name
        else:  # nobody may write without the auth plugin: reads still work
            client.put(f"/root/{type_name}-index", config, status=403)
            Filler(app).index("root", f"{type_name}-index", **config)
    if "stage" in app.index_types:
        Filler(app).file("root/stage-index", "hello-pkg", "2.0")
        files = _page(client.web, "root/stage-index", "hello-pkg")["files"]
        assert [f["filename"] for f in files] == ["hello_pkg-2.0-py3-none-any.whl"]
    if "mirror" in app.index_types:
        page = _page(client.web, "root/mirror-index", "hello-pkg")
        [link] = page["files"]
        assert link["filename"] == "hello_pkg-1.0-py3-none-any.whl"
        url = urljoin("/root/mirror-index/+simple/hello-pkg/", link["url"])
        assert client.web.get(url).body.startswith(b"PK")
    assert {"private": "stage", "mirror": "mirror"}.get(name) not in app.index_types


def test_without_sqlite_the_default_storage_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown storage backend 'sqlite' \(known: memory"):
        create_app({"serverdir": str(tmp_path / "srv")}, disable_plugins=["sqlite"])


@pytest.mark.slow
def test_serve_without_the_private_plugin_creates_mirrors(live_server, fake_upstream):
    """A real ``satchel serve`` without satchel_private: the index REST API is core's, so mirrors still work."""
    fake_upstream.add_file("hello-pkg", *make_wheel("hello-pkg", "1.0"))
    server = live_server("--disable-plugin", "private", "--no-root-pypi")
    plugins = requests.get(server.url + "/+api", timeout=5)
    assert plugins.status_code == 200
    session = requests.Session()
    session.headers["Accept"] = "application/json"
    token = session.post(server.url + "/+login", json={"user": "root", "password": ""}, timeout=5)
    assert token.status_code == 200, token.text
    session.auth = ("root", token.json()["result"]["password"])
    reply = session.put(server.url + "/root/mirror", json={"type": "mirror", "mirror_url": fake_upstream.url},
                        timeout=5)
    assert reply.status_code == 200, reply.text
    reply = session.put(server.url + "/root/dev", json={}, timeout=5)
    assert reply.status_code == 400
    assert reply.json()["message"] == "no index type given and no default index type is installed"
    page = requests.get(server.url + "/root/mirror/+simple/hello-pkg/", headers={"Accept": JSON_V1}, timeout=10)
    assert [f["filename"] for f in page.json()["files"]] == ["hello_pkg-1.0-py3-none-any.whl"]
