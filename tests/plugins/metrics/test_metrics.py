"""/+metrics: the Prometheus text format of what core and the plugins report."""

import base64
from urllib.parse import urljoin

import pytest
from prometheus_client.parser import text_string_to_metric_families
from webtest import TestApp

from satchel.metrics import Metric, MetricRegistry, declared_metrics, instruments
from satchel.plugin import hookimpl
from satchel.testing.fixtures import Filler, make_wheel
from satchel.web.responses import json_response


def basic(user, password="pw"):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def scrape(web, **kw) -> dict:
    """``{(sample name, frozenset(labels)): value}``."""
    text = web.get("/+metrics", **kw).text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


@pytest.fixture
def world(make_app):
    app = make_app(storage="sqlite")
    Filler(app).user("alice")
    Filler(app).index("alice", "dev")
    return app, TestApp(app.wsgi)


def test_requests_by_route_never_by_path(world):
    app, web = world
    web.get("/alice/dev/+simple/some-secret-project/", status=404)
    web.get("/alice/dev/+simple/", headers={"User-Agent": "pip/24.0"})
    web.get("/no/such/thing/at/all/+x", status=404)
    response = web.get("/+metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "some-secret-project" not in response.text and "alice" not in response.text
    samples = scrape(web)
    assert value(samples, "satchel_http_requests_total", route="simple_project", method="GET", status="404") == 1
    assert value(samples, "satchel_http_requests_total", route="simple_list", method="GET", status="200") == 1
    assert value(samples, "satchel_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert value(samples, "satchel_http_request_duration_seconds_count", route="simple_list", method="GET") == 1


class HelloPlugin:
    """A third-party plugin declaring and reporting a metric of its own."""

    @hookimpl
    def satchel_add_metrics(self, metrics):
        metrics.add(Metric("satchel_hello_greetings_total", "counter", "greetings sent", ("language",)))

    @hookimpl
    def satchel_add_routes(self, router):
        def hello(request):
            instruments(request.app).inc("satchel_hello_greetings_total", language="en")
            return json_response({"greeting": "hello"}, "hello")

        router.add("hello", r"/\+hello", hello)


def test_plugin_declares_and_reports_its_own_metric(make_app):
    web = TestApp(make_app(plugins=[HelloPlugin()]).wsgi)
    web.get("/+hello")
    web.get("/+hello")
    assert value(scrape(web), "satchel_hello_greetings_total", language="en") == 2
    registry = MetricRegistry()
    HelloPlugin().satchel_add_metrics(registry)
    with pytest.raises(ValueError, match="declared twice"):
        HelloPlugin().satchel_add_metrics(registry)


def test_serial_gauge_equals_x_devpi_serial(world):
    app, web = world
    serial = web.get("/+api").headers["X-Devpi-Serial"]
    assert value(scrape(web), "satchel_storage_serial") == int(serial)


def test_uploads_commits_and_auth_failures(world):
    app, web = world
    filename, content = make_wheel("hello-pkg", "1.0")
    web.post("/alice/dev/", params=[(":action", "file_upload"), ("name", "hello-pkg"), ("version", "1.0")],
             upload_files=[("content", filename, content)], headers=basic("alice"))
    web.post_json("/+login", {"user": "alice", "password": "wrong"}, status=401)
    web.get("/+api", headers=basic("alice", "wrong"))
    samples = scrape(web)
    assert value(samples, "satchel_uploads_total", index_type="stage") == 1
    assert value(samples, "satchel_blob_bytes_stored_total", source="upload") == len(content)
    assert value(samples, "satchel_auth_failures_total", kind="login") == 1
    assert value(samples, "satchel_auth_failures_total", kind="credentials") == 1
    web.put_json("/alice/other", {}, headers=basic("alice"))
    assert value(scrape(web), "satchel_storage_commit_duration_seconds_count") >= 1


def test_mirror_hits_misses_and_bytes(make_app, fake_upstream):
    app = make_app(storage="sqlite", no_root_pypi=True, mirror_cache_expiry=60)
    web = TestApp(app.wsgi)
    filename, content = make_wheel("six", "1.0")
    fake = fake_upstream.add_file("six", filename, content)
    web.put_json("/root/up", {"type": "mirror", "mirror_url": fake_upstream.url}, headers=basic("root", ""))
    page = web.get("/root/up/+simple/six/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json
    web.get("/root/up/+simple/six/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    path = urljoin("/root/up/+simple/six/", page["files"][0]["url"])
    assert web.get(path).body == content
    web.get(path)
    fake_upstream.fail("/simple/?*", 500)
    samples = scrape(web)
    index = "root/up"
    assert value(samples, "satchel_mirror_cache_misses_total", index=index, kind="page") == 1
    assert value(samples, "satchel_mirror_cache_hits_total", index=index, kind="page") >= 1
    assert value(samples, "satchel_mirror_cache_misses_total", index=index, kind="file") == 1
    assert value(samples, "satchel_mirror_cache_hits_total", index=index, kind="file") == 1
    assert value(samples, "satchel_mirror_upstream_bytes_total", index=index) == len(content)
    assert value(samples, "satchel_mirror_upstream_fetch_duration_seconds_count", index=index) == 1
    assert fake_upstream.count(fake.path) == 1


def test_metrics_allow_cidr_and_authenticated(make_app):
    app = make_app(metrics_allow="10.0.0.0/8")
    web = TestApp(app.wsgi)
    web.get("/+metrics", extra_environ={"REMOTE_ADDR": "10.1.2.3"})
    response = web.get("/+metrics", extra_environ={"REMOTE_ADDR": "192.168.1.1"}, status=403)
    assert "--metrics-allow" in response.json["message"]
    app = make_app(metrics_allow="127.0.0.1/32, :authenticated:")
    web = TestApp(app.wsgi)
    web.get("/+metrics", extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    anonymous = web.get("/+metrics", extra_environ={"REMOTE_ADDR": "192.168.1.1"}, status=401)
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    web.get("/+metrics", extra_environ={"REMOTE_ADDR": "192.168.1.1"}, headers=basic("root", ""))


def test_bad_metrics_allow_is_a_config_error(make_app):
    from satchel.errors import ConfigError
    with pytest.raises(ConfigError, match="neither a CIDR"):
        make_app(metrics_allow="10.0.0.0/8,everyone")


def test_every_metric_is_documented(make_app):
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[3] / "docs" / "operations.md").read_text()
    names = set(declared_metrics(make_app()))
    names |= {"satchel_replication_lag_serials", "satchel_replication_lag_seconds",
              "satchel_replication_files_pending", "satchel_simple_page_cache_hits",
              "satchel_simple_page_cache_misses"}
    missing = sorted(name for name in names if f"`{name}`" not in doc)
    assert not missing, f"not in docs/operations.md: {missing}"
