"""``satchel serve --requests-only`` workers beside a main process on one storage: the embedded
SQLite + files serverdir, and PostgreSQL. Real processes on 127.0.0.1, real clients."""

import base64
import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from satchel.testing.fake_upstream import FakeUpstream
from satchel.testing.fixtures import make_wheel
from satchel.testing.server import ServerProcess

pytestmark = pytest.mark.slow
JSON = {"Accept": "application/json", "Content-Type": "application/json"}
SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


FOLLOWING = "following commits of other processes"  # logged when a PostgreSQL process relies on the push


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_env(request) -> dict:
    """The environment choosing the storage: the default serverdir, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return {}
    return {"SATCHEL_STORAGE": "postgresql", "SATCHEL_POSTGRESQL_DSN": request.getfixturevalue("postgresql_dsn"),
            "SATCHEL_POSTGRESQL_SCHEMA": "w_" + uuid.uuid4().hex[:10]}


@pytest.fixture
def cluster(storage_env, tmp_path):
    """``[main, worker, worker]`` on one storage; stopped after the test.

    On PostgreSQL every process follows the others' commits by the push (LISTEN/NOTIFY) before the
    test starts, so what the tests see there comes by the push, with no per-request check.
    """
    serverdir = tmp_path / "server"
    processes = [ServerProcess(serverdir, env=storage_env)]
    try:
        processes[0].start()
        for _ in range(2):
            processes.append(ServerProcess(serverdir, args=["--requests-only"], env=storage_env).start())
        if storage_env:
            for process in processes:
                wait_until(lambda: FOLLOWING in process.log(), f"{process.url} follows commits")
        yield processes
    finally:
        for process in processes:
            process.stop()


def wait_until(condition, what: str, timeout: float = 60) -> None:
    """Wait for something a server process does (the timeout only stops a hang; nothing is measured)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not seen within {timeout}s: {what}"
        time.sleep(0.05)


def setup_index(url: str) -> requests.Session:
    assert requests.put(f"{url}/alice", json={"password": "secret"}, headers=JSON, timeout=30).status_code == 201
    session = alice_session()
    assert session.put(f"{url}/alice/dev", json={}, headers=JSON, timeout=30).status_code == 200
    return session


def alice_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.auth = ("alice", "secret")
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


def pip_install(url: str, target: Path) -> list[str]:
    """pip installs hello-pkg from alice/dev at ``url`` into ``target``: the dist-info directories there."""
    result = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir",
                             "--isolated", "install", "--index-url", url + "/alice/dev/+simple/",
                             "--target", str(target), "--no-deps", "hello-pkg"],
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    return [path.name for path in target.glob("*.dist-info")]


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
    assert pip_install(second.url, tmp_path / "t") == ["hello_pkg-1.0.dist-info"]
    upload(session, second.url, "hello-pkg", "1.1")  # a page cached in the first worker is not served stale
    assert simple_files(first.url, "hello-pkg") == ["hello_pkg-1.0-py3-none-any.whl",
                                                    "hello_pkg-1.1-py3-none-any.whl"]


def test_concurrent_uploaders_over_all_processes_lose_nothing(cluster, storage_env, tmp_path):
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
    # every file is stored whole (fsck checks each referenced file's sha256), none twice, none left over
    result = fsck(tmp_path / "server", storage_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["checked 8 file references"]


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


def fsck(serverdir: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "satchel", "fsck", "--serverdir", str(serverdir)],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


def test_worker_killed_mid_upload_leaves_nothing_visible(cluster, storage_env, tmp_path):
    """A slow client sends a large upload to a worker, which is killed (SIGKILL) part way: no record, no
    file, nothing for fsck but (after its age) leftover temporary files."""
    main, doomed, other = cluster
    setup_index(main.url)
    filename, wheel = make_wheel("cut-pkg", "1.0", extra="# " + "x" * 4_000_000 + "\n")
    boundary = "cutboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\":action\"\r\n\r\nfile_upload\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ncut-pkg\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"version\"\r\n\r\n1.0\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + wheel + f"\r\n--{boundary}--\r\n".encode()
    head = (f"POST /alice/dev/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Authorization: Basic {base64.b64encode(b'alice:secret').decode()}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", doomed.port), timeout=30) as client:
        client.sendall(head + body[:len(body) // 2])  # half the file, then the client stalls
        wait_until(lambda: doomed.process.poll() is None, "the worker runs")
        doomed.process.kill()
        doomed.process.wait(30)
        with pytest.raises(OSError):
            for _ in range(100):  # the connection is gone: sending the rest fails
                client.sendall(body[len(body) // 2:])
                time.sleep(0.01)
    for process in (main, other):
        assert requests.get(f"{process.url}/alice/dev/+simple/cut-pkg/", timeout=30).status_code == 404
        listing = requests.get(f"{process.url}/alice/dev", headers=JSON, timeout=30).json()["result"]
        assert "cut-pkg" not in listing["projects"]
    result = fsck(tmp_path / "server", storage_env)
    assert result.returncode == 0, result.stdout + result.stderr
    # no file, no orphan; a spool file the kill left would be reported (LEFTOVER) only after fsck's age
    assert result.stdout.splitlines() == ["checked 0 file references"]
    upload(alice_session(), other.url, "cut-pkg", "1.0")  # the same upload through another process works
    assert simple_files(main.url, "cut-pkg") == ["cut_pkg-1.0-py3-none-any.whl"]



def children(pid: int) -> set[int]:
    """The running child processes of ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def answered_while_stopped(url: str, stopped: list[int]) -> int:
    """The status of ``/+api`` asked while ``stopped`` processes are frozen (SIGSTOP): another process answered."""
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        return requests.get(url + "/+api", timeout=30).status_code
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)


@pytest.fixture
def with_workers(tmp_path):
    """``start(env) -> ServerProcess`` of ``serve --workers 2``; it and every worker it had end after the test."""
    started = []

    def start(env=None) -> ServerProcess:
        started.append(ServerProcess(tmp_path / "server", args=["--workers", "2"], env=env))
        return started[-1].start()

    yield start
    for server in started:
        seen = children(server.process.pid) if server.process else set()
        server.stop()
        for pid in seen:
            if alive(pid):  # only when a test failed before they stopped
                os.kill(pid, signal.SIGKILL)


def test_serve_with_workers_supervises_them_on_one_socket(with_workers, storage_env, tmp_path):
    server = with_workers(storage_env)
    main = server.process.pid
    wait_until(lambda: len(children(main)) == 2 and server.log().count("satchel serving") == 3,
               "two workers serving")
    first, second = sorted(children(main))
    # the workers accept on the main process's socket: with the others frozen, each answers alone
    assert answered_while_stopped(server.url, [main, second]) == 200
    assert answered_while_stopped(server.url, [main, first]) == 200
    session = setup_index(server.url)
    upload(session, server.url, "hello-pkg", "1.0")
    assert pip_install(server.url, tmp_path / "t") == ["hello_pkg-1.0.dist-info"]
    os.kill(first, signal.SIGKILL)  # a dead worker is replaced, and the new one serves
    wait_until(lambda: len(children(main) - {first}) == 2 and server.log().count("satchel serving") == 4,
               "the killed worker replaced")
    [replacement] = children(main) - {first, second}
    assert answered_while_stopped(server.url, [main, second]) == 200
    assert "request-only worker 1 (pid %d) exited with -9" % first in server.log()
    assert simple_files(server.url, "hello-pkg") == ["hello_pkg-1.0-py3-none-any.whl"]
    server.process.send_signal(signal.SIGTERM)  # stops everything, no orphans
    assert server.process.wait(60) == 0
    assert not alive(second) and not alive(replacement)


def test_workers_stop_when_the_main_process_is_killed(with_workers):
    server = with_workers()
    main = server.process.pid
    wait_until(lambda: len(children(main)) == 2, "two workers")
    workers = children(main)
    server.process.kill()
    server.process.wait(30)
    wait_until(lambda: not any(alive(pid) for pid in workers), "the orphaned workers stop")
    assert "the main process is gone; stopping" in server.log()
