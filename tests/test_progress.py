"""Progress on stderr: bars on a terminal, plain lines otherwise, nothing when quiet."""

from __future__ import annotations

import io
import sys

from line_mcp.progress import BarProgress, StderrProgress, no_progress, stderr_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_display_follows_the_terminal_and_quiet(monkeypatch):
    assert stderr_progress(quiet=True) is no_progress
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert isinstance(stderr_progress(), StderrProgress)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert isinstance(stderr_progress(), BarProgress)


def test_a_bar_shows_the_task_its_count_and_closes_at_the_end(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    bars = BarProgress(mininterval=0)
    bars("vocabulary drawn", 3, 10)
    assert "vocabulary drawn" in terminal.getvalue() and "3/10" in terminal.getvalue()
    bars("vocabulary drawn", 10, 10)
    assert "10/10" in terminal.getvalue()
    bars("vocabulary drawn", 1, 4)  # a new task of the same name: a new bar
    assert "1/4" in terminal.getvalue()


def test_lines_are_throttled_but_the_last_one_always_prints(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    lines = StderrProgress(interval=3600)
    for done in range(1, 6):
        lines("neurons", done, 5)
    printed = stream.getvalue().splitlines()
    assert printed[0].startswith("[line-mcp] neurons: 1/5") and printed[-1].startswith(
        "[line-mcp] neurons: 5/5"
    )
    assert len(printed) == 2
