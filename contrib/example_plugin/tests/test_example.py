"""The example's own tests. Its fixtures (``make_app`` ...) come from satchel's test kit, the pytest plugin that
``pip install "satchel[testing]"`` registers: no conftest needed."""

from webtest import TestApp

import satchel_example


def test_example_route(make_app):
    client = TestApp(make_app(plugins=[satchel_example]).wsgi)
    response = client.get("/+example")
    assert response.json["type"] == "example"
    assert response.json["result"]["message"] == "hello from satchel-example"


def test_example_behind_a_proxy(make_app):
    client = TestApp(make_app(plugins=[satchel_example], outside_url="https://pypi.example.com").wsgi)
    assert client.get("/+example").json["result"]["base"] == "https://pypi.example.com"

