"""Several concepts per neuron (``run-loop --concepts K``): restart LINE without the earlier labels.

Concept 1 is the plain run (:func:`line_mcp.loop.label_neuron`, the same
record and run id as without ``--concepts``). Concept k > 1 is a new run whose
record links to the first (``first_run``), lists the labels found before it
(``excluded``), keeps those labels and their near-duplicates off its initial
board, forbids them as proposals, and cannot end on one of them: its label is
the best board entry that is not a near-duplicate of an earlier label.

Near-duplicate: the loop's own duplicate rule (same canonical key or spelling)
or a text-embedding cosine of at least :data:`NEAR_DUPLICATE_SIMILARITY`
("dog" / "dogs" / "puppy").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from line_mcp.config import LoopConfig
from line_mcp.core.concepts import find_duplicate
from line_mcp.core.records import RunRecord
from line_mcp.core.scoreboard import ScoreboardEntry
from line_mcp.engine.stopwatch import Stopwatch
from line_mcp.errors import InputError
from line_mcp.loop import StepCallback, label_neuron, run_id_for
from line_mcp.service import LineService

#: MiniLM cosine from which a concept counts as a near-duplicate of an earlier label.
NEAR_DUPLICATE_SIMILARITY = 0.8


def concept_run_id(
    service: LineService, neuron: int, config: LoopConfig, excluded: Sequence[str]
) -> str:
    """The id of the run for concept ``len(excluded) + 1``; the plain run id for the first."""
    base = run_id_for(service, neuron, config)
    if not excluded:
        return base
    digest = hashlib.sha256("\n".join(excluded).encode()).hexdigest()[:6]
    return f"{base}-c{len(excluded) + 1}-{digest}"


def near_duplicates(
    service: LineService, concepts: Sequence[str], earlier: Sequence[str]
) -> list[str]:
    """The ``concepts`` that are near-duplicates of any ``earlier`` label (one embedding batch)."""
    if not earlier or not concepts:
        return []
    vectors = service.backends.embedder.embed([*earlier, *concepts])
    similarity = vectors[len(earlier) :] @ vectors[: len(earlier)].T
    return [
        concept
        for concept, row in zip(concepts, similarity, strict=True)
        if float(np.max(row)) >= NEAR_DUPLICATE_SIMILARITY or find_duplicate(concept, earlier)
    ]


def best_new_entry(
    service: LineService, board: Sequence[ScoreboardEntry], earlier: Sequence[str]
) -> ScoreboardEntry:
    """The best board entry that is not a near-duplicate of an earlier label (else the best)."""
    ranked = sorted(board, key=lambda e: e.score, reverse=True)
    taken = set(near_duplicates(service, [e.concept for e in ranked], earlier))
    return next((e for e in ranked if e.concept not in taken), ranked[0])


def label_concept(
    service: LineService,
    neuron: int,
    config: LoopConfig,
    excluded: Sequence[str],
    first_run: str,
    on_step: StepCallback | None = None,
    clock: Stopwatch | None = None,
) -> RunRecord:
    """Run (or resume) LINE for one neuron with ``excluded`` labels kept out.

    The loop itself is :func:`line_mcp.loop.label_neuron`, given a record that
    names the excluded labels (forbidden as proposals), the vocabulary labels to
    keep off the initial board, and a label chooser that skips near-duplicates.

    Raises:
        LoopError: too many steps without a valid proposal (the record is saved as failed).
    """
    service.backends.check_neuron(neuron)
    run_id = concept_run_id(service, neuron, config, excluded)
    record = service.workspace.load_run(run_id) or RunRecord(
        run_id=run_id,
        neuron=neuron,
        layer=service.config.layer,
        backends=service.config.to_dict(),
        config=config.to_dict(),
        concept_index=len(excluded) + 1,
        excluded=list(excluded),
        first_run=first_run,
    )
    off_board: list[str] = []
    if record.init is None:
        labels = service.vocabulary.vocabulary_labels(config)
        off_board = [*excluded, *near_duplicates(service, labels, excluded)]
    return label_neuron(
        service,
        neuron,
        config,
        on_step,
        clock,
        record=record,
        off_board=off_board,
        choose_label=lambda board: best_new_entry(service, board, excluded),
    )


def label_concepts(
    service: LineService,
    neuron: int,
    config: LoopConfig,
    k: int,
    on_step: StepCallback | None = None,
    clock: Stopwatch | None = None,
) -> list[RunRecord]:
    """Up to ``k`` concepts of a neuron: the plain run, then restarts without the earlier labels.

    Returns:
        One finished record per concept, the first being the plain run's.
    """
    if k < 1:
        raise InputError(f"--concepts must be 1 or more, got {k}")
    runs = [label_neuron(service, neuron, config, on_step, clock)]
    while len(runs) < k:
        earlier = [r.label.concept for r in runs if r.label is not None]
        runs.append(
            label_concept(service, neuron, config, earlier, runs[0].run_id, on_step, clock)
        )
    return runs
