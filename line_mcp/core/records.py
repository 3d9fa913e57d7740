"""The run record: everything a LINE run did, step by step.

The record is the product, not a log: it is written after every finished step
and a killed run resumes from it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from line_mcp.core.candidates import ProposalOrigin
from line_mcp.core.scoreboard import Origin, ScoreboardEntry, Step

# The current run-record format (line_mcp.store.versions.RUN_FORMAT upgrades older ones).
RUN_FORMAT = 2


def utc_now() -> str:
    """UTC, ISO 8601 with ``Z``: the one timestamp format of stored files.

    Example:
        >>> utc_now().endswith("Z") and len(utc_now()) == 20
        True
    """
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DrawnImage(BaseModel):
    """One image drawn for a concept and the neuron's activation on it.

    Attributes:
        image_id: Content address of the image in the workspace.
        prompt: The text-to-image prompt.
        seed: The generator seed.
        activation: The neuron's pooled activation on the image.
        source: What the generator reports about the image (e.g. the bank image it varied).
    """

    image_id: str
    prompt: str
    seed: int
    activation: float
    source: dict[str, Any] = Field(default_factory=dict)


class Attempt(BaseModel):
    """One LLM reply within a step; ``error`` says why it was rejected, None if accepted."""

    output: str
    concept: str | None = None
    error: str | None = None


class StepRecord(BaseModel):
    """One loop step (1..N) or the summary step ("S").

    ``concept`` and ``score`` are None for a step whose proposals were all
    rejected; ``skipped`` then says why. A concept the image source cannot draw
    keeps ``concept``, has no score, does not enter the board and sets
    ``not_drawable`` (``skipped`` says why). ``proposal_origin`` says which knowledge
    the concept came from (LLM free text, a WordNet relation, the image bank's
    labels or a composition; see :mod:`line_mcp.core.candidates`), or ``pool``
    for a concept another neuron of the layer drew (``share_concepts``).
    ``images_drawn`` is how many of the step's images were generated for it
    (0: every image came from the cache, e.g. another neuron drew the concept
    first; None for a step without images). Like ``seconds`` it is accounting:
    it depends on the order neurons ran in, not on the run's result.
    """

    step: Step
    origin: Origin
    concept: str | None
    score: float | None
    novel: bool = True
    reasoning: str = ""
    prompt: str = ""
    attempts: list[Attempt] = Field(default_factory=list)
    images: list[DrawnImage] = Field(default_factory=list)
    scoreboard: list[ScoreboardEntry] = Field(default_factory=list)
    removed: str | None = None
    replaced_minimum: bool | None = None
    skipped: str | None = None
    not_drawable: bool = False
    proposal_origin: ProposalOrigin | None = None
    images_drawn: int | None = None
    seconds: dict[str, float] = Field(default_factory=dict)
    finished_at: str = Field(default_factory=utc_now)


class InitRecord(BaseModel):
    """How the initial scoreboard was built.

    ``pool`` (``share_concepts``): the concepts other runs of the layer had drawn
    when this board was built; they competed with the vocabulary for the board
    and stay the run's pool (see :func:`line_mcp.loop.pool_proposal`).
    """

    scoring: Literal["control", "drawn"]
    vocabulary_size: int
    images_per_label: float
    screened: int | None = Field(
        None,
        description="with a vocabulary screen (init_screen): how many labels, the neuron's "
        "best on one image each, were scored on the full images; None: every label was",
    )
    entries: list[ScoreboardEntry]
    top_vocabulary: list[tuple[str, float]] = Field(default_factory=list)
    images: dict[str, list[DrawnImage]] = Field(default_factory=dict)
    pool: list[str] = Field(default_factory=list)
    seconds: dict[str, float] = Field(default_factory=dict)


class PendingProposal(BaseModel):
    """A built-in LLM proposal handed to an MCP client and not yet scored into the board.

    ``update_scoreboard`` with the same concept records it as the step it was
    proposed for, with the LLM's prompt, replies and reasoning.
    """

    step: Step
    origin: Origin
    concept: str
    proposal_origin: ProposalOrigin | None = None
    reasoning: str = ""
    prompt: str = ""
    attempts: list[Attempt] = Field(default_factory=list)


class RunRecord(BaseModel):
    """A LINE run for one neuron.

    Attributes:
        run_id: Stable id from the neuron, layer, backends and loop config.
        neuron: Index of the neuron in the layer.
        status: "running" until the label is set, "failed" with ``error`` otherwise.
        backends: The backend specs (``BackendConfig.to_dict()``).
        fingerprints: Role -> fingerprint of the loaded model or data.
        config: The loop numbers (``LoopConfig.to_dict()``).
        init: The initial scoreboard, once built.
        steps: Finished steps in order.
        label: The best scoreboard entry once the run finished.
        pending: A built-in proposal an MCP client asked for and has not scored yet.
        format_version: The record's layout (older ones are upgraded on load).
        writer: The line-mcp version that last saved it.
        concept_index: Which of a neuron's concepts the run looks for (``--concepts K``):
            1 for a plain run, k > 1 for a restart with the earlier labels excluded.
        excluded: The earlier labels (and, by the loop's duplicate rule, their
            near-duplicates) kept off this run's board and forbidden as proposals.
        first_run: For k > 1, the run id of the neuron's first concept.
    """

    format_version: int = RUN_FORMAT
    writer: str = ""
    run_id: str
    neuron: int
    layer: str
    status: Literal["running", "finished", "failed"] = "running"
    error: str | None = None
    backends: dict[str, Any]
    fingerprints: dict[str, str] = Field(default_factory=dict)
    config: dict[str, Any]
    init: InitRecord | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    label: ScoreboardEntry | None = None
    pending: PendingProposal | None = None
    concept_index: int = 1
    excluded: list[str] = Field(default_factory=list)
    first_run: str | None = None
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)

    def scoreboard(self) -> list[ScoreboardEntry]:
        """The board after the last finished step."""
        for step in reversed(self.steps):
            if step.scoreboard:
                return list(step.scoreboard)
        return list(self.init.entries) if self.init else []

    def proposed(self) -> list[str]:
        """Every concept the LLM proposed so far (the paper's generation history)."""
        return [s.concept for s in self.steps if s.concept is not None]

    def not_drawable(self) -> list[str]:
        """Proposed concepts the image source could not draw, in order."""
        return [s.concept for s in self.steps if s.not_drawable and s.concept is not None]

    def failed_streak(self) -> int:
        """Consecutive skipped steps at the end of the record."""
        streak = 0
        for step in reversed(self.steps):
            if step.skipped is None:
                break
            streak += 1
        return streak


class AblationResult(BaseModel):
    """What removing a concept from an image did to a neuron.

    Attributes:
        neuron: Index of the neuron in the layer.
        image_id: The original image.
        concept: The concept asked to be removed.
        method: "edit" when an image editor removed the concept by instruction;
            "occlusion" when no editor is set and the region the neuron responds
            to most was blurred out instead (not a concept edit).
        editor: The editor's name, None for occlusion.
        instruction: The edit instruction, None for occlusion.
        edited_image_id: The edited (or occluded) image in the workspace.
        activation_before: The neuron's activation on the original image.
        activation_after: The neuron's activation on the edited image.
        relative_drop: ``(before - after) / |before|``; 1 means the response vanished,
            0 no change, negative an increase. None when ``before`` is 0.
        region: For occlusion, the blurred box ``[left, top, right, bottom]`` in pixels.
        note: How to read the result.
    """

    neuron: int
    image_id: str
    concept: str
    method: Literal["edit", "occlusion"]
    editor: str | None = None
    instruction: str | None = None
    edited_image_id: str
    activation_before: float
    activation_after: float
    relative_drop: float | None
    region: list[int] | None = None
    note: str


class StoredEvaluation(BaseModel):
    """A CoSy grade of a label, kept in the workspace so run pages can show it.

    Attributes:
        target: The target spec the neuron belongs to.
        layer: Its layer.
        neuron: The neuron.
        label: The label graded.
        auc: Area under the ROC curve, label images against control images.
        mad: Mean difference in control standard deviations.
        auprc: Area under the precision-recall curve.
        mann_whitney_p: One-sided Mann-Whitney p-value.
        images: Label images drawn.
        controls: Control images read.
        generator: What drew the label images.
        control: The control set.
        held_out: Whether both are held out from the loop's sources.
        evaluated_at: When (UTC).
        format_version: The stored format (see :mod:`line_mcp.store.versions`).
    """

    target: str
    layer: str
    neuron: int
    label: str
    auc: float
    mad: float
    auprc: float
    mann_whitney_p: float
    images: int
    controls: int
    generator: str
    control: str
    held_out: bool
    evaluated_at: str = Field(default_factory=utc_now)
    format_version: int = 1
