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
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from line_mcp.config import LoopConfig
from line_mcp.core.composition import ConceptError
from line_mcp.core.concepts import concept_key
from line_mcp.core.records import RunRecord, StepRecord, utc_now
from line_mcp.core.scoreboard import (
    Origin,
    ScoreboardEntry,
    Step,
    best_entry,
    update_scoreboard,
)
from line_mcp.core.seeds import derived_rng
from line_mcp.engine.drawing import Drawing
from line_mcp.engine.proposals import Proposal, Proposals
from line_mcp.engine.stopwatch import Stopwatch
from line_mcp.engine.vocabulary import Vocabulary
from line_mcp.errors import LineError
from line_mcp.service import LineService

#: Called with the record after every saved step.
StepCallback = Callable[[RunRecord], None]
#: Picks a finished run's label from its final board.
LabelChooser = Callable[[Sequence[ScoreboardEntry]], ScoreboardEntry]


class LoopError(LineError, RuntimeError):
    """A run that could not finish; its record is saved with status "failed"."""


def run_id_for(service: LineService, neuron: int, config: LoopConfig) -> str:
    """A stable id: the same neuron, backends and loop numbers give the same run.

    It hashes the run identities of both configs (:meth:`LoopConfig.identity`):
    where it runs (the device) does not count, and an option added later counts
    only when set away from its default, so stored runs keep their ids.
    """
    identity = [service.config.identity("run"), config.identity("run"), neuron]
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:10]
    layer = "".join(c if c.isalnum() or c in "._-" else "_" for c in service.config.layer)
    return f"{layer}-n{neuron:05d}-{digest}"


def load_backends(service: LineService, config: LoopConfig) -> None:
    """Build the backends runs with ``config`` call, so a bad spec fails before a run is
    stored; the proposer only when they ask it (guided proposals do not), since loading
    even a small LLM takes half a minute on CPU."""
    needs_llm = service.proposals.needs_llm(config)
    service.backends.load(skip=() if needs_llm else ("proposer",))


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
    service.backends.check_neuron(neuron)
    run_id = run_id_for(service, neuron, config)
    return service.workspace.load_run(run_id) or RunRecord(
        run_id=run_id,
        neuron=neuron,
        layer=service.config.layer,
        backends=service.config.to_dict(),
        config=config.to_dict(),
    )


def save_run(service: LineService, record: RunRecord) -> None:
    """Stamp the record with the loaded backends' fingerprints and the time, and store it."""
    record.fingerprints = service.backends.fingerprints()
    record.updated_at = utc_now()
    service.workspace.save_run(record)


def initialise_run(
    vocabulary: Vocabulary,
    record: RunRecord,
    config: LoopConfig,
    clock: Stopwatch | None = None,
    off_board: Sequence[str] = (),
    pool: Sequence[tuple[str, float]] = (),
) -> None:
    """Build the record's initial scoreboard (the first call on a layer scores the vocabulary).

    ``off_board``: vocabulary labels kept off the board (a neuron's earlier concepts);
    ``pool``: drawn concepts of the layer and their scores for this neuron
    (``share_concepts``, see :func:`layer_pool`).
    """
    record.init = vocabulary.initial_board(
        record.neuron, config, clock, exclude=off_board, pool=pool
    )


def layer_pool(service: LineService, config: LoopConfig, skip: Sequence[int] = ()) -> list[str]:
    """The layer's concept pool: every concept a stored run of the layer drew and scored.

    Only runs with the same backends and the same image settings count (their
    images are the ones this run would draw, so scoring them costs no image);
    runs of the ``skip`` neurons (a batch's own) are left out. Stable order:
    by run id, then step.
    """
    backends = service.config.identity("run")
    images = config.identity("images")
    concepts: dict[str, str] = {}
    runs = service.workspace.load_runs(sorted(service.workspace.list_runs()))
    for run in runs:
        if run.layer != service.config.layer or run.neuron in skip:
            continue
        try:
            same = type(service.config).from_dict(run.backends).identity("run") == backends
            same = same and type(config).from_dict(run.config).identity("images") == images
        except ValueError:  # a record of an older layout: not comparable, left out
            continue
        if same:
            for step in run.steps:
                if step.score is not None and step.concept is not None:
                    concepts.setdefault(concept_key(step.concept), step.concept)
    return list(concepts.values())


def pool_scores(
    drawing: Drawing,
    neuron: int,
    concepts: Sequence[str],
    config: LoopConfig,
    clock: Stopwatch | None = None,
) -> list[tuple[str, float]]:
    """Each pool concept's score for a neuron, from the cached whole-layer activations."""
    if not concepts:
        return []
    scores = drawing.pool_scores(neuron, concepts, config, clock)
    return list(zip(concepts, scores, strict=True))


#: ``LoopConfig.pool_bar`` -> the board score a pool concept must beat.
_POOL_BARS: dict[str, Callable[[list[float]], float]] = {
    "minimum": min,
    "median": statistics.median,
    "best": max,
}


def pool_proposal(
    drawing: Drawing,
    record: RunRecord,
    config: LoopConfig,
    pool: Sequence[str],
    clock: Stopwatch | None = None,
) -> Proposal | None:
    """A step's concept taken from the layer's pool (``share_concepts``), or None.

    The best pool concept the run has not had (board, history, excluded) is
    the step's proposal when it beats the board's ``config.pool_bar`` score
    (minimum, median or best): it was drawn for another neuron, so it enters
    this board without a new image. Otherwise (None) the proposer proposes as usual.
    """
    board = record.scoreboard()
    taken = {concept_key(c) for c in [*record.excluded, *record.proposed()]}
    taken |= {concept_key(e.concept) for e in board}
    fresh = list({concept_key(c): c for c in pool if concept_key(c) not in taken}.values())
    scored = pool_scores(drawing, record.neuron, fresh, config, clock)
    if not scored or not board:
        return None
    concept, score = max(scored, key=lambda item: item[1])
    bar = _POOL_BARS[config.pool_bar]([e.score for e in board])
    if score <= bar:
        return None
    reasoning = (
        f"from the layer's concept pool (drawn for another neuron): scores {score:.4g} "
        f"here, above the board's {config.pool_bar} {bar:.4g}"
    )
    return Proposal(concept, reasoning, "", [], "pool")


def planned_steps(config: LoopConfig) -> list[Step]:
    """The steps of a run: 1..N, then "S" when the summary step is on."""
    return [*range(1, config.iterations + 1), *(["S"] if config.summary else [])]


def next_step(record: RunRecord, config: LoopConfig) -> Step | None:
    """The step a run does next, or None once every planned step is recorded."""
    planned = planned_steps(config)
    return planned[len(record.steps)] if len(record.steps) < len(planned) else None


def apply_proposal(
    drawing: Drawing,
    record: RunRecord,
    config: LoopConfig,
    step: Step,
    proposal: Proposal,
    origin: Origin,
    clock: Stopwatch | None = None,
) -> StepRecord:
    """Score a proposal, update the board and append the step to the record (not saved).

    A proposal without a concept (every LLM reply rejected) is recorded as a
    skipped step; so is a concept the image source cannot draw (a
    :class:`~line_mcp.core.composition.ConceptError`), marked ``not_drawable``.
    ``origin`` says who proposed the concept: the built-in LLM ("llm",
    "summary"), offline knowledge ("guided", see :func:`step_origin`) or an
    external client ("client"). ``clock`` is the step's
    stopwatch: the proposal's time when it timed that too, plus the scoring; the
    step's ``seconds`` are its totals (default: a new one, scoring only).

    Returns:
        The appended step.
    """
    clock = clock or Stopwatch()
    board = record.scoreboard()
    outcome: dict[str, Any] = {"scoreboard": board}
    if proposal.concept is None:
        last = proposal.attempts[-1].error if proposal.attempts else "no answer"
        outcome["skipped"] = (
            f"no valid concept after {len(proposal.attempts)} attempts; last: {last}"
        )
    else:
        try:
            scored = drawing.score_concept(record.neuron, proposal.concept, config, clock)
        except ConceptError as err:  # the image source cannot show it: no score, no board entry
            outcome.update(skipped=f"not drawable: {err}", not_drawable=True)
        else:
            entry = ScoreboardEntry(
                concept=proposal.concept, score=scored.score, step=step, novel=True
            )
            update = update_scoreboard(
                board, entry, derived_rng(config.seed, "update", record.neuron, step)
            )
            outcome.update(
                score=scored.score,
                images=scored.images,
                images_drawn=scored.new_images,
                scoreboard=update.entries,
                removed=update.removed.concept,
                replaced_minimum=update.replaced_minimum,
            )
    result = StepRecord(
        step=step,
        origin=origin,
        concept=proposal.concept,
        score=outcome.pop("score", None),
        reasoning=proposal.reasoning,
        prompt=proposal.prompt,
        attempts=proposal.attempts,
        proposal_origin=proposal.origin,
        **outcome,
    )
    result.seconds = clock.totals()
    record.steps.append(result)
    return result


def step_origin(step: Step, proposal: Proposal) -> Origin:
    """Who proposed a built-in step's concept, as its record says: "summary" for the
    summary step, "llm" when the concept is an LLM's answer (or the LLM was asked and
    every answer rejected), "guided" when it came from offline knowledge with no LLM
    answer (``proposal.origin`` names the source: a WordNet relation, a bank label...)."""
    if step == "S":
        return "summary"
    if proposal.concept is None:
        return "llm" if proposal.attempts else "guided"
    answered = any(a.concept == proposal.concept for a in proposal.attempts)
    return "llm" if answered else "guided"


def propose_step(
    proposals: Proposals,
    record: RunRecord,
    config: LoopConfig,
    step: Step,
    clock: Stopwatch | None = None,
) -> Proposal:
    """Ask the built-in proposer for the concept of ``step`` ("S": the summary prompt).

    The record's ``excluded`` labels (earlier concepts of the neuron) are
    forbidden like the concepts it already proposed.
    """
    seed_parts: tuple[object, ...] = (record.neuron, step)
    if record.concept_index > 1:  # a restart draws its own random choices
        seed_parts = (*seed_parts, "concept", record.concept_index)
    return proposals.propose(
        record.scoreboard(),
        [*record.excluded, *record.proposed()],
        config,
        seed_parts,
        summary=step == "S",
        not_drawable=record.not_drawable(),
        clock=clock,
    )


def settle_run(
    record: RunRecord, config: LoopConfig, proposer: str, choose_label: LabelChooser = best_entry
) -> None:
    """After a step: fail the run on too many skipped steps, or finish it after the last step.

    Sets ``status``, ``error`` and ``label``; does not save. ``proposer`` is the
    proposer's spec, named in the error.
    """
    if record.failed_streak() >= config.max_failed_steps:
        record.status = "failed"
        record.error = (
            f"the proposer gave no valid concept in {config.max_failed_steps} steps in a row "
            f"(last: {record.steps[-1].skipped}); check the proposer backend "
            f"{proposer!r}, or raise max_retries / max_failed_steps"
        )
    elif next_step(record, config) is None:
        finish_run(record, choose_label)


def finish_run(record: RunRecord, choose_label: LabelChooser = best_entry) -> None:
    """Set the label (by default the best board entry) and mark the run finished; does not save."""
    record.label = choose_label(record.scoreboard())
    record.status, record.error = "finished", None


def label_neuron(
    service: LineService,
    neuron: int,
    config: LoopConfig,
    on_step: StepCallback | None = None,
    clock: Stopwatch | None = None,
    *,
    record: RunRecord | None = None,
    off_board: Sequence[str] = (),
    choose_label: LabelChooser = best_entry,
) -> RunRecord:
    """Run (or resume) LINE for one neuron and return its finished record.

    Args:
        service: Backends and workspace.
        neuron: Index of the neuron in the service's layer.
        config: The loop's numbers and seed.
        on_step: Called after every saved step (progress display).
        clock: Receives the seconds of every step (e.g. a command's totals); each
            step also times itself on its own stopwatch for its record.
        record: The record to run (default: the neuron's plain run, see :func:`open_run`);
            :mod:`line_mcp.polysemantic` passes a restart with ``excluded`` labels.
        off_board: Vocabulary labels kept off a new record's initial board.
        choose_label: Picks the label from the final board (default: the best entry).

    Returns:
        The record with ``status == "finished"`` and ``label`` set.

    Raises:
        NeuronError: the neuron is out of range (nothing is stored).
        LoopError: ``max_failed_steps`` steps in a row got no valid proposal;
            the record is saved as "failed" and a later call resumes it.
    """
    load_backends(service, config)
    record = record or open_run(service, neuron, config)
    if record.status == "finished":
        return record
    record.status, record.error = "running", None
    notify = on_step or (lambda _record: None)

    def save() -> None:
        save_run(service, record)
        notify(record)

    if record.init is None:
        pool = layer_pool(service, config, [neuron]) if config.share_concepts else []
        scores = pool_scores(service.drawing, record.neuron, pool, config, clock)
        initialise_run(service.vocabulary, record, config, clock, off_board, scores)
        save()
    while (step := next_step(record, config)) is not None:
        step_clock = Stopwatch(parent=clock)
        proposal = None
        if config.share_concepts and step != "S" and record.init is not None:
            proposal = pool_proposal(
                service.drawing, record, config, record.init.pool, step_clock
            )
        if proposal is None:
            proposal = propose_step(service.proposals, record, config, step, step_clock)
        origin = step_origin(step, proposal)
        apply_proposal(service.drawing, record, config, step, proposal, origin, step_clock)
        settle_run(record, config, service.config.proposer, choose_label)
        save()
        if record.status == "failed":
            raise LoopError(record.error)
    if record.status != "finished":  # resumed after its last step was saved
        finish_run(record, choose_label)
        save()
    return record
