"""Where the seconds of a piece of work went (loading, drawing, the target, the LLM...).

A :class:`Stopwatch` is handed to the engine's calls by whoever wants the
timing: the loop gives each step its own, so a step's ``seconds`` are that
step's alone even when other runs work in parallel threads, and a stopwatch
built with a ``parent`` also adds every lap to it (a whole command's totals).

Example:
    >>> total = Stopwatch()
    >>> step = Stopwatch(parent=total)
    >>> step.add("llm", 1.5); step.add("llm", 0.5); step.add("images", 2.0)
    >>> step.totals(), total.totals()["llm"]
    ({'llm': 2.0, 'images': 2.0}, 2.0)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext


class Stopwatch:
    """Seconds per named part, safe to share between threads.

    Args:
        parent: A stopwatch that also receives every lap (None: none).
    """

    def __init__(self, parent: Stopwatch | None = None) -> None:
        self._seconds: dict[str, float] = {}
        self._parent = parent
        self._lock = threading.Lock()

    def add(self, part: str, seconds: float) -> None:
        """Count ``seconds`` under ``part`` (and in the parent)."""
        with self._lock:
            self._seconds[part] = self._seconds.get(part, 0.0) + seconds
        if self._parent is not None:
            self._parent.add(part, seconds)

    @contextmanager
    def timed(self, part: str) -> Iterator[None]:
        """Time the ``with`` block under ``part``, also when it raises."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(part, time.perf_counter() - start)

    def totals(self) -> dict[str, float]:
        """Part -> seconds, the parts that took time, in first-use order."""
        with self._lock:
            return {part: s for part, s in self._seconds.items() if s > 0}


def timed(clock: Stopwatch | None, part: str) -> AbstractContextManager[None]:
    """``clock.timed(part)``, or a block that times nothing when ``clock`` is None."""
    return clock.timed(part) if clock is not None else nullcontext()
