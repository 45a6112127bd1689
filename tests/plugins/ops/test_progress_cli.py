"""Export, import and fsck as commands: a tqdm bar on a real terminal, log lines on a pipe."""

import subprocess
import sys

import pytest

from satchel.app import create_app
from satchel.testing.fixtures import Filler
from satchel.testing.terminal import bar_lines, run_on_terminal


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
    return run_on_terminal([sys.executable, "-m", "satchel", *args], columns=columns)


def on_a_pipe(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "satchel", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


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
