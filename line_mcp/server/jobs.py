"""Background jobs: long work (a whole LINE loop, scoring a layer's vocabulary) runs in a
worker thread while tool calls return at once with a job id.

Jobs run in the server process. Their records (status, message, an evaluation's
scores) are also written to ``WORKSPACE/jobs/`` when given a folder, so a restarted
server still answers for an old job id: a job that was running when the server
stopped reads as failed, and starting it again resumes its run from the last saved
step (runs live in the workspace).
"""

from __future__ import annotations

import contextlib
import json
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
from line_mcp.store.workspace import atomic_write_bytes, set_aside

#: Job ids are 12 lowercase hex characters (``uuid4().hex[:12]``).
_JOB_ID = re.compile(r"^[0-9a-f]{12}$")


class JobCancelled(Exception):
    """Raised inside a job's thread at its next checkpoint after ``cancel``."""


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
    cancel_event: threading.Event = field(default_factory=threading.Event)
    future: Future[Any] | None = None
    started_at: float | None = None  # time.monotonic() when it started running
    outcome: str | None = None  # the work's one-line result, shown as the finished message

    @property
    def elapsed_s(self) -> float | None:
        """Seconds since it started running, while it runs in this process (else None)."""
        if self.status != "running" or self.started_at is None:
            return None
        return time.monotonic() - self.started_at

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

    def report(self, message: str, done: int, total: int) -> None:
        """Record progress, and stop here if the job was cancelled."""
        self.message, self.done, self.total = message, done, total
        self.checkpoint()

    def checkpoint(self) -> None:
        """Raise :class:`JobCancelled` if cancel was asked for."""
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
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        """A job read back from its record; one that was still active was cut off."""
        data = versions.upgrade_job(dict(data))
        del data["format_version"], data["writer"]  # stamps of the file, not job state
        job = cls(**data)
        if job.active:
            job.status, job.message = "failed", "interrupted"
            job.error = (
                "the server stopped before this job finished; start it again (label_neuron "
                "resumes the run from its last saved step)"
            )
        return job


class JobManager:
    """Runs jobs one at a time in a worker thread (they share the model device anyway).

    Args:
        forward: Progress callback that also receives every job's progress (e.g. stderr).

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
        self._lock = threading.Lock()
        self._local = threading.local()
        self._forward = forward
        self._max_jobs = max_jobs

    def progress(self, task: str, done: int, total: int) -> None:
        """A service progress callback: routes progress to the job running in this thread."""
        if self._forward is not None:
            self._forward(task, done, total)
        job: Job | None = getattr(self._local, "job", None)
        if job is not None:
            job.report(f"{task}: {done}/{total}", done, total)

    def submit(self, kind: JobKind, neuron: int, run_id: str, work: Callable[[Job], Any]) -> Job:
        """Queue ``work(job)``; returns the running job of the same run instead, if any."""
        with self._lock:
            for job in self._jobs.values():
                if job.run_id == run_id and job.active:
                    return job
            job = Job(uuid.uuid4().hex[:12], kind, neuron, run_id)
            self._jobs[job.job_id] = job
            self._forget_old()
        self._save(job)
        job.future = self._executor.submit(self._run, job, work)
        return job

    def _save(self, job: Job) -> None:
        """Write the job's record (on every change of status, not on progress)."""
        if self._folder is not None:
            data = json.dumps(job.to_dict(), indent=1).encode()
            atomic_write_bytes(self._folder / f"{job.job_id}.json", data)

    def _load(self, job_id: str) -> Job | None:
        if self._folder is None or not _JOB_ID.match(job_id):
            return None
        path = self._folder / f"{job_id}.json"
        if not path.exists():
            return None
        try:
            return Job.from_dict(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError) as err:  # truncated or edited by hand
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
            self._save(job)
            return
        job.status, job.message = "running", "started"
        job.started_at = time.monotonic()
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
            self._save(job)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if not j.active]
        for job in finished[: max(0, len(self._jobs) - self._max_jobs)]:
            del self._jobs[job.job_id]

    def get(self, job_id: str) -> Job:
        """The job, or KeyError with what is known."""
        job = self._jobs.get(job_id) or self._load(job_id)
        if job is None:
            known = ", ".join(list(self._jobs)[-5:]) or "none"
            raise UnknownIdError(
                f"unknown job id {job_id!r} (recent jobs: {known}). Runs are stored whatever "
                "happened to a job: call get_scoreboard for the neuron, or label_neuron again "
                "to resume it"
            )
        return job

    def active_job(self, run_id: str) -> Job | None:
        """The queued or running job writing ``run_id``, if any."""
        with self._lock:
            return next((j for j in self._jobs.values() if j.run_id == run_id and j.active), None)

    def cancel(self, job_id: str) -> Job:
        """Ask a job to stop at its next checkpoint (after the step in progress)."""
        job = self.get(job_id)
        job.cancel_event.set()
        if job.future is not None and job.future.cancel():
            job.status, job.message = "cancelled", "cancelled before it started"
            self._save(job)
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job ends (tests and scripts)."""
        job = self.get(job_id)
        if job.future is not None:
            with contextlib.suppress(Exception):  # reported through the job's status
                job.future.result(timeout)
        return job

    def shutdown(self) -> None:
        """Cancel every job and stop the worker."""
        for job in list(self._jobs.values()):
            job.cancel_event.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
