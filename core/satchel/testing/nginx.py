"""nginx in front of satchel for tests: a private prefix around a site ``gen-config`` wrote, run in the
foreground as this user, on 127.0.0.1. ``NGINX`` is None when nginx is not installed."""

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import requests

from satchel.testing.server import stop_process

NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None)
MISSING = "nginx is not installed (apt-get install -y nginx-light; CI installs it)"


def nginx_prefix(directory: Path, site: Path, replace: dict[str, str] | None = None) -> Path:
    """A private nginx prefix around the generated site: temp paths, no system directories, this user."""
    prefix = directory / "nginx"
    (prefix / "cache").mkdir(parents=True)
    text = site.read_text().replace("/var/cache/", f"{prefix}/cache/")
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    (prefix / "site.conf").write_text(text)
    # as root, nginx would run its workers as nobody; the test's files belong to this user
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp_paths = "".join(f"    {kind}_temp_path {prefix}/{kind};\n"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (prefix / "nginx.conf").write_text(
        f"{user}pid {prefix}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n{temp_paths}"
        f"    access_log off;\n    include {prefix}/site.conf;\n}}\n")
    return prefix


def nginx_test(prefix: Path) -> subprocess.CompletedProcess:
    """``nginx -t`` of the prefix's configuration."""
    return subprocess.run([NGINX, "-t", "-p", str(prefix), "-e", "stderr", "-c", str(prefix / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)


class NginxProcess:
    """nginx of ``prefix`` in the foreground; ``start()`` waits until it answers on ``port``."""

    def __init__(self, prefix: Path, port: int):
        self.prefix, self.port = prefix, port
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 15) -> "NginxProcess":
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.prefix), "-e", "stderr", "-c", str(self.prefix / "nginx.conf"),
             "-g", "daemon off;"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stdout.read().decode(errors='replace')}")
            try:
                requests.get(f"http://127.0.0.1:{self.port}/", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start listening")

    def stop(self) -> None:
        stop_process(self.process)
