"""The canonical LINE loop for one neuron (paper, Algorithm 1), resumable.

Initial board -> N x (propose, draw |P| images, score, update) -> summary
step on the top concepts -> the best entry is the label. The run record is
saved after every finished step; calling :func:`label_neuron` again with the
same arguments continues from the last saved step, and every random choice is
derived from (seed, neuron, step), so a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from line_mcp.config import LoopConfig
from line_mcp.core.composition import ConceptError
from line_mcp.core.records import RunRecord, StepRecord
from line_mcp.core.scoreboard import (
    Origin,
    ScoreboardEntry,
    Step,
    best_entry,
    update_scoreboard,
)
from line_mcp.core.seeds import derived_rng
from line_mcp.service import LineService, Proposal

#: Called with the record after every saved step.
StepCallback = Callable[[RunRecord], None]


class LoopError(RuntimeError):
    """A run that could not finish; its record is saved with status "failed"."""


def run_id_for(service: LineService, neuron: int, config: LoopConfig) -> str:
    """A stable id: the same neuron, backends and loop numbers give the same run."""
    backends = service.backends.to_dict()
    backends.pop("device")  # where it runs does not change what it computes
    digest = hashlib.sha256(
        json.dumps([backends, config.to_dict(), neuron], sort_keys=True).encode()
    ).hexdigest()[:10]
    layer = "".join(c if c.isalnum() or c in "._-" else "_" for c in service.backends.layer)
    return f"{layer}-n{neuron:05d}-{digest}"


def open_run(service: LineService, neuron: int, config: LoopConfig) -> RunRecord:
    """The stored run record of a neuron, or a new unsaved one.

    Args:
        service: Backends and workspace.
        neuron: Index of the neuron in the service's layer.
        config: The loop's numbers and seed (part of the run id).

    Returns:
        The record; ``init`` is None until :func:`initialise_run` ran.

    Raises:
        NeuronError: the neuron is out of range.
    """
    service.check_neuron(neuron)
    run_id = run_id_for(service, neuron, config)
    return service.workspace.load_run(run_id) or RunRecord(
        run_id=run_id,
        neuron=neuron,
        layer=service.backends.layer,
        backends=service.backends.to_dict(),
        config=config.to_dict(),
    )


def save_run(service: LineService, record: RunRecord) -> None:
    """Stamp the record with the loaded backends' fingerprints and the time, and store it."""
    record.fingerprints = service.fingerprints()
    record.updated_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    service.workspace.save_run(record)


def initialise_run(service: LineService, record: RunRecord, config: LoopConfig) -> None:
    """Build the record's initial scoreboard (the first call on a layer scores the vocabulary)."""
    record.init = service.initial_scoreboard(record.neuron, config)


def planned_steps(config: LoopConfig) -> list[Step]:
    """The steps of a run: 1..N, then "S" when the summary step is on."""
    return [*range(1, config.iterations + 1), *(["S"] if config.summary else [])]


def next_step(record: RunRecord, config: LoopConfig) -> Step | None:
    """The step a run does next, or None once every planned step is recorded."""
    planned = planned_steps(config)
    return planned[len(record.steps)] if len(record.steps) < len(planned) else None


def apply_proposal(
    service: LineService,
    record: RunRecord,
    config: LoopConfig,
    step: Step,
    proposal: Proposal,
    origin: Origin,
    since: dict[str, float] | None = None,
) -> StepRecord:
    """Score a proposal, update the board and append the step to the record (not saved).

    A proposal without a concept (every LLM reply rejected) is recorded as a
    skipped step; so is a concept the image source cannot draw (a
    :class:`~line_mcp.core.composition.ConceptError`), marked ``not_drawable``.
    ``origin`` says who proposed the concept: the built-in LLM ("llm",
    "summary") or an external client ("client"). ``since`` is
    ``service.seconds`` from before the proposal was asked for, so the step's
    ``seconds`` include the LLM's time (default: from now, scoring only).

    Returns:
        The appended step.
    """
    before = dict(service.seconds if since is None else since)
    board = record.scoreboard()
    if proposal.concept is None:
        last = proposal.attempts[-1].error if proposal.attempts else "no answer"
        result = StepRecord(
            step=step,
            origin=origin,
            concept=None,
            score=None,
            prompt=proposal.prompt,
            attempts=proposal.attempts,
            scoreboard=board,
            proposal_origin=proposal.origin,
            skipped=f"no valid concept after {len(proposal.attempts)} attempts; last: {last}",
        )
    else:
        try:
            score, images = service.score_concept(record.neuron, proposal.concept, config)
        except ConceptError as err:  # the image source cannot show it: no score, no board entry
            result = StepRecord(
                step=step,
                origin=origin,
                concept=proposal.concept,
                score=None,
                reasoning=proposal.reasoning,
                prompt=proposal.prompt,
                attempts=proposal.attempts,
                scoreboard=board,
                proposal_origin=proposal.origin,
                skipped=f"not drawable: {err}",
                not_drawable=True,
            )
            return _append(service, record, result, before)
        entry = ScoreboardEntry(concept=proposal.concept, score=score, step=step, novel=True)
        update = update_scoreboard(
            board, entry, derived_rng(config.seed, "update", record.neuron, step)
        )
        result = StepRecord(
            step=step,
            origin=origin,
            concept=proposal.concept,
            score=score,
            reasoning=proposal.reasoning,
            prompt=proposal.prompt,
            attempts=proposal.attempts,
            images=images,
            scoreboard=update.entries,
            removed=update.removed.concept,
            replaced_minimum=update.replaced_minimum,
            proposal_origin=proposal.origin,
        )
    return _append(service, record, result, before)


def _append(
    service: LineService, record: RunRecord, result: StepRecord, before: dict[str, float]
) -> StepRecord:
    result.seconds = {
        k: v - before.get(k, 0.0) for k, v in service.seconds.items() if v - before.get(k, 0.0) > 0
    }
    record.steps.append(result)
    return result


def propose_step(
    service: LineService, record: RunRecord, config: LoopConfig, step: Step
) -> Proposal:
    """Ask the built-in LLM for the concept of ``step`` ("S": the summary prompt)."""
    return service.propose(
        record.scoreboard(),
        record.proposed(),
        config,
        (record.neuron, step),
        summary=step == "S",
        not_drawable=record.not_drawable(),
    )


def settle_run(service: LineService, record: RunRecord, config: LoopConfig) -> None:
    """After a step: fail the run on too many skipped steps, or finish it after the last step.

    Sets ``status``, ``error`` and ``label``; does not save.
    """
    if record.failed_streak() >= config.max_failed_steps:
        record.status = "failed"
        record.error = (
            f"the proposer gave no valid concept in {config.max_failed_steps} steps in a row "
            f"(last: {record.steps[-1].skipped}); check the proposer backend "
            f"{service.backends.proposer!r}, or raise max_retries / max_failed_steps"
        )
    elif next_step(record, config) is None:
        finish_run(record)


def finish_run(record: RunRecord) -> None:
    """Set the label (the best board entry) and mark the run finished; does not save."""
    record.label = best_entry(record.scoreboard())
    record.status, record.error = "finished", None


def label_neuron(
    service: LineService, neuron: int, config: LoopConfig, on_step: StepCallback | None = None
) -> RunRecord:
    """Run (or resume) LINE for one neuron and return its finished record.

    Args:
        service: Backends and workspace.
        neuron: Index of the neuron in the service's layer.
        config: The loop's numbers and seed.
        on_step: Called after every saved step (progress display).

    Returns:
        The record with ``status == "finished"`` and ``label`` set.

    Raises:
        NeuronError: the neuron is out of range (nothing is stored).
        LoopError: ``max_failed_steps`` steps in a row got no valid proposal;
            the record is saved as "failed" and a later call resumes it.
    """
    service.load()
    record = open_run(service, neuron, config)
    if record.status == "finished":
        return record
    record.status, record.error = "running", None
    notify = on_step or (lambda _record: None)

    def save() -> None:
        save_run(service, record)
        notify(record)

    if record.init is None:
        initialise_run(service, record, config)
        save()
    while (step := next_step(record, config)) is not None:
        before = dict(service.seconds)
        proposal = propose_step(service, record, config, step)
        origin = "summary" if step == "S" else "llm"
        apply_proposal(service, record, config, step, proposal, origin, since=before)
        settle_run(service, record, config)
        save()
        if record.status == "failed":
            raise LoopError(record.error)
    if record.status != "finished":  # resumed after its last step was saved
        finish_run(record)
        save()
    return record
