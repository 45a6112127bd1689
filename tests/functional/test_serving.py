"""Under many busy keep-alive clients a new connection is answered first, and the busy ones still are."""

import http.client
import json
import resource
import threading
import time

import pytest

from satchel.testing.server import ThreadedServer

pytestmark = pytest.mark.slow
API = {"Accept": "application/json"}


def wait_for(condition, what: str, timeout: float = 30) -> None:
    """Poll until ``condition()``; a precondition of the test, not a measurement."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


class RecordingApp:
    """Answers every path with itself and records the order of the answers; ``/hold`` waits to be released."""

    def __init__(self):
        self.order: list[str] = []
        self.holding = threading.Event()
        self.release = threading.Event()

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/hold":
            self.holding.set()
            self.release.wait(30)
        else:
            self.order.append(path)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(path)))])
        return [path.encode()]


def ask(connection: http.client.HTTPConnection, path: str) -> str:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.read().decode()


def test_a_new_connection_is_served_before_busy_keep_alive_connections():
    """One thread: while it is held, busy connections and then a newcomer queue a request each."""
    app = RecordingApp()
    server = ThreadedServer(app, threads=1)
    queue = server.server.task_dispatcher.queue
    port = server.server.effective_port
    clients = []
    try:
        busy = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(5)]
        clients += busy
        for number, connection in enumerate(busy):
            for _ in range(4):  # past its first requests: from now on it is a busy connection
                assert ask(connection, f"/warm{number}") == f"/warm{number}"
        holder = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        clients.append(holder)
        holder.request("GET", "/hold")
        wait_for(app.holding.is_set, "the only thread to be held")
        for number, connection in enumerate(busy):
            connection.request("GET", f"/busy{number}")
        wait_for(lambda: len(queue) == len(busy), "the busy requests to be queued")
        newcomer = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        clients.append(newcomer)
        newcomer.request("GET", "/new")
        wait_for(lambda: len(queue) == len(busy) + 1, "the new request to be queued")
        app.release.set()
        assert newcomer.getresponse().read() == b"/new"
        for number, connection in enumerate(busy):
            assert connection.getresponse().read() == f"/busy{number}".encode()
        assert holder.getresponse().read() == b"/hold"
        assert app.order[-(len(busy) + 1):] == ["/new"] + [f"/busy{n}" for n in range(len(busy))]
    finally:
        app.release.set()
        for connection in clients:
            connection.close()
        server.stop()


def test_satchel_serve_answers_new_connections_while_many_keep_alive_clients_are_busy(live_server):
    busy_clients, rounds, newcomers = 100, 15, 10
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * busy_clients + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    server = live_server("--no-root-pypi", "--threads", "4")
    first = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    expected = json.loads(ask(first, "/+api"))
    first.close()
    answers: dict[int, list] = {}
    started = threading.Barrier(busy_clients + 1)

    def keep_asking(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        got = answers.setdefault(number, [])
        try:
            started.wait(60)
            for _ in range(rounds):
                connection.request("GET", "/+api", headers=API)
                response = connection.getresponse()
                got.append((response.status, json.loads(response.read())))
        finally:
            connection.close()

    threads = [threading.Thread(target=keep_asking, args=(n,), daemon=True) for n in range(busy_clients)]
    for thread in threads:
        thread.start()
    started.wait(60)
    fresh = []
    for _ in range(newcomers):  # new connections while the busy ones load the server
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            connection.request("GET", "/+api", headers=API)
            response = connection.getresponse()
            fresh.append((response.status, json.loads(response.read())))
        finally:
            connection.close()
    for thread in threads:
        thread.join(120)
    assert fresh == [(200, expected)] * newcomers
    # no busy client was starved: each got every answer it asked for
    assert sorted(answers) == list(range(busy_clients))
    assert all(got == [(200, expected)] * rounds for got in answers.values())
