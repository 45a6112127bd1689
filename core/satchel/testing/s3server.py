"""moto's standalone S3-compatible server as a child process on 127.0.0.1, for tests."""

import subprocess
import sys
import time

import requests

from satchel.testing.server import free_port


class Unavailable(Exception):
    """moto's server cannot be started here; the message says why."""


class MotoServer:
    """``start()``, ``stop()``; ``url`` is the endpoint. Stopping it mid-upload is how tests make a PUT fail."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "MotoServer":
        try:
            import moto.server  # noqa: F401
        except ImportError as exc:
            raise Unavailable(f"moto[server] is not installed ({exc})") from None
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                                         str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Unavailable(f"moto_server exited with {self.process.returncode}")
            try:
                requests.get(self.url + "/moto-api/", timeout=1)
                return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise Unavailable(f"moto_server did not answer within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
