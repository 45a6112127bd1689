"""A primary and replicas as real ``satchel serve`` processes on 127.0.0.1, stopped after each test."""

import base64
import hashlib
import time

import pytest
import requests

from satchel.testing.fixtures import make_wheel
from satchel.testing.server import ServerProcess

JSON = {"Accept": "application/json", "Content-Type": "application/json"}
PAGE = {"Accept": "application/vnd.pypi.simple.v1+json", "User-Agent": "pip/24.0"}


class Cluster:
    """Starts servers (every one is stopped by the fixture) and asks them what tests check."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.servers: list[ServerProcess] = []

    def server(self, name: str, *args, port=None, stderr=None, start=True) -> ServerProcess:
        server = ServerProcess(self.tmp_path / name, args=args, port=port, stderr=stderr)
        self.servers.append(server)
        return server.start() if start else server

    def primary(self, *args, name="primary", port=None) -> ServerProcess:
        return self.server(name, "--role", "primary", *args, port=port)

    def replica(self, primary, *args, name="replica", stderr=None, start=True) -> ServerProcess:
        secret = primary.serverdir / ".secret"
        return self.server(name, "--primary-url", primary.url, "--secretfile", str(secret), *args,
                           stderr=stderr, start=start)

    def stop_all(self) -> None:
        for server in reversed(self.servers):
            server.stop()

    @staticmethod
    def status(server) -> dict:
        return requests.get(server.url + "/+status", headers=JSON, timeout=10).json()["result"]

    def wait_in_sync(self, replica, primary, timeout=30) -> None:
        target = self.status(primary)["serial"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status(replica)["serial"] >= target:
                return
            time.sleep(0.1)
        raise AssertionError(f"replica did not reach serial {target}: {self.status(replica)}")

    @staticmethod
    def auth(server, user: str, password: str) -> dict:
        """JSON headers carrying a login token of ``user``."""
        token = requests.post(server.url + "/+login", json={"user": user, "password": password},
                              headers=JSON, timeout=30).json()["result"]["password"]
        return {**JSON, "X-Devpi-Auth": base64.b64encode(f"{user}:{token}".encode()).decode()}

    def setup_index(self, server) -> None:
        """alice (password ``pw``) with her index alice/dev."""
        created = requests.put(server.url + "/alice", json={"password": "pw"}, headers=JSON, timeout=30)
        assert created.status_code == 201, created.text
        indexed = requests.put(server.url + "/alice/dev", json={}, headers=self.auth(server, "alice", "pw"),
                               timeout=30)
        assert indexed.status_code == 200, indexed.text

    @staticmethod
    def upload(base_url, version, project="hello-pkg") -> tuple[str, str]:
        filename, content = make_wheel(project, version)
        response = requests.post(base_url + "/alice/dev/", auth=("alice", "pw"), timeout=60,
                                 data={":action": "file_upload", "name": project, "version": version},
                                 files={"content": (filename, content)})
        assert response.status_code == 200, response.reason
        return filename, hashlib.sha256(content).hexdigest()

    @staticmethod
    def page(server, project="hello-pkg", index="alice/dev"):
        response = requests.get(f"{server.url}/{index}/+simple/{project}/", headers=PAGE, timeout=30)
        return response.status_code, (response.json() if response.status_code == 200 else None)


@pytest.fixture
def cluster(tmp_path):
    started = Cluster(tmp_path)
    yield started
    started.stop_all()


@pytest.fixture
def primary(cluster):
    """A primary with alice/dev."""
    server = cluster.primary()
    cluster.setup_index(server)
    return server
