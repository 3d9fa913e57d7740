"""Label many neurons of a layer in lockstep batches (same records as one at a time).

:func:`label_neurons` advances a batch of neurons step by step. At each step:

- the batch's proposals come from one batched LLM call (a proposer with
  :class:`~line_mcp.backends.base.BatchProposer`; others are called once per
  prompt): every neuron's proposal is computed by :func:`line_mcp.loop.propose_step`
  against a proposer that answers from the batch's replies, and a prompt it has
  no reply for yet is collected, so re-asks after a rejected reply are batched too;
- the step's new concepts, deduplicated across neurons, are drawn once each
  before any neuron scores them (the workspace caches whole-layer activations
  per image, so every neuron's score is then a cache hit); see :meth:`_Batch.prefetch`
  for why each concept keeps its own target call;
- each neuron's step is scored and saved by the loop's own step functions
  (:func:`~line_mcp.loop.apply_proposal`, :func:`~line_mcp.loop.settle_run`).

Every random choice derives from (seed, neuron, step) and a proposer's reply
from (prompt, seed), so each neuron's record equals what
:func:`line_mcp.loop.label_neuron` gives with the same seed and backends (only
``seconds`` and ``images_drawn``, which account for who drew an image first,
depend on the schedule). Records are saved per neuron per step: a killed batch
resumes, each neuron from its last saved step, when the same call is made again.

With ``share_concepts`` a neuron's step may take a concept another neuron of the
batch drew in an earlier step, or that a stored run of the layer drew (see
:func:`line_mcp.loop.pool_proposal`); the batch then changes the records, so
rerun a layer with the same ``batch_neurons`` to resume it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from line_mcp.backends.base import BatchProposer, DrawabilityCheck
from line_mcp.config import LoopConfig
from line_mcp.core.composition import ConceptError
from line_mcp.core.concepts import concept_key
from line_mcp.core.records import RunRecord
from line_mcp.core.scoreboard import Step
from line_mcp.engine.backends import Backends
from line_mcp.engine.proposals import Proposal, Proposals
from line_mcp.engine.stopwatch import Stopwatch
from line_mcp.errors import InputError
from line_mcp.loop import (
    StepCallback,
    apply_proposal,
    finish_run,
    initialise_run,
    layer_pool,
    load_backends,
    next_step,
    open_run,
    pool_proposal,
    pool_scores,
    propose_step,
    save_run,
    settle_run,
    step_origin,
)
from line_mcp.service import LineService

#: Neurons advanced together by default (``run-loop --batch-neurons``): the smallest
#: batch measured (docs/benchmark/layer.md); with guided proposals nothing is batched
#: and larger batches only hold more records in memory.
DEFAULT_BATCH_NEURONS = 8


@dataclass
class NeuronResult:
    """What :func:`label_neurons` did for one neuron.

    Attributes:
        neuron: Index of the neuron in the layer.
        record: The run record as saved (finished, or failed with ``record.error``).
        error: Why the run failed (too many steps without a valid proposal), None if finished.
    """

    neuron: int
    record: RunRecord
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.error is None and self.record.status == "finished"


#: Fields that account for the schedule (when, how long, who drew an image first),
#: not for what a run found.
SCHEDULE_FIELDS = frozenset(
    {"seconds", "finished_at", "images_drawn", "created_at", "updated_at", "writer"}
)


def schedule_free(record: RunRecord) -> dict[str, Any]:
    """A record as JSON without :data:`SCHEDULE_FIELDS` at any depth (an image's
    provenance times its own drawing too): what must equal between a lockstep batch
    and the one-at-a-time loop."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in SCHEDULE_FIELDS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return cast(dict[str, Any], strip(record.model_dump(mode="json")))


class _Deferred(Exception):
    """A proposal needs a reply the batch has not fetched yet."""

    def __init__(self, prompt: str, seed: int) -> None:
        super().__init__(prompt)
        self.key = (prompt, seed)


class _ReplyBook:
    """The proposer as the strategies see it in a batch: replies fetched for the batch.

    Every other attribute (name, fingerprint, ``score_answers``, ``num_parameters``)
    is the real proposer's, so capability checks see the real one; it is built only
    when one is asked for (guided proposals never ask).
    """

    def __init__(self, backends: Backends) -> None:
        self._backends = backends
        self.replies: dict[tuple[str, int], str] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backends.proposer, name)

    def complete(self, prompt: str, seed: int) -> str:
        try:
            return self.replies[(prompt, seed)]
        except KeyError:
            raise _Deferred(prompt, seed) from None


class _BackendsView:
    """The service's backends with the proposer replaced by a :class:`_ReplyBook`."""

    def __init__(self, backends: Backends, book: _ReplyBook) -> None:
        self._backends = backends
        self.proposer = book

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backends, name)


class _BatchProposals(Proposals):
    """The service's proposals (same knowledge, built once) answering from a reply book."""

    def __init__(self, service: LineService, book: _ReplyBook) -> None:
        super().__init__(cast(Backends, _BackendsView(service.backends, book)))
        self._base = service.proposals

    @property  # type: ignore[override]
    def knowledge(self) -> Any:
        return self._base.knowledge


def label_neurons(
    service: LineService,
    neurons: Sequence[int],
    config: LoopConfig,
    batch_neurons: int = DEFAULT_BATCH_NEURONS,
    on_step: StepCallback | None = None,
    clock: Stopwatch | None = None,
) -> list[NeuronResult]:
    """Run (or resume) LINE for many neurons, ``batch_neurons`` at a time in lockstep.

    Args:
        service: Backends and workspace.
        neurons: Indices in the service's layer (duplicates are labeled once).
        config: The loop's numbers and seed.
        batch_neurons: Neurons advanced together (1: one at a time).
        on_step: Called after every saved step of any neuron (progress display).
        clock: Receives the seconds of every part (a command's totals).

    Returns:
        One result per distinct neuron, in the order given.

    Raises:
        InputError: ``batch_neurons`` below 1.
        NeuronError: a neuron is out of range (nothing is stored).
    """
    if batch_neurons < 1:
        raise InputError(f"batch_neurons must be 1 or more, got {batch_neurons}")
    order = list(dict.fromkeys(neurons))
    for neuron in order:
        service.backends.check_neuron(neuron)
    load_backends(service, config)
    results: dict[int, NeuronResult] = {}
    for start in range(0, len(order), batch_neurons):
        batch = _Batch(service, order[start : start + batch_neurons], config, on_step, clock)
        results.update(batch.run())
    return [results[n] for n in order]


class _Batch:
    """One lockstep batch: its records, advanced one step at a time."""

    def __init__(
        self,
        service: LineService,
        neurons: Sequence[int],
        config: LoopConfig,
        on_step: StepCallback | None,
        clock: Stopwatch | None,
    ) -> None:
        self.service = service
        self.neurons = list(neurons)
        self.config = config
        self.notify: Callable[[RunRecord], None] = on_step or (lambda _record: None)
        self.clock = clock
        self.records = {n: open_run(service, n, config) for n in self.neurons}
        self.book = _ReplyBook(service.backends)
        self.proposals = _BatchProposals(service, self.book)

    def save(self, record: RunRecord) -> None:
        save_run(self.service, record)
        self.notify(record)

    def run(self) -> dict[int, NeuronResult]:
        results: dict[int, NeuronResult] = {}
        active = []
        for neuron in self.neurons:
            record = self.records[neuron]
            if record.status == "finished":
                results[neuron] = NeuronResult(neuron, record)
            else:
                record.status, record.error = "running", None
                active.append(neuron)
        self.initialise([n for n in active if self.records[n].init is None])
        while stepping := [n for n in active if next_step(self.records[n], self.config)]:
            for neuron in self.advance(stepping):
                record = self.records[neuron]
                results[neuron] = NeuronResult(neuron, record, record.error)
                active.remove(neuron)
        for neuron in active:
            record = self.records[neuron]
            if record.status != "finished":  # resumed after its last step was saved
                finish_run(record)
                self.save(record)
            results[neuron] = NeuronResult(neuron, record)
        return results

    def initialise(self, neurons: Sequence[int]) -> None:
        """Initial boards (the first on a layer scores the vocabulary), saved one by one."""
        service, config = self.service, self.config
        sharing = config.share_concepts and neurons
        pool = layer_pool(service, config, self.neurons) if sharing else []
        for neuron in neurons:
            record = self.records[neuron]
            scores = pool_scores(service.drawing, neuron, pool, config, self.clock)
            initialise_run(service.vocabulary, record, config, self.clock, pool=scores)
            self.save(record)

    def advance(self, neurons: Sequence[int]) -> list[int]:
        """One step of every neuron in ``neurons``; returns the neurons whose run failed."""
        config = self.config
        steps = {n: cast(Step, next_step(self.records[n], config)) for n in neurons}
        clocks = {n: Stopwatch(parent=self.clock) for n in neurons}
        proposals = self.propose(neurons, steps, clocks)
        drawn = self.prefetch(neurons, proposals, clocks)
        failed = []
        for neuron in neurons:
            record, step = self.records[neuron], steps[neuron]
            proposal = proposals[neuron]
            origin = step_origin(step, proposal)
            result = apply_proposal(
                self.service.drawing, record, config, step, proposal, origin, clocks[neuron]
            )
            if result.score is not None and proposal.concept in drawn:
                result.images_drawn = drawn.pop(proposal.concept)  # the first to ask drew them
            settle_run(record, config, self.service.config.proposer)
            self.save(record)
            if record.status == "failed":
                failed.append(neuron)
        return failed

    def pool_at(self, record: RunRecord) -> list[str]:
        """The pool of a neuron's next step: its stored pool and the concepts the batch
        drew in the steps before it (by position, so a resumed batch sees the same)."""
        position = len(record.steps)
        pool = list(record.init.pool) if record.init else []
        for neuron in self.neurons:
            pool.extend(
                s.concept
                for s in self.records[neuron].steps[:position]
                if s.score is not None and s.concept is not None
            )
        return list({concept_key(c): c for c in reversed(pool)}.values())[::-1]

    def propose(
        self, neurons: Sequence[int], steps: dict[int, Step], clocks: dict[int, Stopwatch]
    ) -> dict[int, Proposal]:
        """Every neuron's proposal; the LLM replies they need are fetched in batched calls."""
        config, drawing = self.config, self.service.drawing
        proposals: dict[int, Proposal] = {}
        waiting = list(neurons)
        if config.share_concepts:
            for neuron in neurons:
                record = self.records[neuron]
                if steps[neuron] != "S":
                    taken = pool_proposal(
                        drawing, record, config, self.pool_at(record), clocks[neuron]
                    )
                    if taken is not None:
                        proposals[neuron] = taken
            waiting = [n for n in neurons if n not in proposals]
        self.book.replies.clear()
        while waiting:
            needed: dict[int, tuple[str, int]] = {}
            for neuron in waiting:
                try:
                    proposals[neuron] = propose_step(
                        self.proposals, self.records[neuron], config, steps[neuron], clocks[neuron]
                    )
                except _Deferred as deferred:
                    needed[neuron] = deferred.key
            if needed:
                self.fetch_replies(needed, clocks)
            waiting = list(needed)
        return proposals

    def fetch_replies(
        self, needed: dict[int, tuple[str, int]], clocks: dict[int, Stopwatch]
    ) -> None:
        """Ask the proposer every distinct (prompt, seed) at once; the LLM time is split
        evenly over the neurons that waited for it."""
        keys = list(dict.fromkeys(needed.values()))
        proposer = self.service.backends.proposer
        start = time.perf_counter()
        with self.service.backends.lock:
            if isinstance(proposer, BatchProposer):
                replies = proposer.complete_batch([p for p, _ in keys], [s for _, s in keys])
            else:
                replies = [proposer.complete(p, s) for p, s in keys]
        share = (time.perf_counter() - start) / len(needed)
        for neuron in needed:
            clocks[neuron].add("llm", share)
        self.book.replies.update(zip(keys, replies, strict=True))

    def prefetch(
        self,
        neurons: Sequence[int],
        proposals: dict[int, Proposal],
        clocks: dict[int, Stopwatch],
    ) -> dict[str, int]:
        """Draw the step's distinct new concepts once each, before any neuron scores them.

        Each concept is drawn and read in its own generator and target call, as the
        one-at-a-time loop does: measured on EfficientNet-Lite0 on CPU, one target
        pass over every new image of a step was slower (77 s one at a time, 107 s
        in batches of 8, 184 s in batches of 24, for 24 neurons) and its
        batch-size-dependent rounding changed the scores, so records no longer
        equaled the one-at-a-time ones. Returns the images generated per concept. A
        concept the generator refuses is left to the neuron's own step, which records
        it as not drawable; the seconds are split evenly over the step's neurons.
        """
        concepts = list(
            dict.fromkeys(
                p.concept for n in neurons if (p := proposals[n]).concept and p.origin != "pool"
            )
        )
        generator = self.service.backends.generator
        if concepts and isinstance(generator, DrawabilityCheck):
            flags = generator.can_draw(concepts)
            concepts = [c for c, ok in zip(concepts, flags, strict=True) if ok]
        if not concepts:
            return {}
        watch, drawing = Stopwatch(), self.service.drawing
        drawn = []
        for concept in concepts:  # per concept: the target calls of the one-at-a-time loop
            try:
                drawn.extend(drawing.draw([concept], self.config, clock=watch))
            except ConceptError:  # recorded as not drawable by the neuron's own step
                continue
        for part, seconds in watch.totals().items():
            for neuron in neurons:
                clocks[neuron].add(part, seconds / len(neurons))
        return {d.concept: d.new_images for d in drawn}
