"""Progress for long commands: a bar on a terminal, periodic log lines otherwise."""

import io
import logging

from satchel import progress as progress_module
from satchel.progress import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bar_on_a_terminal():
    stream = Terminal()
    assert list(progress(range(5), total=5, desc="copying", unit="file", stream=stream)) == [0, 1, 2, 3, 4]
    assert "copying" in stream.getvalue() and "5/5" in stream.getvalue()


def test_log_lines_without_a_terminal(caplog, monkeypatch):
    monkeypatch.setattr(progress_module, "LOG_EVERY", 0.0)
    stream = io.StringIO()
    with caplog.at_level(logging.INFO, logger="satchel.progress"):
        assert list(progress(range(3), total=3, desc="checking", unit="file", stream=stream)) == [0, 1, 2]
    assert stream.getvalue() == ""
    assert "checking: 2/3 files" in caplog.text
    assert "checking: done, 3 files" in caplog.text
