"""A primary and replicas as real processes on 127.0.0.1."""

import base64
import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from satchel.testing.fixtures import make_wheel
from satchel.testing.server import ServerProcess, free_port
from satchel.testing.terminal import PseudoTerminal, bar_lines

pytestmark = pytest.mark.slow
JSON = {"Accept": "application/json", "Content-Type": "application/json"}
PAGE = {"Accept": "application/vnd.pypi.simple.v1+json", "User-Agent": "pip/24.0"}


def status(server) -> dict:
    return requests.get(server.url + "/+status", headers=JSON, timeout=10).json()["result"]


def wait_in_sync(replica, primary, timeout=30):
    target = status(primary)["serial"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if status(replica)["serial"] >= target:
            return
        time.sleep(0.1)
    raise AssertionError(f"replica did not reach serial {target}: {status(replica)}")


def setup_index(server):
    session = requests.Session()
    assert session.put(server.url + "/alice", json={"password": "pw"}, headers=JSON).status_code == 201
    token = session.post(server.url + "/+login", json={"user": "alice", "password": "pw"},
                         headers=JSON).json()["result"]["password"]
    auth = {**JSON, "X-Devpi-Auth": base64.b64encode(f"alice:{token}".encode()).decode()}
    assert session.put(server.url + "/alice/dev", json={}, headers=auth).status_code == 200


def upload(base_url, version, project="hello-pkg"):
    filename, content = make_wheel(project, version)
    response = requests.post(base_url + "/alice/dev/", auth=("alice", "pw"), timeout=60,
                             data={":action": "file_upload", "name": project, "version": version},
                             files={"content": (filename, content)})
    assert response.status_code == 200, response.reason
    return filename, hashlib.sha256(content).hexdigest()


def page(server, project="hello-pkg"):
    response = requests.get(f"{server.url}/alice/dev/+simple/{project}/", headers=PAGE, timeout=30)
    return response.status_code, (response.json() if response.status_code == 200 else None)


@pytest.fixture
def primary(tmp_path):
    server = ServerProcess(tmp_path / "primary", args=["--role", "primary"]).start()
    setup_index(server)
    yield server
    server.stop()


def replica_of(primary, serverdir, *extra, stderr=None):
    secret = primary.serverdir / ".secret"
    return ServerProcess(serverdir, args=["--primary-url", primary.url, "--secretfile", str(secret), *extra],
                         stderr=stderr)


def test_upload_on_primary_install_from_replica(primary, tmp_path):
    upload(primary.url, "1.0")
    with replica_of(primary, tmp_path / "replica") as replica:
        wait_in_sync(replica, primary)
        assert page(replica) == page(primary)
        info = status(replica)
        assert info["role"] == "REPLICA" and info["replication-lag-serials"] == 0
        assert info["primary-uuid"] == status(primary)["uuid"]
        filename, digest = upload(primary.url, "1.1")
        wait_in_sync(replica, primary)
        files = {entry["filename"]: entry for entry in page(replica)[1]["files"]}
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
        assert status(replica)["uuid"] in status(primary)["polling_replicas"]


def test_upload_through_replica_is_installable_at_once(primary, tmp_path):
    with replica_of(primary, tmp_path / "replica") as replica:
        wait_in_sync(replica, primary)
        filename, digest = upload(replica.url, "2.0")  # relayed to the primary
        code, data = page(replica)  # no waiting: the replica answered after importing the serial
        assert code == 200 and filename in [entry["filename"] for entry in data["files"]]
        assert page(primary) == page(replica)
        login = requests.post(replica.url + "/+login", json={"user": "alice", "password": "pw"}, headers=JSON)
        assert login.status_code == 200 and login.headers["X-Devpi-Proxy"] == "replica"


def test_writes_need_the_primary_and_replication_endpoints_need_credentials(primary, tmp_path):
    assert requests.get(primary.url + "/+changelog/0-", timeout=10).status_code == 401
    standalone = ServerProcess(tmp_path / "standalone").start()
    try:
        assert requests.get(standalone.url + "/+changelog/0-", headers=JSON, timeout=10).status_code == 403
    finally:
        standalone.stop()


def test_replica_killed_mid_sync_resumes(primary, tmp_path):
    for number in range(30):
        upload(primary.url, f"3.{number}")
    replica = replica_of(primary, tmp_path / "replica").start()
    time.sleep(0.3)
    os.kill(replica.process.pid, signal.SIGKILL)
    replica.process.wait(timeout=10)
    replica.stop()
    with replica_of(primary, tmp_path / "replica") as again:
        wait_in_sync(again, primary)
        assert page(again) == page(primary)
        assert status(again)["serial"] == status(primary)["serial"]


@pytest.mark.parametrize("columns", [100, 0], ids=["sized terminal", "unsized terminal"])
def test_catch_up_shows_a_bar_on_a_terminal(primary, tmp_path, columns):
    for number in range(120):
        upload(primary.url, f"4.{number}")
    terminal = PseudoTerminal(columns)
    replica = replica_of(primary, tmp_path / "replica", stderr=terminal.terminal)
    try:
        replica.start()
        terminal.attached()
        wait_in_sync(replica, primary)
    finally:
        replica.stop()
    bars = bar_lines(terminal.finished())
    assert any(bar.startswith("catching up with the primary: 100%|") for bar in bars), terminal.shown
    assert all(len(bar) <= (columns or 80) for bar in bars), bars


def test_primary_down_then_back(tmp_path):
    port = free_port()
    primary = ServerProcess(tmp_path / "primary", args=["--role", "primary"], port=port).start()
    setup_index(primary)
    filename, digest = upload(primary.url, "1.0")
    replica = replica_of(primary, tmp_path / "replica").start()
    try:
        wait_in_sync(replica, primary)
        before = page(replica)
        entry = before[1]["files"][0]
        file_url = f"{replica.url}/alice/dev/+simple/hello-pkg/{entry['url']}"
        assert hashlib.sha256(requests.get(file_url, timeout=30).content).hexdigest() == digest
        primary.stop()
        assert page(replica) == before  # reads keep working
        assert hashlib.sha256(requests.get(file_url, timeout=30).content).hexdigest() == digest
        assert status(replica)["role"] == "REPLICA"
        primary = ServerProcess(tmp_path / "primary", args=["--role", "primary"], port=port).start()
        upload(primary.url, "1.1")
        wait_in_sync(replica, primary, timeout=60)
        assert page(replica) == page(primary)
    finally:
        replica.stop()
        primary.stop()


def test_replica_refuses_a_corrupt_file(primary, tmp_path):
    filename, digest = upload(primary.url, "1.0")
    blob = primary.serverdir / "+blobs" / digest[:2] / digest
    blob.write_bytes(b"corrupted on the primary's side")
    with replica_of(primary, tmp_path / "replica") as replica:
        wait_in_sync(replica, primary)
        entry = page(replica)[1]["files"][0]
        response = requests.get(f"{replica.url}/alice/dev/+simple/hello-pkg/{entry['url']}", timeout=30)
        assert response.status_code == 502
        assert not (replica.serverdir / "+blobs" / digest[:2] / digest).exists()
        # whichever request copied it (background or this one), the reason is on /+status
        assert any("expected" in error and digest in error for error in status(replica)["replication-errors"])


def test_promote(primary, tmp_path):
    upload(primary.url, "1.0")
    with replica_of(primary, tmp_path / "replica") as replica:
        wait_in_sync(replica, primary)
        expected = page(replica)
    primary.stop()
    result = subprocess.run([sys.executable, "-m", "satchel", "promote", "--serverdir", str(tmp_path / "replica")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    with ServerProcess(tmp_path / "replica", args=["--role", "primary"]) as promoted:
        assert status(promoted)["role"] == "PRIMARY"
        assert page(promoted) == expected
        upload(promoted.url, "1.1")


def test_mirror_through_a_replica(tmp_path):
    from satchel.testing.fake_upstream import FakeUpstream

    with FakeUpstream() as upstream:
        filename, content = make_wheel("six", "1.16")
        upstream.add_file("six", filename, content)
        primary = ServerProcess(tmp_path / "primary", args=["--role", "primary", "--no-root-pypi"]).start()
        replica = None
        try:
            session = requests.Session()
            token = session.post(primary.url + "/+login", json={"user": "root", "password": ""},
                                 headers=JSON).json()["result"]["password"]
            auth = {**JSON, "X-Devpi-Auth": base64.b64encode(f"root:{token}".encode()).decode()}
            created = session.put(primary.url + "/root/up", json={"type": "mirror", "mirror_url": upstream.url},
                                  headers=auth)
            assert created.status_code == 200, created.text
            replica = replica_of(primary, tmp_path / "replica").start()
            wait_in_sync(replica, primary)
            reply = requests.get(replica.url + "/root/up/+simple/six/", headers=PAGE, timeout=30)
            assert reply.status_code == 200, reply.text
            entry = reply.json()["files"][0]
            fetched = requests.get(f"{replica.url}/root/up/+simple/six/{entry['url']}", timeout=30)
            assert fetched.status_code == 200, fetched.text
            body = fetched.content
            assert hashlib.sha256(body).hexdigest() == hashlib.sha256(content).hexdigest()
            assert upstream.count(upstream.file("six", filename).path) == 1  # fetched once, by the primary
            # the replica wrote nothing itself: it holds exactly the primary's serials
            wait_in_sync(replica, primary)
            assert status(replica)["serial"] == status(primary)["serial"]
        finally:
            if replica is not None:
                replica.stop()
            primary.stop()


def test_replica_enforces_acl_read_and_mirror_policy(tmp_path):
    from satchel.testing.fake_upstream import FakeUpstream

    with FakeUpstream() as upstream:
        upstream.add_file("evil-pkg", *make_wheel("evil-pkg", "1.0"))
        primary = ServerProcess(tmp_path / "primary", args=["--role", "primary", "--no-root-pypi"]).start()
        replica = None
        try:
            token = requests.post(primary.url + "/+login", json={"user": "root", "password": ""},
                                  headers=JSON, timeout=10).json()["result"]["password"]
            auth = {**JSON, "X-Devpi-Auth": base64.b64encode(f"root:{token}".encode()).decode()}
            put = requests.put(primary.url + "/root/up", json={"type": "mirror", "mirror_url": upstream.url},
                               headers=auth, timeout=10)
            assert put.status_code == 200, put.text
            assert requests.put(primary.url + "/root/secret", json={"acl_read": ["root"]}, headers=auth,
                                timeout=10).status_code == 200
            secretfile = primary.serverdir / ".secret"
            replica = ServerProcess(tmp_path / "replica",
                                    args=["--primary-url", primary.url, "--secretfile", str(secretfile)]).start()
            wait_in_sync(replica, primary)
            patched = requests.patch(primary.url + "/root/up", json={"mirror_block": ["evil-pkg"]}, headers=auth,
                                     timeout=10)
            assert patched.json()["result"]["mirror_block"] == ["evil-pkg"], patched.text
            wait_in_sync(replica, primary)
            blocked = requests.get(replica.url + "/root/up/+simple/evil-pkg/", headers=PAGE, timeout=30)
            assert blocked.status_code == 403 and "mirror_block" in blocked.text
            assert status(replica)["mirrors"]["root/up"]["policy"]["mirror_block"] == ["evil-pkg"]
            assert upstream.count("/simple/evil-pkg/") == 0
            anonymous = requests.get(replica.url + "/root/secret/+simple/", headers=PAGE, timeout=30)
            assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
            assert requests.get(replica.url + "/root/secret/+simple/", headers=PAGE, auth=("root", ""),
                                timeout=30).status_code == 200
        finally:
            if replica is not None:
                replica.stop()
            primary.stop()
