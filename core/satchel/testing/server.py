"""Run ``satchel serve`` as a real process on 127.0.0.1 for end-to-end tests and benchmarks."""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from waitress import wasyncore

from satchel.serving import create_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM a process the tests started, SIGKILL it after ``timeout`` seconds; wait for it either way."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class ServerProcess:
    """A ``satchel serve`` child process; ``stop()`` always ends it."""

    def __init__(self, serverdir: Path, args=(), env=None, port: int | None = None, stderr=None):
        """``stderr``: where the server's stderr goes (a file descriptor), instead of its log file."""
        self.serverdir = Path(serverdir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = list(args)
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None
        self.logfile = self.serverdir.parent / f"satchel-{self.port}.log"
        self.stderr = stderr

    def start(self, timeout: float = 30) -> "ServerProcess":
        command = [sys.executable, "-m", "satchel", "serve", "--serverdir", str(self.serverdir),
                   "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        self._log = open(self.logfile, "ab")
        self.process = subprocess.Popen(command, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT if self.stderr is None else self.stderr,
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"satchel exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/+api", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"satchel did not answer within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        stop_process(self.process)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


class ThreadedServer:
    """A WSGI app served by waitress on 127.0.0.1 in a thread of the test (real HTTP, real concurrency).

    ``stop()`` ends the loop from inside its own thread: closing the sockets from outside while it
    waits in ``select`` makes it fail with a bad file descriptor.
    """

    def __init__(self, wsgi, threads: int = 16):
        self.server = create_server(wsgi, threads, host="127.0.0.1", port=0, connection_limit=200)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            wasyncore.loop(timeout=0.05, map=self.server._map, use_poll=True, count=1)
        self.server.task_dispatcher.shutdown(timeout=5)
        wasyncore.close_all(self.server._map)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=15)
