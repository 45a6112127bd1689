"""Uploads survive crashes and concurrency: kill -9 during uploads, 8 parallel clients."""

import base64
import hashlib
import os
import signal
import threading
import time

import pytest
import requests

from satchel.testing.fixtures import make_wheel
from satchel.testing.server import ServerProcess

pytestmark = pytest.mark.slow


def upload(url, auth, project, version, timeout=30):
    filename, content = make_wheel(project, version, extra="#" + "x" * 2000)
    response = requests.post(
        url, auth=auth, timeout=timeout,
        data={":action": "file_upload", "name": project, "version": version, "protocol_version": "1"},
        files={"content": (filename, content)})
    return filename, hashlib.sha256(content).hexdigest(), response


def prepare(server):
    session = requests.Session()
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    assert session.put(server.url + "/alice", json={"password": "pw"}, headers=headers).status_code == 201
    token = session.post(server.url + "/+login", json={"user": "alice", "password": "pw"},
                         headers=headers).json()["result"]["password"]
    auth_headers = {**headers, "X-Devpi-Auth": base64.b64encode(f"alice:{token}".encode()).decode()}
    assert session.put(server.url + "/alice/dev", json={}, headers=auth_headers).status_code == 200
    return server.url + "/alice/dev/", ("alice", "pw")


def stored_files(server):
    page = requests.get(server.url + "/alice/dev/+simple/crashy/",
                        headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=10)
    if page.status_code == 404:
        return {}
    return {entry["filename"]: entry for entry in page.json()["files"]}


def test_kill_9_during_uploads_loses_no_acknowledged_upload(tmp_path):
    server = ServerProcess(tmp_path / "server").start()
    try:
        url, auth = prepare(server)
        acknowledged: dict[str, str] = {}
        attempted: dict[str, str] = {}
        lock = threading.Lock()

        def worker(offset):
            for number in range(offset, 20, 4):
                try:
                    filename, digest, response = upload(url, auth, "crashy", f"1.{number}", timeout=10)
                except requests.RequestException:
                    continue
                with lock:
                    attempted[filename] = digest
                    if response.status_code == 200:
                        acknowledged[filename] = digest

        threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        os.kill(server.process.pid, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=60)
        server.process.wait(timeout=10)
    finally:
        server.stop()
    restarted = ServerProcess(tmp_path / "server").start()
    try:
        files = stored_files(restarted)
        for filename, digest in acknowledged.items():
            assert filename in files, f"acknowledged upload {filename} lost"
            assert files[filename]["hashes"]["sha256"] == digest
        for filename, entry in files.items():
            # everything visible is complete: the bytes are there and hash to the recorded value
            response = requests.get(restarted.url + "/alice/dev/+simple/crashy/" + entry["url"], timeout=10)
            assert response.status_code == 200
            assert hashlib.sha256(response.content).hexdigest() == entry["hashes"]["sha256"]
        # the server keeps working after the crash
        _, _, response = upload(restarted.url + "/alice/dev/", ("alice", "pw"), "crashy", "9.9")
        assert response.status_code == 200
    finally:
        restarted.stop()


def test_concurrent_uploads_lose_nothing(tmp_path):
    with ServerProcess(tmp_path / "server") as server:
        url, auth = prepare(server)
        results = []
        lock = threading.Lock()

        def worker(client):
            for number in range(10):
                filename, digest, response = upload(url, auth, "crashy", f"{client}.{number}")
                with lock:
                    results.append((filename, digest, response.status_code))

        threads = [threading.Thread(target=worker, args=(client,)) for client in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(results) == 80 and {status for _, _, status in results} == {200}
        files = stored_files(server)
        assert {filename: files[filename]["hashes"]["sha256"] for filename in files} == \
            {filename: digest for filename, digest, _ in results}
