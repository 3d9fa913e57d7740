"""Locks on work, shared by every process on one workspace.

A :class:`WorkLock` is a file under ``WORKSPACE/jobs/locks/`` held with
``fcntl.flock`` by the process doing the work. The operating system releases it
when that process ends, however it ends, so a lock is never left behind by a
dead server; while it is held, the file names the holder (a job id and a pid).

Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> mine, theirs = WorkLock(folder, "run-3"), WorkLock(folder, "run-3")
    >>> mine.acquire("job-a")
    True
    >>> theirs.acquire("job-b"), theirs.holder().job_id
    (False, 'job-a')
    >>> mine.release(); theirs.holder() is None
    True
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Holder:
    """Who holds a work lock: the job doing the work and its process."""

    job_id: str
    pid: int


class WorkLock:
    """An exclusive, cross-process lock on one piece of work (a run, a vocabulary).

    Args:
        folder: Where lock files live (created on first use).
        key: What the work is; any string (the file name is its hash).
    """

    def __init__(self, folder: str | Path, key: str) -> None:
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        self.key = key
        self.path = Path(folder) / f"{digest}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self, job_id: str, wait_s: float = 0.5) -> bool:
        """Take the lock for ``job_id`` if no other holder has it (trying for ``wait_s``:
        a :meth:`holder` probe holds it for an instant); True when taken."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_s
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.02)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{job_id} {os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        """Let the lock go (closing the file releases the flock)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)

    def holder(self) -> Holder | None:
        """Who holds the lock now (None: nobody; a dead process holds nothing)."""
        if self._fd is not None:
            return _read_holder(self._fd)
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # held: the holder wrote its name just after taking it
                for _ in range(25):
                    found = _read_holder(fd)
                    if found is not None:
                        return found
                    time.sleep(0.02)
                return Holder("", 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


def _read_holder(fd: int) -> Holder | None:
    text = os.pread(fd, 200, 0).decode(errors="replace").split()
    if len(text) != 2 or not text[1].isdigit():
        return None
    return Holder(text[0], int(text[1]))
