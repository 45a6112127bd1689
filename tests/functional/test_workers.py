"""``satchel serve --requests-only`` workers beside a main process on one storage: the embedded
SQLite + files serverdir, and PostgreSQL. Real processes on 127.0.0.1, real clients."""

import concurrent.futures
import os
import subprocess
import sys
import uuid

import pytest
import requests

from satchel.testing.fake_upstream import FakeUpstream
from satchel.testing.fixtures import make_wheel
from satchel.testing.server import ServerProcess

pytestmark = pytest.mark.slow
JSON = {"Accept": "application/json", "Content-Type": "application/json"}
SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


@pytest.fixture(params=["sqlite", "postgresql"])
def cluster(request, tmp_path):
    """``[main, worker, worker]`` on one storage; stopped after the test."""
    env = {}
    if request.param == "postgresql":
        dsn = request.getfixturevalue("postgresql_dsn")
        env = {"SATCHEL_STORAGE": "postgresql", "SATCHEL_POSTGRESQL_DSN": dsn,
               "SATCHEL_POSTGRESQL_SCHEMA": "w_" + uuid.uuid4().hex[:10]}
    serverdir = tmp_path / "server"
    processes = [ServerProcess(serverdir, env=env)]
    try:
        processes[0].start()
        for _ in range(2):
            processes.append(ServerProcess(serverdir, args=["--requests-only"], env=env).start())
        yield processes
    finally:
        for process in processes:
            process.stop()


def setup_index(url: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    assert session.put(f"{url}/alice", json={"password": "secret"}, headers=JSON, timeout=30).status_code == 201
    session.auth = ("alice", "secret")
    assert session.put(f"{url}/alice/dev", json={}, headers=JSON, timeout=30).status_code == 200
    return session


def upload(session: requests.Session, url: str, project: str, version: str) -> None:
    filename, content = make_wheel(project, version)
    response = session.post(f"{url}/alice/dev/", data={":action": "file_upload", "name": project,
                                                       "version": version},
                            files={"content": (filename, content)}, timeout=60)
    assert response.status_code == 200, response.text


def simple_files(url: str, project: str) -> list[str]:
    response = requests.get(f"{url}/alice/dev/+simple/{project}/", headers=SIMPLE_JSON, timeout=30)
    assert response.status_code == 200, response.text
    return sorted(entry["filename"] for entry in response.json()["files"])


def test_worker_refuses_memory_storage(tmp_path):
    result = subprocess.run([sys.executable, "-m", "satchel", "serve", "--requests-only", "--storage", "memory",
                             "--serverdir", str(tmp_path / "s"), "--port", "0"],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode != 0 and "--requests-only needs a storage several processes share" in result.stderr


def test_upload_through_one_install_through_another(cluster, tmp_path):
    main, first, second = cluster
    session = setup_index(main.url)
    upload(session, first.url, "hello-pkg", "1.0")
    # acknowledged by the first worker: the second and the main process see it at once
    assert simple_files(second.url, "hello-pkg") == simple_files(main.url, "hello-pkg") \
        == ["hello_pkg-1.0-py3-none-any.whl"]
    result = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir",
                             "--isolated", "install", "--index-url", second.url + "/alice/dev/+simple/",
                             "--target", str(tmp_path / "t"), "--no-deps", "hello-pkg"],
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name for p in (tmp_path / "t").glob("*.dist-info")] == ["hello_pkg-1.0.dist-info"]
    upload(session, second.url, "hello-pkg", "1.1")  # a page cached in the first worker is not served stale
    assert simple_files(first.url, "hello-pkg") == ["hello_pkg-1.0-py3-none-any.whl",
                                                    "hello_pkg-1.1-py3-none-any.whl"]


def test_concurrent_uploaders_over_all_processes_lose_nothing(cluster):
    session = setup_index(cluster[0].url)
    versions = [f"1.{number}" for number in range(8)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: upload(session, cluster[item[0] % 3].url, "busy-pkg", item[1]),
                      enumerate(versions)))
    expected = sorted(f"busy_pkg-{version}-py3-none-any.whl" for version in versions)
    for process in cluster:
        assert simple_files(process.url, "busy-pkg") == expected
    serials = {requests.get(p.url + "/alice/dev/+simple/busy-pkg/", timeout=30).headers["X-Devpi-Serial"]
               for p in cluster}
    assert len(serials) == 1


def test_mirror_fetches_once_for_clients_spread_over_processes(cluster):
    main = cluster[0]
    with FakeUpstream() as upstream:
        upstream.add_file("hello-pkg", *make_wheel("hello-pkg", "1.0"))
        upstream.fail("/simple/hello-pkg/", "delay:1")  # every client asks while the first fetch runs
        created = requests.put(f"{main.url}/root/mirror", json={"type": "mirror", "mirror_url": upstream.url},
                               headers=JSON, auth=("root", ""), timeout=30)
        assert created.status_code == 200, created.text

        def get(number):
            url = cluster[number % 3].url + "/root/mirror/+simple/hello-pkg/"
            return requests.get(url, headers=SIMPLE_JSON, timeout=60)

        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(get, range(20)))
        assert [answer.status_code for answer in answers] == [200] * 20, [a.text for a in answers if a.status_code != 200][:2]
        assert {len(answer.json()["files"]) for answer in answers} == {1}
        assert upstream.count("/simple/hello-pkg/") == 1

        file_url = cluster[1].url + "/root/mirror/+simple/hello-pkg/" + answers[0].json()["files"][0]["url"]
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            bodies = list(pool.map(lambda number: requests.get(
                file_url.replace(cluster[1].url, cluster[number % 3].url), timeout=60).content, range(6)))
        assert len(set(bodies)) == 1 and bodies[0].startswith(b"PK")
        assert upstream.count(upstream.file("hello-pkg", "hello_pkg-1.0-py3-none-any.whl").path) == 1
