"""Label a shard of neurons in one process: the one place the local run and every Ray
actor call (:mod:`line_mcp.distributed`).

A shard is a list of neurons of one layer. Each neuron's record is stored in
the service's workspace as it advances, so a killed process resumes a neuron
from its last saved step when the shard is labeled again.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

from pydantic import BaseModel, Field

from line_mcp.config import LoopConfig
from line_mcp.core.records import RunRecord
from line_mcp.engine.stopwatch import Stopwatch
from line_mcp.loop import LoopError, StepCallback, label_neuron, run_id_for
from line_mcp.service import LineService


class NeuronResult(BaseModel):
    """What labeling one neuron of a shard gave.

    Attributes:
        neuron: The neuron.
        record: Its run record (finished, or failed with ``error`` set).
        error: Why the run failed (``LoopError``), else None.
        worker: The process that labeled it, ``host:pid``.
    """

    neuron: int
    record: RunRecord
    error: str | None = Field(None)
    worker: str = Field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


def label_one(
    service: LineService,
    neuron: int,
    config: LoopConfig,
    on_step: StepCallback | None = None,
    clock: Stopwatch | None = None,
) -> NeuronResult:
    """Run (or resume) one neuron; a run that fails is returned with its saved record.

    Raises:
        NeuronError: the neuron is out of range.
    """
    try:
        return NeuronResult(
            neuron=neuron, record=label_neuron(service, neuron, config, on_step, clock)
        )
    except LoopError as err:
        saved = service.workspace.load_run(run_id_for(service, neuron, config))
        if saved is None:  # a LoopError comes after the record was saved
            raise
        return NeuronResult(neuron=neuron, record=saved, error=str(err))


def label_shard(
    service: LineService,
    neurons: Sequence[int],
    config: LoopConfig,
    on_step: StepCallback | None = None,
    clock: Stopwatch | None = None,
) -> list[NeuronResult]:
    """Label (or resume) a shard of neurons in this process, one result per neuron, in order.

    Today the neurons run one after another; a function that advances the whole
    shard together (lockstep batches) replaces the one line below.

    Example:
        >>> results = label_shard(service, [0, 1, 2], LoopConfig())  # doctest: +SKIP
        >>> [r.record.label.concept for r in results]  # doctest: +SKIP
        ['dog', 'tabby cat', 'red car']
    """
    return [label_one(service, neuron, config, on_step, clock) for neuron in neurons]
