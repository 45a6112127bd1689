"""A primary and replicas as real processes on 127.0.0.1."""

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from satchel.testing.server import free_port
from satchel.testing.terminal import PseudoTerminal, bar_lines

pytestmark = pytest.mark.slow
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def test_upload_on_primary_install_from_replica(cluster, primary, tmp_path):
    cluster.upload(primary.url, "1.0")
    with cluster.replica(primary, start=False) as replica:
        cluster.wait_in_sync(replica, primary)
        assert cluster.page(replica) == cluster.page(primary)
        info = cluster.status(replica)
        assert info["role"] == "REPLICA" and info["replication-lag-serials"] == 0
        assert info["primary-uuid"] == cluster.status(primary)["uuid"]
        filename, digest = cluster.upload(primary.url, "1.1")
        cluster.wait_in_sync(replica, primary)
        files = {entry["filename"]: entry for entry in cluster.page(replica)[1]["files"]}
        url = f"{replica.url}/alice/dev/+simple/hello-pkg/{files[filename]['url']}"
        body = requests.get(url, timeout=30).content
        assert hashlib.sha256(body).hexdigest() == digest
        target = tmp_path / "target"
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-deps", "--isolated", "--disable-pip-version-check",
             "--target", str(target), "--index-url", replica.url + "/alice/dev/+simple/", "hello-pkg==1.1"],
            capture_output=True, text=True, timeout=300, env={k: v for k, v in os.environ.items()
                                                             if not k.startswith(("PIP_", "UV_"))})
        assert result.returncode == 0, result.stdout + result.stderr
        # the primary lists polling replicas
        assert cluster.status(replica)["uuid"] in cluster.status(primary)["polling_replicas"]


def test_upload_through_replica_is_installable_at_once(cluster, primary):
    with cluster.replica(primary, start=False) as replica:
        cluster.wait_in_sync(replica, primary)
        filename, digest = cluster.upload(replica.url, "2.0")  # relayed to the primary
        code, data = cluster.page(replica)  # no waiting: the replica answered after importing the serial
        assert code == 200 and filename in [entry["filename"] for entry in data["files"]]
        assert cluster.page(primary) == cluster.page(replica)
        login = requests.post(replica.url + "/+login", json={"user": "alice", "password": "pw"}, headers=JSON)
        assert login.status_code == 200 and login.headers["X-Devpi-Proxy"] == "replica"


def test_writes_need_the_primary_and_replication_endpoints_need_credentials(cluster, primary):
    assert requests.get(primary.url + "/+changelog/0-", timeout=10).status_code == 401
    standalone = cluster.server("standalone")
    assert requests.get(standalone.url + "/+changelog/0-", headers=JSON, timeout=10).status_code == 403


def test_replica_killed_mid_sync_resumes(cluster, primary):
    for number in range(30):
        cluster.upload(primary.url, f"3.{number}")
    replica = cluster.replica(primary)
    time.sleep(0.3)
    os.kill(replica.process.pid, signal.SIGKILL)
    replica.process.wait(timeout=10)
    replica.stop()
    with cluster.replica(primary, start=False) as again:
        cluster.wait_in_sync(again, primary)
        assert cluster.page(again) == cluster.page(primary)
        assert cluster.status(again)["serial"] == cluster.status(primary)["serial"]


@pytest.mark.parametrize("columns", [100, 0], ids=["sized terminal", "unsized terminal"])
def test_catch_up_shows_a_bar_on_a_terminal(cluster, primary, columns):
    for number in range(120):
        cluster.upload(primary.url, f"4.{number}")
    terminal = PseudoTerminal(columns)
    replica = cluster.replica(primary, stderr=terminal.terminal, start=False)
    try:
        replica.start()
        terminal.attached()
        cluster.wait_in_sync(replica, primary)
    finally:
        replica.stop()
    bars = bar_lines(terminal.finished())
    assert any(bar.startswith("catching up with the primary: 100%|") for bar in bars), terminal.shown
    assert all(len(bar) <= (columns or 80) for bar in bars), bars


def test_primary_down_then_back(cluster):
    port = free_port()
    primary = cluster.primary(port=port)
    cluster.setup_index(primary)
    filename, digest = cluster.upload(primary.url, "1.0")
    replica = cluster.replica(primary)
    cluster.wait_in_sync(replica, primary)
    before = cluster.page(replica)
    entry = before[1]["files"][0]
    file_url = f"{replica.url}/alice/dev/+simple/hello-pkg/{entry['url']}"
    assert hashlib.sha256(requests.get(file_url, timeout=30).content).hexdigest() == digest
    primary.stop()
    assert cluster.page(replica) == before  # reads keep working
    assert hashlib.sha256(requests.get(file_url, timeout=30).content).hexdigest() == digest
    assert cluster.status(replica)["role"] == "REPLICA"
    primary = cluster.primary(port=port)
    cluster.upload(primary.url, "1.1")
    cluster.wait_in_sync(replica, primary, timeout=60)
    assert cluster.page(replica) == cluster.page(primary)


def test_replica_refuses_a_corrupt_file(cluster, primary):
    filename, digest = cluster.upload(primary.url, "1.0")
    blob = primary.serverdir / "+blobs" / digest[:2] / digest
    blob.write_bytes(b"corrupted on the primary's side")
    with cluster.replica(primary, start=False) as replica:
        cluster.wait_in_sync(replica, primary)
        entry = cluster.page(replica)[1]["files"][0]
        response = requests.get(f"{replica.url}/alice/dev/+simple/hello-pkg/{entry['url']}", timeout=30)
        assert response.status_code == 502
        assert not (replica.serverdir / "+blobs" / digest[:2] / digest).exists()
        # whichever request copied it (background or this one), the reason is on /+status
        errors = cluster.status(replica)["replication-errors"]
        assert any("expected" in error and digest in error for error in errors)


def test_promote(cluster, primary, tmp_path):
    cluster.upload(primary.url, "1.0")
    with cluster.replica(primary, start=False) as replica:
        cluster.wait_in_sync(replica, primary)
        expected = cluster.page(replica)
    primary.stop()
    result = subprocess.run([sys.executable, "-m", "satchel", "promote", "--serverdir", str(tmp_path / "replica")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    promoted = cluster.server("replica", "--role", "primary")
    assert cluster.status(promoted)["role"] == "PRIMARY"
    assert cluster.page(promoted) == expected
    cluster.upload(promoted.url, "1.1")
