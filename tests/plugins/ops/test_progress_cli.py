"""Export, import and fsck as commands: a tqdm bar on a real terminal, log lines on a pipe."""

import fcntl
import os
import pty
import struct
import termios
import subprocess
import sys

import pytest

from satchel.app import create_app
from satchel.testing.fixtures import Filler

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


@pytest.fixture(scope="module")
def serverdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("progress") / "server"
    app = create_app({"serverdir": str(path), "storage": "sqlite"})
    try:
        Filler(app).index("root", "dev")
        for version in ("1.0", "1.1", "1.2"):
            Filler(app).file("root/dev", "bar-pkg", version)
    finally:
        app.close()
    return path


def on_terminal(*args, columns=100) -> tuple[int, str]:
    """Run ``satchel *args`` with stderr on a pseudo-terminal ``columns`` wide (0: never sized);
    exit code and what the terminal showed."""
    controller, terminal = pty.openpty()
    if columns:
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "satchel", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    return proc.wait(timeout=120), shown.decode("utf-8", "replace")


def on_a_pipe(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "satchel", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def bar_lines(shown: str) -> list[str]:
    """The last drawing of each bar: tqdm redraws a bar in place after a carriage return."""
    return [line.rsplit("\r", 1)[-1] for line in shown.replace("\r\n", "\n").split("\n") if "|" in line]


@pytest.mark.parametrize("columns", [100, 0], ids=["sized terminal", "unsized terminal"])
def test_bar_on_a_terminal(serverdir, tmp_path, columns):
    code, shown = on_terminal("export", str(tmp_path / "dump"), "--serverdir", str(serverdir), columns=columns)
    assert code == 0, shown
    assert "INFO satchel.progress" not in shown
    bars = bar_lines(shown)
    assert any(bar.startswith("exporting files: 100%|") and "3/3" in bar for bar in bars), shown
    assert all(len(bar) <= (columns or 80) for bar in bars), bars
    code, shown = on_terminal("import", str(tmp_path / "dump"), "--serverdir", str(tmp_path / "copy"),
                              columns=columns)
    assert code == 0, shown
    assert any(bar.startswith("checking and copying files: 100%|") and "3/3" in bar
               for bar in bar_lines(shown)), shown
    code, shown = on_terminal("fsck", "--serverdir", str(tmp_path / "copy"), columns=columns)
    assert code == 0, shown
    assert any(bar.startswith("checking files: 100%|") and "3/3" in bar for bar in bar_lines(shown)), shown


def test_log_lines_on_a_pipe(serverdir, tmp_path):
    result = on_a_pipe("export", str(tmp_path / "dump"), "--serverdir", str(serverdir))
    assert result.returncode == 0, result.stderr
    assert "exporting files: done, 3 files" in result.stderr
    assert "|" not in result.stderr and "\r" not in result.stderr
    result = on_a_pipe("fsck", "--serverdir", str(serverdir))
    assert result.returncode == 0, result.stderr
    assert "done, 3 files" in result.stderr and "\r" not in result.stderr
