"""The servers under test: how to initialise, fill and launch each one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from envsetup import BENCH_DIR, log
from fixtures import INDEX, USER, ReleaseFile
from httpfill import fill_over_http
from servers import HOST, ServerProcess, free_port


class Target:
    """A server kind plus its own serverdir inside the run's work directory."""

    kind = "?"

    def __init__(self, label: str, workdir: Path):
        self.label = label
        self.workdir = workdir / label
        self.serverdir = self.workdir / "serverdir"
        self.log_path = self.workdir / "server.log"
        self.fill_info: dict[str, float] = {}
        # --pin: CPUs for the load servers, and for every other start (None: inherit)
        self.cpus: frozenset[int] | None = None
        self.free_cpus: frozenset[int] | None = None

    def command(self, port: int) -> list[str]:
        raise NotImplementedError

    def prepare(self, releases: list[ReleaseFile]) -> None:
        """Initialise the serverdir and load the test data into it."""
        raise NotImplementedError

    def process(self, pinned: bool = False) -> ServerProcess:
        """A new (not yet started) server process on a fresh free port.

        `pinned` servers run on `self.cpus` (the load scenarios with --pin).
        """
        port = free_port()
        return ServerProcess(self.label, self.command(port), port, self.log_path,
                             cpus=self.cpus if pinned else self.free_cpus)

    def _fill_via_running_server(self, releases: list[ReleaseFile]) -> None:
        server = self.process()
        server.start()
        try:
            server.wait_ready()
            rate = fill_over_http(server.base_url, releases)
            if releases:
                self.fill_info["uploads_per_s"] = rate
                log(f"{self.label}: uploaded {len(releases)} files over HTTP, {rate:.0f}/s")
            else:
                log(f"{self.label}: created {USER} and {USER}/{INDEX} over HTTP")
        finally:
            server.stop()


class DevpiTarget(Target):
    """devpi-server from the benchmark's own virtualenv."""

    kind = "devpi"

    def __init__(self, label: str, workdir: Path, bindir: Path, keyfs_cache_size: int = 0):
        super().__init__(label, workdir)
        self.bindir = bindir
        self.keyfs_cache_size = keyfs_cache_size  # 0: devpi's default (10,000 entries)

    def command(self, port: int) -> list[str]:
        argv = [str(self.bindir / "devpi-server"), "--serverdir", str(self.serverdir),
                "--host", HOST, "--port", str(port)]
        if self.keyfs_cache_size:
            argv += ["--keyfs-cache-size", str(self.keyfs_cache_size)]
        return argv

    def prepare(self, releases: list[ReleaseFile]) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(self.bindir / "devpi-init"), "--serverdir", str(self.serverdir),
             "--no-root-pypi"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._fill_via_running_server(releases)


class SatchelTarget(Target):
    """satchel, installed in the interpreter that runs the benchmark."""

    kind = "satchel"

    def __init__(self, label: str, workdir: Path, fill_mode: str = "http"):
        super().__init__(label, workdir)
        self.fill_mode = fill_mode

    def command(self, port: int) -> list[str]:
        script = Path(sys.executable).parent / "satchel"
        launcher = [str(script)] if script.exists() else [sys.executable, "-m", "satchel"]
        # --no-root-pypi: like devpi-init --no-root-pypi, no mirror of the real upstream
        return launcher + ["serve", "--serverdir", str(self.serverdir),
                           "--host", HOST, "--port", str(port), "--no-root-pypi"]

    def prepare(self, releases: list[ReleaseFile]) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.fill_mode == "http":
            self.fill_http(releases)
        else:
            self.fill_model(releases)

    def fill_model(self, releases: list[ReleaseFile]) -> None:
        """Fill through satchel's Python model API in a subprocess (server not running)."""
        subprocess.run(
            [sys.executable, str(BENCH_DIR / "satchel_fill.py"),
             "--serverdir", str(self.serverdir), "--count", str(len(releases))],
            check=True)
        log(f"{self.label}: filled {len(releases)} files through the model API")

    def fill_http(self, releases: list[ReleaseFile]) -> None:
        """Start satchel (``serve`` initialises an empty serverdir) and upload like devpi (the default)."""
        self._fill_via_running_server(releases)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
