"""Many open keep-alive clients do not lock a new client out (waitress' connection limit)."""

import http.client
import resource
import subprocess
import sys

import pytest

from satchel.connections import RESERVED_FILES

pytestmark = pytest.mark.slow
BUSY = 200


def keep_alive(port: int) -> http.client.HTTPConnection:
    """A client that asked once and keeps its connection open, as installers and CI runners do."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/+api", headers={"Accept": "application/json"})
    response = connection.getresponse()
    response.read()
    assert response.status == 200
    return connection


def test_a_new_client_is_answered_while_200_others_hold_connections(live_server):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < BUSY + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    server = live_server("--no-root-pypi")
    busy = []
    try:
        busy = [keep_alive(server.port) for _ in range(BUSY)]  # beyond waitress' default limit of 100
        # a server that stopped accepting leaves this one in the backlog: the timeout fails the test
        newcomer = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        newcomer.request("GET", "/+api", headers={"Accept": "application/json"})
        assert newcomer.getresponse().status == 200
        newcomer.close()
        for connection in busy[:5]:  # and the old ones still work
            connection.request("GET", "/+api", headers={"Accept": "application/json"})
            response = connection.getresponse()
            response.read()
            assert response.status == 200
    finally:
        for connection in busy:
            connection.close()


def test_a_limit_the_hard_open_files_limit_cannot_hold_is_refused(tmp_path):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard limit of open files here")
    limit = hard  # plus the reserve, more than the process may ever open
    result = subprocess.run([sys.executable, "-m", "satchel", "serve", "--serverdir", str(tmp_path / "s"),
                             "--no-root-pypi", "--port", "0", "--connection-limit", str(limit)],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    assert f"--connection-limit {limit} needs {limit + RESERVED_FILES} open files" in result.stderr
