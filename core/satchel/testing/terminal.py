"""A pseudo-terminal for a child process's stderr, to test what it shows a person at a terminal."""

import fcntl
import os
import pty
import struct
import subprocess
import termios
import threading
import time


class PseudoTerminal:
    """Give ``terminal`` to a child as its stderr, then call ``attached()``; ``shown`` is what it wrote.

    ``columns=0`` leaves the terminal unsized (0x0), as ``docker exec -t`` or ``script`` can.
    """

    def __init__(self, columns: int = 100, rows: int = 30):
        self.controller, self.terminal = pty.openpty()
        if columns:
            fcntl.ioctl(self.terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self._shown = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)

    def attached(self) -> None:
        """The child holds the terminal now: close our copy so reading ends when the child exits."""
        os.close(self.terminal)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.controller, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            with self._lock:
                self._shown += chunk
        os.close(self.controller)

    @property
    def shown(self) -> str:
        with self._lock:
            return self._shown.decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.shown:
                return True
            time.sleep(0.05)
        return False

    def finished(self, timeout: float = 10) -> str:
        """Everything shown, once the child has exited and closed the terminal."""
        self._reader.join(timeout)
        return self.shown


def run_on_terminal(command: list[str], columns: int = 100, timeout: float = 120) -> tuple[int, str]:
    """Run ``command`` with stderr on a pseudo-terminal: its exit code and what the terminal showed."""
    terminal = PseudoTerminal(columns)
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=terminal.terminal)
    terminal.attached()
    try:
        code = process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return code, terminal.finished()


def bar_lines(shown: str) -> list[str]:
    """The last drawing of each progress bar: tqdm redraws a bar in place after a carriage return."""
    return [line.rsplit("\r", 1)[-1] for line in shown.replace("\r\n", "\n").split("\n") if "|" in line]
