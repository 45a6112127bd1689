"""The same URLs answer browsers with pages, pip and uv with simple pages, JSON clients with JSON;
``--disable-plugin web`` takes the pages away and changes nothing else."""

import pytest
from webtest import TestApp


@pytest.mark.parametrize("path", ["/alice/dev", "/alice/dev/", "/alice/dev/hello-web", "/alice/dev/hello-web/"])
def test_installers_keep_simple_pages(world, path):
    for client in ("pip", "uv"):
        response = world.web.get(path, headers=world.HEADERS[client])
        assert response.content_type.startswith("application/vnd.pypi.simple.v1")
        assert "<main" not in response.text


def test_pip_without_accept_gets_the_html_simple_page(world):
    response = world.web.get("/alice/dev/hello-web/", headers={"User-Agent": "pip/24.0"})
    assert "hello_web-1.0-py3-none-any.whl" in response.text and "<main" not in response.text


@pytest.mark.parametrize("path,type_", [("/", "list:userconfig"), ("/alice", "userconfig"),
                                        ("/alice/dev", "indexconfig"), ("/alice/dev/hello-web", "projectconfig"),
                                        ("/alice/dev/hello-web/1.0", "versiondata")])
def test_json_clients_keep_the_json_api(world, path, type_):
    response = world.web.get(path, headers=world.HEADERS["json"])
    assert response.content_type == "application/json" and response.json["type"] == type_
    # devpi-client sends both: JSON wins
    both = world.web.get(path, headers={"Accept": "application/json, text/html"})
    assert both.json["type"] == type_


@pytest.mark.parametrize("path", ["/", "/alice", "/alice/dev", "/alice/dev/hello-web", "/alice/dev/hello-web/1.0",
                                  "/+status"])
def test_browsers_get_pages(world, path):
    response = world.page(path)
    assert response.content_type == "text/html" and "<main" in response.text


def test_format_parameter_keeps_the_simple_page(world):
    response = world.web.get("/alice/dev/+simple/hello-web/?format=application/vnd.pypi.simple.v1%2Bjson",
                             headers=world.HEADERS["browser"])
    assert response.json["name"] == "hello-web"


def test_disabled_web_plugin_changes_nothing_else(make_app):
    plain = make_app(storage="memory", no_root_pypi=True, disable_plugins=["web"])
    assert plain.pm.get_plugin("web") is None
    route_names = [name for name, _, _ in plain.router.table()]
    assert not any(name.startswith("web_") for name in route_names)
    with_web = make_app(storage="memory", no_root_pypi=True)
    assert [n for n, _, _ in with_web.router.table() if not n.startswith("web_")] == route_names
    browser = {"Accept": "text/html", "User-Agent": "Mozilla/5.0"}
    answer = TestApp(plain.wsgi).get("/", headers=browser, status=404)
    assert "no web interface" in answer.text
    assert TestApp(plain.wsgi).get("/+status", headers={"Accept": "application/json"}).json["result"]["serial"] >= 0
