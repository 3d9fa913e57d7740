"""Progress reporting for long work, on stderr (stdout may carry a protocol).

Every long phase (the vocabulary pass, drawing, target passes, the neurons of
a run, Ray shards) reports through one :data:`ProgressCallback`:
``progress(task, done, total)``. :func:`stderr_progress` picks how it shows:

- stderr is a terminal: one tqdm bar per task, with rate and ETA;
- stderr is not a terminal (a log file, a pipe, a test): a plain
  ``[line-mcp] task: done/total (12s, ~30s left)`` line at most every 2 s per
  task, so logs stay readable and nothing redraws;
- ``quiet``: nothing.

Example:
    >>> progress = stderr_progress(quiet=True)
    >>> progress("vocabulary drawn", 3, 10)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

#: ``progress(task, done, total)``: called as work advances; ``done == total`` ends a task.
ProgressCallback = Callable[[str, int, int], None]


def no_progress(task: str, done: int, total: int) -> None:
    """A progress callback that reports nothing."""


class StderrProgress:
    """Prints ``task: done/total`` lines to stderr, at most every ``interval`` seconds per task."""

    def __init__(self, interval: float = 2.0) -> None:
        self._interval = interval
        self._last: dict[str, float] = {}
        self._start: dict[str, float] = {}

    def __call__(self, task: str, done: int, total: int) -> None:
        now = time.monotonic()
        start = self._start.setdefault(task, now)
        # A task's first line always prints (the monotonic clock may start near 0 at boot).
        last = self._last.get(task)
        if done < total and last is not None and now - last < self._interval:
            return
        self._last[task] = now
        elapsed = now - start
        eta = f", ~{elapsed / done * (total - done):.0f}s left" if 0 < done < total else ""
        print(
            f"[line-mcp] {task}: {done}/{total} ({elapsed:.0f}s{eta})", file=sys.stderr, flush=True
        )
        if done >= total:
            self._start.pop(task, None)


class BarProgress:
    """One tqdm bar per task on stderr (rate and ETA); a task's bar closes at ``done == total``.

    A task reported again with another total starts a new bar; a bar redraws at most
    every ``mininterval`` seconds.
    """

    def __init__(self, mininterval: float = 0.5) -> None:
        self._bars: dict[str, Any] = {}
        self._mininterval = mininterval

    def __call__(self, task: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self._bars.get(task)
        if bar is not None and bar.total != total:
            bar.close()
            bar = None
        if bar is None:
            bar = tqdm(
                total=total,
                desc=f"[line-mcp] {task}",
                file=sys.stderr,
                leave=False,
                mininterval=self._mininterval,
            )
            self._bars[task] = bar
        bar.update(max(0, done - bar.n))
        if done >= total:
            bar.close()
            self._bars.pop(task, None)


def stderr_progress(quiet: bool = False) -> ProgressCallback:
    """The progress display of a command: tqdm bars on a terminal, lines otherwise.

    Args:
        quiet: Report nothing (``--quiet``).
    """
    if quiet:
        return no_progress
    if sys.stderr.isatty():
        return BarProgress()
    return StderrProgress()


def announce_one_time_step(
    what: str, why: str, estimate_s: float | None = None, basis: str = ""
) -> str:
    """Say on stderr that a long one-time step starts, why, and about how long it takes.

    Args:
        what: The step, e.g. "scoring the 648 vocabulary labels of layer avgpool".
        why: Why it runs now and what it buys, e.g. "the initial scoreboards; cached".
        estimate_s: The expected seconds (None: not known yet).
        basis: What the estimate rests on, e.g. "11.6 ms per image measured on 32 labels".

    Returns:
        The line printed.

    Example:
        >>> announce_one_time_step("scoring 10 labels", "a test", 90.0, "a guess")
        '[line-mcp] one-time step: scoring 10 labels (a test); about 2 min (a guess)'
    """
    if estimate_s is None:
        how_long = "estimating how long from the first labels"
    elif estimate_s < 90:
        how_long = f"about {estimate_s:.0f} s"
    else:
        how_long = f"about {estimate_s / 60:.0f} min"
    line = f"[line-mcp] one-time step: {what} ({why}); {how_long}"
    if basis:
        line += f" ({basis})"
    print(line, file=sys.stderr, flush=True)
    return line
