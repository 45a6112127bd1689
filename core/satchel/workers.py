"""``satchel serve --workers N``: request-only copies of this process on its listening sockets.

The main process binds once and starts N children (``satchel serve --requests-only`` with the same
command line) that inherit the listening sockets, so every process accepts on the same port and
the kernel hands each connection to one of them. A child that dies is started again; SIGTERM or
Ctrl-C of the main process stops them all. A child also stops by itself when the main process is
gone (even killed with SIGKILL): it holds the read end of a pipe whose only writer is the main
process, and end-of-file there means no parent.
"""

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)

SOCKETS_ENV = "SATCHEL_INHERITED_SOCKETS"  # "fd,fd,...": the main process's listening sockets
PARENT_ENV = "SATCHEL_INHERITED_PARENT_PIPE"  # fd: end-of-file when the main process is gone
CHECK_SECONDS = 0.5  # how often the main process looks for dead workers
QUICK_DEATH_SECONDS = 10  # a worker dying sooner after its start is restarted after a growing delay
MAX_RESTART_DELAY = 30
STOP_SECONDS = 15  # a worker still running this long after SIGTERM is killed


def worker_command(argv) -> list[str]:
    """This process's command line for a worker: ``--workers`` dropped, ``--requests-only`` added."""
    args, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            args.append(arg)
    return [sys.executable, "-m", "satchel", *args, "--requests-only", "--workers", "0"]


class Workers:
    """Starts, restarts and stops the request-only children of the main process."""

    def __init__(self, count: int, argv, sockets: list[socket.socket]):
        self.command = worker_command(argv)
        self.count = count
        self.fds = [sock.fileno() for sock in sockets]
        self.processes: list[subprocess.Popen | None] = [None] * count
        self._started_at = [0.0] * count
        self._delays = [0.0] * count
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pipe_read, self._pipe_write = os.pipe()  # neither inheritable: pass_fds shares the read end

    def start(self) -> None:
        for slot in range(self.count):
            self._spawn(slot)
        self._thread = threading.Thread(target=self._supervise, name="satchel-workers", daemon=True)
        self._thread.start()

    def _spawn(self, slot: int) -> None:
        env = {**os.environ, SOCKETS_ENV: ",".join(map(str, self.fds)), PARENT_ENV: str(self._pipe_read)}
        self.processes[slot] = subprocess.Popen(self.command, env=env, stdin=subprocess.DEVNULL,
                                                pass_fds=(*self.fds, self._pipe_read))
        self._started_at[slot] = time.monotonic()
        log.info("started request-only worker %d (pid %d)", slot + 1, self.processes[slot].pid)

    def _supervise(self) -> None:
        while not self._stopping.wait(CHECK_SECONDS):
            for slot, process in enumerate(self.processes):
                if process is None or process.poll() is None:
                    continue
                quick = time.monotonic() - self._started_at[slot] < QUICK_DEATH_SECONDS
                # a worker that keeps dying at start (bad option, database down) is not restarted in a tight loop
                delay = self._delays[slot] = min(MAX_RESTART_DELAY, self._delays[slot] * 2 or 1) if quick else 0
                log.warning("request-only worker %d (pid %d) exited with %s; starting it again%s", slot + 1,
                            process.pid, process.returncode, f" in {delay:.0f}s" if delay else "")
                if self._stopping.wait(delay):
                    return
                self._spawn(slot)

    def stop(self) -> None:
        """SIGTERM every worker, wait for them (SIGKILL after ``STOP_SECONDS``)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        running = [process for process in self.processes if process is not None and process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("request-only worker (pid %d) did not stop; killing it", process.pid)
                process.kill()
                process.wait()
        os.close(self._pipe_read)
        os.close(self._pipe_write)


def inherited_sockets() -> list[socket.socket] | None:
    """In a worker: the main process's listening sockets (None in any other process)."""
    fds = os.environ.pop(SOCKETS_ENV, None)
    if not fds:
        return None
    return [socket.socket(fileno=int(fd)) for fd in fds.split(",")]


def stop_with_parent() -> None:
    """In a worker: SIGTERM to itself once the main process is gone."""
    fd = os.environ.pop(PARENT_ENV, None)
    if fd is None:
        return

    def watch():
        while os.read(int(fd), 1):  # only end-of-file comes: the main process never writes
            pass
        log.warning("the main process is gone; stopping")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="satchel-parent", daemon=True).start()
