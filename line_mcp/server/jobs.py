"""Background jobs: long work (a whole LINE loop, scoring a layer's vocabulary) runs in a
worker thread while tool calls return at once with a job id.

Jobs belong to the workspace, not to the server process. Each job's record (status,
progress, its owner's pid, an evaluation's scores) is kept in ``WORKSPACE/jobs/``, and
the work itself is locked with a :class:`~line_mcp.store.locks.WorkLock` held by the
process doing it. So a second server on the same workspace (or a restarted one)
answers for any job id, sees a job another process is running (with its progress
read from the stored record), and does not start the same work again; when the
owner died, the OS released its lock and the job reads as interrupted: starting
it again resumes its run from the last saved step (runs live in the workspace).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from line_mcp.errors import LineError, UnknownIdError
from line_mcp.progress import ProgressCallback
from line_mcp.server.models import JobKind, JobStatus
from line_mcp.store import versions
from line_mcp.store.locks import WorkLock
from line_mcp.store.workspace import atomic_write_bytes, set_aside

#: Job ids are 12 lowercase hex characters (``uuid4().hex[:12]``).
_JOB_ID = re.compile(r"^[0-9a-f]{12}$")
#: The least time between two saves of a job's progress (status changes save at once).
PROGRESS_SAVE_S = 1.0
#: How often a job looks for a cancel request from another process.
CANCEL_CHECK_S = 0.5


class JobCancelled(Exception):
    """Raised inside a job's thread at its next checkpoint after ``cancel``."""


class JobBusyError(LineError, RuntimeError):
    """Another process holds the work's lock and its job record cannot be read."""


@dataclass
class Job:
    """One background job and what it reports.

    Attributes:
        job_id: Short random id.
        kind: What the job does.
        neuron: The neuron it works on.
        run_id: The run record it writes.
        status: queued, running, finished, failed or cancelled.
        done: Units done of ``total`` (steps, or vocabulary labels while scoring them).
        message: What it is doing now.
        result: What the work function returned.
        error: Why it failed.
        key: The work it does (its lock); the run id unless said otherwise.
        owner_pid: The process that runs it.
        started_at: When it started running (seconds since the epoch).
        remote: Read from its stored record: another process (or an earlier one) owns it.
    """

    job_id: str
    kind: JobKind
    neuron: int
    run_id: str
    status: JobStatus = "queued"
    done: int = 0
    total: int = 0
    message: str = "queued"
    result: Any = None
    error: str | None = None
    key: str = ""
    owner_pid: int | None = None
    started_at: float | None = None
    remote: bool = False
    cancel_event: threading.Event = field(default_factory=threading.Event)
    future: Future[Any] | None = None
    outcome: str | None = None  # the work's one-line result, shown as the finished message
    on_progress: Callable[[Job, bool], None] | None = None  # stores the record
    cancel_file: Path | None = None  # another process asks for a cancel by creating it
    _cancel_checked: float = 0.0

    def __post_init__(self) -> None:
        self.key = self.key or self.run_id

    @property
    def elapsed_s(self) -> float | None:
        """Seconds since it started running, while it runs (else None)."""
        if self.status != "running" or self.started_at is None:
            return None
        return max(0.0, time.time() - self.started_at)

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far (units done per second), while running."""
        elapsed = self.elapsed_s
        if self.status != "running" or elapsed is None or not self.done or not self.total:
            return None
        return elapsed / self.done * max(0, self.total - self.done)

    @property
    def progress(self) -> float:
        if self.status == "finished":
            return 1.0
        return self.done / self.total if self.total else 0.0

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def report(self, message: str, done: int, total: int, often: bool = False) -> None:
        """Record progress, and stop here if the job was cancelled.

        Args:
            message: What it is doing now.
            done: Units done of ``total``.
            total: Units in all.
            often: A report among many (a model's batches): stored at most every
                second; the others (a step saved) are stored at once.
        """
        self.message, self.done, self.total = message, done, total
        if self.on_progress is not None:
            self.on_progress(self, often)
        self.checkpoint()

    def checkpoint(self) -> None:
        """Raise :class:`JobCancelled` if cancel was asked for (here or by another process)."""
        if not self.cancel_event.is_set() and self.cancel_file is not None:
            now = time.monotonic()
            if now - self._cancel_checked >= CANCEL_CHECK_S:
                self._cancel_checked = now
                if self.cancel_file.exists():
                    self.cancel_event.set()
        if self.cancel_event.is_set():
            raise JobCancelled

    def to_dict(self) -> dict[str, Any]:
        """The job's record as JSON-ready data (a model result as its JSON form)."""
        result = self.result.model_dump(mode="json") if isinstance(self.result, BaseModel) else None
        return {
            "format_version": versions.JOB_FORMAT,
            "writer": versions.writer(),
            "job_id": self.job_id,
            "kind": self.kind,
            "neuron": self.neuron,
            "run_id": self.run_id,
            "status": self.status,
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "result": result,
            "error": self.error,
            "key": self.key,
            "owner_pid": self.owner_pid,
            "started_at": self.started_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], alive: bool = False) -> Job:
        """A job read back from its record.

        Args:
            data: The stored record.
            alive: Whether its owner still holds the work's lock; an active job whose
                owner does not was cut off (the process died or stopped).
        """
        data = versions.upgrade_job(dict(data))
        del data["format_version"], data["writer"]  # stamps of the file, not job state
        job = cls(**data, remote=True)
        if job.active and not alive:
            job.status, job.message = "failed", "interrupted"
            job.error = (
                f"the server process{f' {job.owner_pid}' if job.owner_pid else ''} stopped "
                "before this job finished; start it again (label_neuron resumes the run from "
                "its last saved step)"
            )
        return job


class JobManager:
    """Runs jobs one at a time in a worker thread (they share the model device anyway).

    Args:
        forward: Progress callback that also receives every job's progress (e.g. stderr).
        max_jobs: Finished jobs kept in memory (every record stays on disk).
        folder: Where job records and work locks live (``WORKSPACE/jobs``); without
            one, jobs are this process's only.

    Example:
        >>> jobs = JobManager()
        >>> job = jobs.submit("label_neuron", 3, "run-3", lambda job: "done")
        >>> jobs.wait(job.job_id).result
        'done'
    """

    def __init__(
        self,
        forward: ProgressCallback | None = None,
        max_jobs: int = 256,
        folder: str | Path | None = None,
    ) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="line-job")
        self._folder = Path(folder) if folder is not None else None
        self._jobs: dict[str, Job] = {}
        self._work_locks: dict[str, WorkLock] = {}  # job id -> the lock it holds
        self._saved: dict[str, float] = {}  # job id -> when its progress was last saved
        self._lock = threading.Lock()
        self._local = threading.local()
        self._forward = forward
        self._max_jobs = max_jobs

    def work_lock(self, key: str) -> WorkLock | None:
        """The workspace lock on a piece of work (None without a folder)."""
        return WorkLock(self._folder / "locks", key) if self._folder is not None else None

    def current(self) -> Job | None:
        """The job running in this thread, if any."""
        return getattr(self._local, "job", None)

    def progress(self, task: str, done: int, total: int) -> None:
        """A service progress callback: routes progress to the job running in this thread."""
        if self._forward is not None:
            self._forward(task, done, total)
        job = self.current()
        if job is not None:
            job.report(f"{task}: {done}/{total}", done, total, often=True)

    def submit(
        self,
        kind: JobKind,
        neuron: int,
        run_id: str,
        work: Callable[[Job], Any],
        key: str | None = None,
    ) -> Job:
        """Queue ``work(job)``, unless the same work (``key``, default ``run_id``) is
        already queued or running, here or in another process on the workspace: then
        that job is returned instead."""
        key = key or run_id
        with self._lock:
            for job in self._jobs.values():
                if job.key == key and job.active:
                    return job
            job = Job(uuid.uuid4().hex[:12], kind, neuron, run_id, key=key, owner_pid=os.getpid())
            lock = self.work_lock(key)
            if lock is not None:
                if not lock.acquire(job.job_id):
                    return self._holder_job(lock)
                self._work_locks[job.job_id] = lock
                job.cancel_file = self._cancel_path(job.job_id)
                job.on_progress = self._save_progress
            self._jobs[job.job_id] = job
            self._forget_old()
        self._save(job)
        job.future = self._executor.submit(self._run, job, work)
        return job

    def _holder_job(self, lock: WorkLock) -> Job:
        holder = lock.holder()
        job = self._load(holder.job_id) if holder is not None and holder.job_id else None
        if job is not None and job.active:
            return job
        pid = f" {holder.pid}" if holder is not None and holder.pid else ""
        raise JobBusyError(
            f"another line-mcp process{pid} on this workspace is doing this work "
            f"({lock.key}); try again when it is done"
        )

    def _cancel_path(self, job_id: str) -> Path | None:
        return self._folder / f"{job_id}.cancel" if self._folder is not None else None

    def _save(self, job: Job) -> None:
        """Write the job's record (on every change of status)."""
        if self._folder is not None and not job.remote:
            data = json.dumps(job.to_dict(), indent=1).encode()
            atomic_write_bytes(self._folder / f"{job.job_id}.json", data)
            self._saved[job.job_id] = time.monotonic()

    def _save_progress(self, job: Job, often: bool) -> None:
        """Write the record for another process's job_status (frequent reports at most
        every second)."""
        if not often or time.monotonic() - self._saved.get(job.job_id, 0.0) >= PROGRESS_SAVE_S:
            self._save(job)

    def _load(self, job_id: str) -> Job | None:
        """The job's stored record; active only while its owner holds the work's lock."""
        if self._folder is None or not _JOB_ID.match(job_id):
            return None
        path = self._folder / f"{job_id}.json"
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            alive = False
            if data.get("status") in ("queued", "running"):
                lock = self.work_lock(str(data.get("key") or data.get("run_id")))
                holder = lock.holder() if lock is not None else None
                alive = holder is not None and holder.job_id == job_id
            return Job.from_dict(data, alive=alive)
        except (ValueError, KeyError, TypeError, AttributeError) as err:  # truncated or edited
            set_aside(
                path,
                f"is not a valid job record ({type(err).__name__}: {str(err)[:120]})",
                f"job {job_id!r}'s status; its run keeps every saved step and "
                "label_neuron resumes it",
            )
            return None

    def _run(self, job: Job, work: Callable[[Job], Any]) -> None:
        if job.cancel_event.is_set():
            job.status, job.message = "cancelled", "cancelled before it started"
            self._finish(job)
            return
        job.status, job.message = "running", "started"
        job.started_at = time.time()
        self._save(job)
        self._local.job = job
        try:
            job.result = work(job)
            job.status, job.message = "finished", job.outcome or "finished"
        except JobCancelled:
            job.status, job.message = "cancelled", "cancelled; the run record keeps every step"
        except LineError as err:  # a job's failure is reported through job_status
            job.status, job.error = "failed", f"{type(err).__name__}: {err}"
            job.message = "failed"
        except Exception as err:  # a bug: the details go to the server log only
            job.status, job.message = "failed", "failed"
            job.error = f"internal error ({type(err).__name__}); the server's log has the details"
            traceback.print_exc()  # stderr: the server log
        finally:
            self._local.job = None
            self._finish(job)

    def _finish(self, job: Job) -> None:
        """Save the job's last record, then let its work go."""
        self._save(job)
        lock = self._work_locks.pop(job.job_id, None)
        if lock is not None:
            lock.release()
        if job.cancel_file is not None:
            job.cancel_file.unlink(missing_ok=True)
        self._saved.pop(job.job_id, None)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if not j.active]
        for job in finished[: max(0, len(self._jobs) - self._max_jobs)]:
            del self._jobs[job.job_id]

    def get(self, job_id: str) -> Job:
        """The job (another process's read afresh from its record), or an error with
        what is known."""
        job = self._jobs.get(job_id) or self._load(job_id)
        if job is None:
            known = ", ".join(list(self._jobs)[-5:]) or "none"
            raise UnknownIdError(
                f"unknown job id {job_id!r} (recent jobs: {known}). Runs are stored whatever "
                "happened to a job: call get_scoreboard for the neuron, or label_neuron again "
                "to resume it"
            )
        return job

    def active_job(self, key: str) -> Job | None:
        """The queued or running job doing ``key`` (a run id), here or in another process."""
        with self._lock:
            job = next((j for j in self._jobs.values() if j.key == key and j.active), None)
        if job is not None:
            return job
        lock = self.work_lock(key)
        holder = lock.holder() if lock is not None else None
        if holder is None or not holder.job_id:
            return None
        other = self._load(holder.job_id)
        return other if other is not None and other.active else None

    def cancel(self, job_id: str) -> Job:
        """Ask a job to stop at its next checkpoint (after the step in progress); another
        process's job is asked through a file it looks for."""
        job = self.get(job_id)
        if job.remote:
            path = self._cancel_path(job_id)
            if job.active and path is not None:
                atomic_write_bytes(path, b"cancel\n")
                job.message = (
                    f"cancel asked; process {job.owner_pid} stops it after the step in progress"
                )
            return job
        job.cancel_event.set()
        if job.future is not None and job.future.cancel():
            job.status, job.message = "cancelled", "cancelled before it started"
            self._finish(job)
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job ends (tests and scripts)."""
        job = self.get(job_id)
        if job.future is not None:
            with contextlib.suppress(Exception):  # reported through the job's status
                job.future.result(timeout)
        return job

    def shutdown(self) -> None:
        """Cancel every job and stop the worker (the work locks go with the process)."""
        for job in list(self._jobs.values()):
            job.cancel_event.set()
            if job.future is not None and job.future.cancel():
                job.status, job.message = "cancelled", "cancelled before it started"
                self._finish(job)
        self._executor.shutdown(wait=False, cancel_futures=True)
