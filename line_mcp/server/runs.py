"""The step-by-step driver behind the MCP tools, on the loop's own pieces.

A client (or the built-in LLM through ``propose``) advances a neuron's run
one step at a time; every step goes through :func:`line_mcp.loop.apply_proposal`
and :func:`line_mcp.loop.settle_run`, exactly as ``label_neuron`` does, so the
same seed and backends give the same run record either way. State is the run
record on disk: every operation loads it, changes it under a per-run lock and
saves it, so a restarted server or a reconnected client continues where it was.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from line_mcp.config import LoopConfig
from line_mcp.core.concepts import checked_concept, concept_key
from line_mcp.core.records import PendingProposal, RunRecord
from line_mcp.engine.proposals import Proposal
from line_mcp.engine.stopwatch import Stopwatch
from line_mcp.errors import LineError
from line_mcp.loop import (
    apply_proposal,
    initialise_run,
    label_neuron,
    next_step,
    open_run,
    propose_step,
    run_id_for,
    save_run,
    settle_run,
    step_origin,
)
from line_mcp.server.jobs import Job, JobManager
from line_mcp.server.models import BoardView, EvaluationView, ProposalView, UpdateView
from line_mcp.service import LineService

#: How long a tool waits for a run another call or a job is writing.
LOCK_TIMEOUT_S = 20.0


class RunBusyError(LineError, RuntimeError):
    """The run is being written by a background job or another call."""


class RunStateError(LineError, ValueError):
    """The operation does not fit where the run stands (says what to call instead)."""


class RunDriver:
    """Runs, steps and jobs for one service and one loop configuration.

    Args:
        service: Backends and workspace.
        config: The loop's numbers and seed, shared by every run of the server.
        jobs: Where background jobs run.

    Example:
        >>> driver = RunDriver(service, LoopConfig(), JobManager())  # doctest: +SKIP
        >>> driver.init(3).status  # doctest: +SKIP
        'running'
    """

    def __init__(self, service: LineService, config: LoopConfig, jobs: JobManager) -> None:
        self.service = service
        self.config = config
        self.jobs = jobs
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # --- locking -----------------------------------------------------------------------------

    @contextmanager
    def locked(self, run_id: str, timeout: float | None = LOCK_TIMEOUT_S) -> Iterator[None]:
        """Hold the run's lock: one read-modify-write of a run record at a time.

        Args:
            run_id: The run.
            timeout: Seconds to wait (None: as long as it takes, for background jobs).
        """
        with self._locks_guard:
            lock = self._locks.setdefault(run_id, threading.Lock())
        job = self.jobs.active_job(run_id) if timeout is not None else None
        # A job holds the run for minutes: say so now rather than after the timeout.
        if job is not None or not lock.acquire(timeout=-1 if timeout is None else timeout):
            job = job or self.jobs.active_job(run_id)
            who = f"background job {job.job_id} ({job.kind})" if job else "another call"
            if job is not None and job.remote:
                who += f" of the line-mcp process {job.owner_pid} on this workspace"
            raise RunBusyError(
                f"run {run_id} is busy: {who} is writing it. Poll job_status, or cancel_job, "
                "then try again"
            )
        try:
            yield
        finally:
            lock.release()

    def run_id(self, neuron: int) -> str:
        """The run id of a neuron under this server's backends and loop numbers."""
        self.service.backends.check_neuron(neuron)
        return run_id_for(self.service, neuron, self.config)

    # --- reading -----------------------------------------------------------------------------

    def board(self, neuron: int, record: RunRecord | None = None) -> BoardView:
        """Where the neuron's run stands (read from disk)."""
        if record is None:
            record = open_run(self.service, neuron, self.config)
        job = self.jobs.active_job(record.run_id)
        step = next_step(record, self.config) if record.init else None
        if record.init is None:
            status = "initialising" if job else "not_started"
        else:
            status = record.status
        return BoardView(
            run_id=record.run_id,
            neuron=record.neuron,
            layer=record.layer,
            status=status,
            scoreboard=record.scoreboard(),
            steps_done=len(record.steps),
            iterations=self.config.iterations,
            next_step=step,
            proposed=record.proposed(),
            pending=record.pending,
            label=record.label,
            job_id=job.job_id if job else None,
            error=record.error,
            next=self._hint(record, status, step, job),
        )

    def _hint(self, record: RunRecord, status: str, step: Any, job: Job | None) -> str:
        if job is not None:
            return f"job {job.job_id} is working on this run: poll job_status"
        if status == "not_started":
            return "call init_scoreboard"
        if status == "finished":
            grade = f"call evaluate_label(neuron={record.neuron}) to grade it on held-out images"
            if record.label:
                return f"finished: the label is {record.label.concept!r}; {grade}"
            return f"finished; {grade}"
        if record.pending is not None:
            return (
                f"call update_scoreboard with concept {record.pending.concept!r} to score the "
                "pending proposal, or with your own concept"
            )
        if step == "S":
            return "all iterations done: call summarize_scoreboard, then update_scoreboard"
        return (
            f"step {step}: propose a concept (yourself, or with propose_concept), check it with "
            "score_concept if you like, then record it with update_scoreboard"
        )

    # --- initialising ------------------------------------------------------------------------

    def init(self, neuron: int) -> BoardView:
        """Build the neuron's initial board now if the vocabulary is cached, else in a job."""
        record = open_run(self.service, neuron, self.config)
        if record.init is not None or self.jobs.active_job(record.run_id) is not None:
            return self.board(neuron, record)  # a job (maybe another server's) is on it
        if not self.service.vocabulary.ready(self.config):
            self.jobs.submit(
                "init_scoreboard", neuron, record.run_id, lambda job: self._init(neuron)
            )
            return self.board(neuron)
        return self._init(neuron)

    def _init(self, neuron: int) -> BoardView:
        run_id = self.run_id(neuron)
        with self.locked(run_id, timeout=None if self._in_job(run_id) else LOCK_TIMEOUT_S):
            record = open_run(self.service, neuron, self.config)
            self._initialise(record)
        return self.board(neuron, record)

    def _initialise(self, record: RunRecord) -> bool:
        """Build a run's initial board if it has none (the run's lock held); True if built."""
        if record.init is not None:
            return False
        with self.vocabulary_lock():
            initialise_run(self.service.vocabulary, record, self.config)
        record.status = "running"
        save_run(self.service, record)
        return True

    def _in_job(self, run_id: str) -> bool:
        job = self.jobs.current()
        return job is not None and job.key == run_id

    @contextmanager
    def vocabulary_lock(self) -> Iterator[None]:
        """In a job, hold the workspace lock on scoring the layer's vocabulary while it is
        not cached: a job of another process scoring it is waited for (cancel still
        stops this one), then its cache is read instead of scoring it twice."""
        job = self.jobs.current()
        vocabulary = self.service.vocabulary
        lock = None
        if job is not None and not vocabulary.ready(self.config):
            lock = self.jobs.work_lock(f"vocabulary:{vocabulary.cache_key(self.config)}")
        if lock is None or job is None:
            yield
            return
        while not lock.acquire(job.job_id):
            holder = lock.holder()
            pid = f" {holder.pid}" if holder is not None and holder.pid else ""
            job.message = f"waiting for the line-mcp process{pid} scoring this layer's vocabulary"
            job.checkpoint()
            time.sleep(0.5)
        try:
            yield
        finally:
            lock.release()

    def _started(self, neuron: int) -> RunRecord:
        record = open_run(self.service, neuron, self.config)
        if record.init is None:
            raise RunStateError(
                f"neuron {neuron} has no scoreboard yet: call init_scoreboard first"
            )
        if record.status == "finished":
            label = record.label.concept if record.label else "?"
            raise RunStateError(
                f"the run of neuron {neuron} is finished (label {label!r}); its record is "
                f"resource line://runs/{record.run_id}. score_concept still scores new concepts"
            )
        return record

    # --- stepping ----------------------------------------------------------------------------

    def propose(self, neuron: int, summary: bool = False) -> ProposalView:
        """Ask the built-in LLM for the next step's concept and keep it as the pending proposal.

        A step whose every reply is rejected is recorded as skipped, as in the loop.
        """
        run_id = self.run_id(neuron)
        with self.locked(run_id):
            record = self._started(neuron)
            step = next_step(record, self.config)
            if step is None:  # _started() returns only runs with a step left
                raise RunStateError(f"the run of neuron {neuron} has no step left")
            self._check_step(step, summary)
            pending = record.pending
            if pending is not None and pending.step == step:
                return self._proposal_view(
                    record,
                    step,
                    pending.concept,
                    pending.reasoning,
                    pending.attempts,
                    pending.proposal_origin,
                    pending.origin,
                )
            clock = Stopwatch()
            proposal = propose_step(self.service.proposals, record, self.config, step, clock)
            if proposal.concept is None:
                result = apply_proposal(
                    self.service.drawing,
                    record,
                    self.config,
                    step,
                    proposal,
                    step_origin(step, proposal),
                    clock,
                )
                settle_run(record, self.config, self.service.config.proposer)
                save_run(self.service, record)
                view = self._proposal_view(
                    record, step, None, "", proposal.attempts, None, step_origin(step, proposal)
                )
                view.skipped = result.skipped
                return view
            record.pending = PendingProposal(
                step=step,
                origin=step_origin(step, proposal),
                concept=proposal.concept,
                proposal_origin=proposal.origin,
                reasoning=proposal.reasoning,
                prompt=proposal.prompt,
                attempts=proposal.attempts,
            )
            record.status, record.error = "running", None
            save_run(self.service, record)
            return self._proposal_view(
                record,
                step,
                proposal.concept,
                proposal.reasoning,
                proposal.attempts,
                proposal.origin,
                step_origin(step, proposal),
            )

    def _check_step(self, step: Any, summary: bool) -> None:
        if summary and step != "S":
            detail = (
                "this run has no summary step (started with --no-summary)"
                if not self.config.summary
                else f"it comes after the {self.config.iterations} iterations; next is step {step}"
            )
            raise RunStateError(f"not time for the summary step: {detail}")
        if not summary and step == "S":
            raise RunStateError(
                f"all {self.config.iterations} iterations are done; the next step is the summary: "
                "call summarize_scoreboard (or update_scoreboard with as_summary=true)"
            )

    def _proposal_view(
        self, record, step, concept, reasoning, attempts, origin=None, who="llm"
    ) -> ProposalView:
        hint = (
            f"call update_scoreboard(neuron={record.neuron}, concept={concept!r}) to score it "
            "into the board (score_concept first if you want to see it without committing)"
            if concept
            else "the step was skipped; call propose_concept again or propose your own concept"
        )
        return ProposalView(
            run_id=record.run_id,
            neuron=record.neuron,
            step=step,
            concept=concept,
            origin=who,  # as update_scoreboard records it
            proposal_origin=origin,
            reasoning=reasoning,
            attempts=len(attempts),
            rejected=[a.error for a in attempts if a.error],
            next=hint,
        )

    def update(
        self, neuron: int, concept: str, as_summary: bool = False, reasoning: str = ""
    ) -> UpdateView:
        """Score ``concept`` and record it as the run's next step (the LINE board update).

        The pending built-in proposal is used when ``concept`` is it (origin
        "llm"/"summary", with its prompt and replies); any other concept is the
        client's own (origin "client").
        """
        concept = checked_concept(concept, self.config.max_concept_words)
        run_id = self.run_id(neuron)
        with self.locked(run_id):
            record = self._started(neuron)
            step = next_step(record, self.config)
            pending = record.pending
            if pending is not None and concept_key(concept) == concept_key(pending.concept):
                proposal = Proposal(
                    pending.concept,
                    pending.reasoning,
                    pending.prompt,
                    pending.attempts,
                    pending.proposal_origin,
                )
                origin = pending.origin
            else:
                self._check_step(step, as_summary)
                self._check_concept(record, concept)
                proposal = Proposal(concept, reasoning, "", [])
                origin = "client"
            record.pending = None
            record.status, record.error = "running", None
            if step is None:  # _started() returns only runs with a step left
                raise RunStateError(f"the run of neuron {neuron} has no step left")
            result = apply_proposal(
                self.service.drawing, record, self.config, step, proposal, origin
            )
            settle_run(record, self.config, self.service.config.proposer)
            save_run(self.service, record)
        return UpdateView(
            run_id=record.run_id,
            neuron=neuron,
            step=result.step,
            origin=origin,  # type: ignore[arg-type]
            concept=result.concept or concept,
            score=result.score,
            not_drawable=result.skipped if result.not_drawable else None,
            removed=result.removed,
            replaced_minimum=result.replaced_minimum,
            board=self.board(neuron, record),
        )

    def concept_error(self, record: RunRecord, concept: str) -> str | None:
        """Why the run may not record ``concept`` (None: it may): the built-in LLM's rule,
        normalised, near-duplicate and embedding checks against every concept tried."""
        taken = [*record.proposed(), *(e.concept for e in record.scoreboard())]
        return self.service.proposals.concept_error(concept, taken, self.config)

    def _check_concept(self, record: RunRecord, concept: str) -> None:
        error = self.concept_error(record, concept)
        if error is not None:
            raise RunStateError(
                f"{error}; propose a new concept (one already tried or on the board, or a "
                f"near-duplicate of one, may not be recorded; a concept is 1 to "
                f"{self.config.max_concept_words} words)"
            )

    # --- the whole loop as a job -------------------------------------------------------------

    def start_label_job(self, neuron: int, concepts: int = 1) -> Job:
        """Run (or resume) the canonical loop for the neuron in the background.

        ``concepts`` > 1 finds up to that many concepts (:mod:`line_mcp.polysemantic`):
        after the first label, the loop restarts with every earlier label and its
        near-duplicates forbidden; each concept is its own run record.
        """
        run_id = self.run_id(neuron)
        per_run = 1 + self.config.iterations + int(self.config.summary)
        total = per_run * concepts

        def work(job: Job) -> BoardView:
            def on_step(record: RunRecord) -> None:
                done = per_run * (record.concept_index - 1) + 1 + len(record.steps)
                last = record.steps[-1] if record.steps else None
                what = f"step {last.step}: {last.concept or 'skipped'}" if last else "initial board"
                if concepts > 1:
                    what = f"concept {record.concept_index} of {concepts}, {what}"
                job.report(what, done, total)

            with self.locked(run_id, timeout=None):
                first = open_run(self.service, neuron, self.config)
                if self._initialise(first):  # the vocabulary's lock only as long as needed
                    on_step(first)
                if concepts == 1:
                    record = label_neuron(self.service, neuron, self.config, on_step=on_step)
                    return self.board(neuron, record)
                from line_mcp.polysemantic import label_concepts

                runs = label_concepts(self.service, neuron, self.config, concepts, on_step)
            job.outcome = "finished; concepts: " + "; ".join(
                f"{r.label.concept} ({r.label.score:.3f}, run {r.run_id})"
                for r in runs
                if r.label is not None
            )
            return self.board(neuron, runs[0])

        return self.jobs.submit("label_neuron", neuron, run_id, work)

    def start_layer_job(self, neurons: list[int], batch_neurons: int) -> Job:
        """Label several neurons as one background job, in lockstep batches (:mod:`line_mcp.layer`).

        The job's message names the neuron that just advanced and every neuron's
        steps done; the finished message lists each label. Its ``neuron`` and
        ``run_id`` are the first neuron's (job_result shows that run).
        """
        from line_mcp.layer import label_neurons

        run_ids = [self.run_id(n) for n in neurons]
        per_run = 1 + self.config.iterations + int(self.config.summary)
        done: dict[int, int] = dict.fromkeys(neurons, 0)

        def work(job: Job) -> BoardView:
            def on_step(record: RunRecord) -> None:
                done[record.neuron] = 1 + len(record.steps)
                last = record.steps[-1] if record.steps else None
                what = f"step {last.step}: {last.concept or 'skipped'}" if last else "initial board"
                steps = ", ".join(f"{n}: {d}/{per_run}" for n, d in done.items())
                job.report(
                    f"neuron {record.neuron} {what}; steps per neuron {steps}",
                    sum(done.values()),
                    per_run * len(neurons),
                )

            with contextlib.ExitStack() as stack:
                for run_id in run_ids:
                    stack.enter_context(self.locked(run_id, timeout=None))
                results = label_neurons(
                    self.service, neurons, self.config, batch_neurons, on_step
                )
            job.outcome = "finished; labels: " + "; ".join(
                f"{r.neuron}: {r.record.label.concept} ({r.record.label.score:.3f})"
                if r.record.label is not None
                else f"{r.neuron}: failed ({r.error})"
                for r in results
            )
            return self.board(neurons[0], results[0].record)

        return self.jobs.submit("label_neurons", neurons[0], run_ids[0], work)

    # --- held-out evaluation as a job --------------------------------------------------------

    def start_evaluation_job(self, neuron: int, label: str | None, images: int) -> Job:
        """Score a label (default: the neuron's final label) with CoSy in the background."""
        from line_mcp.evaluation.cosy import CosyEvaluator, EvaluationConfig, stored_evaluation
        from line_mcp.evaluation.labels import LabelRow

        run_id = self.run_id(neuron)
        if label is not None:
            label = checked_concept(label, self.config.max_concept_words)
        if label is None:
            record = self.service.workspace.load_run(run_id)
            if record is None or record.label is None:
                raise RunStateError(
                    f"neuron {neuron} has no finished run to take a label from: pass label, "
                    "or finish the run first (label_neuron)"
                )
            label = record.label.concept
        # Built here so that bad sources fail the call, not the job; kept images can be read.
        evaluator = CosyEvaluator(
            self.service, EvaluationConfig(images_per_concept=images, keep_images=True)
        )

        def work(job: Job) -> EvaluationView:
            job.report(f"drawing {label!r} and reading the control set", 0, 1)
            score = evaluator.score([LabelRow(neuron, label, origin="mcp")])[0]
            sources = evaluator.sources
            self.service.workspace.save_evaluation(
                stored_evaluation(self.service.config.target, score, sources)
            )
            return EvaluationView(
                neuron=neuron,
                label=label,
                auc=score.auc,
                mad=score.mad,
                auprc=score.auprc,
                mann_whitney_p=score.mann_whitney_p,
                concept_mean=score.concept_mean,
                control_mean=score.control_mean,
                images=score.n_concept,
                controls=score.n_control,
                generator=sources.generator,
                control=sources.control,
                held_out=sources.held_out_generator and sources.held_out_control,
                note=sources.note,
                image_ids=score.image_ids,
            )

        key = f"evaluate:{run_id}:{concept_key(label)}:{images}"
        return self.jobs.submit("evaluate_label", neuron, key, work)
