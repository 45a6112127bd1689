"""/+metrics of a real ``satchel serve`` in prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR)."""

import os

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow


def test_multiprocess_mode_aggregates_from_files(live_server, tmp_path):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    server = live_server("--no-root-pypi", env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)})
    for _ in range(3):
        assert requests.get(server.url + "/root", headers={"Accept": "application/json"}, timeout=10).ok
    serial = requests.get(server.url + "/+api", timeout=10).headers["X-Devpi-Serial"]
    text = requests.get(server.url + "/+metrics", timeout=10).text
    samples = {(s.name, frozenset(s.labels.items())): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    requests_key = ("satchel_http_requests_total",
                    frozenset({"route": "user", "method": "GET", "status": "200"}.items()))
    assert samples[requests_key] == 3
    assert any(name == "satchel_storage_serial" and value == int(serial) for (name, _), value in samples.items())
    assert any(path.suffix == ".db" for path in directory.iterdir()), "values are kept in files"
