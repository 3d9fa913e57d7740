"""Progress reporting for long work, on stderr (stdout may carry a protocol)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

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
        if done < total and now - self._last.get(task, 0.0) < self._interval:
            return
        self._last[task] = now
        elapsed = now - start
        eta = f", ~{elapsed / done * (total - done):.0f}s left" if 0 < done < total else ""
        print(
            f"[line-mcp] {task}: {done}/{total} ({elapsed:.0f}s{eta})", file=sys.stderr, flush=True
        )
        if done >= total:
            self._start.pop(task, None)
