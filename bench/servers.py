"""Starting, probing and stopping the servers under test."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from procstat import rss_mib

HOST = "127.0.0.1"


def free_port() -> int:
    """Ask the kernel for a currently unused TCP port on the loopback address."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def http_status(url: str, timeout: float = 2.0, headers: dict | None = None) -> int | None:
    """Return the HTTP status of a GET, or None if the server is not answering."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError):
        return None


def affinity_setter(cpus: frozenset[int] | None):
    """A preexec_fn pinning the child to `cpus` (None: no pinning)."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


class ServerError(RuntimeError):
    pass


@dataclass
class ServerProcess:
    """One server process, started in its own session so it can be stopped whole."""

    label: str
    argv: list[str]
    port: int
    log_path: Path
    env: dict[str, str] | None = None
    cpus: frozenset[int] | None = None  # CPU affinity for the server and its threads
    proc: subprocess.Popen | None = field(default=None, repr=False)
    spawned_at: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        """Spawn the server; output goes to log_path."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as logf:
            self.spawned_at = time.monotonic()
            self.proc = subprocess.Popen(
                self.argv, stdout=logf, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self.env, start_new_session=True,
                preexec_fn=affinity_setter(self.cpus),
            )

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Poll GET /+api until it answers 200; return seconds since spawn."""
        deadline = self.spawned_at + timeout
        url = self.base_url + "/+api"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(
                    f"{self.label} exited with {self.proc.returncode} before answering; "
                    f"log tail:\n{self.log_tail()}")
            if http_status(url, timeout=1.0, headers={"Accept": "application/json"}) == 200:
                return time.monotonic() - self.spawned_at
            time.sleep(0.02)
        raise ServerError(f"{self.label} did not answer 200 on {url} within {timeout:.0f}s; "
                          f"log tail:\n{self.log_tail()}")

    def rss_mib(self) -> float:
        return rss_mib(self.pid)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server's process group: SIGTERM, then SIGKILL if needed."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(timeout)

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)  # group id == our child's pid (new session)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
