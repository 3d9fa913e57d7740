"""Work locks: one holder at a time across processes; a dead holder holds nothing."""

import doctest
import os
import subprocess
import sys

from line_mcp.store import locks
from line_mcp.store.locks import WorkLock


def test_docstring_examples():
    assert doctest.testmod(locks).failed == 0


def test_the_os_releases_the_lock_of_a_killed_process(tmp_path):
    code = (
        "import sys, time; from line_mcp.store.locks import WorkLock; "
        "assert WorkLock(sys.argv[1], 'vocabulary:x').acquire('abc'); print('held', flush=True); "
        "time.sleep(60)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "held"
        lock = WorkLock(tmp_path, "vocabulary:x")
        assert lock.holder() == locks.Holder("abc", child.pid)
        assert not lock.acquire("mine", wait_s=0.1)
        child.kill()
        child.wait(10)
        assert lock.holder() is None and lock.acquire("mine")
        assert lock.holder() == locks.Holder("mine", os.getpid())
    finally:
        child.kill()
        child.wait(10)
