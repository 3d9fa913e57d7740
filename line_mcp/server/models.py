"""Typed results of the MCP tools: the SDK derives each tool's output schema from these."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from line_mcp.core.candidates import ProposalOrigin
from line_mcp.core.records import PendingProposal
from line_mcp.core.scoreboard import ScoreboardEntry, Step

RunStatus = Literal["not_started", "initialising", "running", "finished", "failed"]
JobStatus = Literal["queued", "running", "finished", "failed", "cancelled"]
JobKind = Literal["label_neuron", "init_scoreboard", "evaluate_label", "label_neurons"]


class ControlInfo(BaseModel):
    """The control set that gives the initial vocabulary."""

    name: str
    labels: int = Field(description="vocabulary size: distinct labels")
    images: int = Field(description="control images in all")
    init_scoring: Literal["control", "drawn"] = Field(
        description="'control': a label's score is the neuron's mean over its control images; "
        "'drawn': each label is drawn like a proposal, so both compete on equal footing"
    )


class LoadingView(BaseModel):
    """The answer of a tool whose models are still loading after start-up: call again later."""

    status: Literal["loading"] = "loading"
    loading: list[str] = Field(description="roles not loaded yet, as 'role (spec)'")
    current: str | None = Field(description="the role loading now")
    elapsed_s: float = Field(description="seconds since start-up")
    estimate_s: float | None = Field(
        description="seconds until they are loaded (from earlier starts); null: unknown"
    )
    next: str


class TargetInfo(BaseModel):
    """The model being explained and the backends in use."""

    target: str
    layer: str = Field(description="the layer whose neurons this server labels")
    neurons: int | None = Field(
        description="neurons in the layer; valid indices are 0..neurons-1 (null while loading)"
    )
    neuron_names: list[str] | None = Field(
        None, description="first names of the neurons when they have one (class logits)"
    )
    layers: dict[str, str] | None = Field(
        description="layers the target offers (start the server with --layer to label another)"
    )
    control: ControlInfo | None
    backends: dict[str, Any] = Field(description="spec string of each role")
    editor: str | None = Field(description="image editor for ablate_concept; None: occlusion")
    loop: dict[str, Any] = Field(description="the loop's numbers (N iterations, |P| images...)")
    vocabulary_ready: bool | None = Field(
        description="True: init_scoreboard answers at once; False: the first init of this "
        "layer scores the whole vocabulary as a background job (minutes on a CPU)"
    )
    loading: LoadingView | None = Field(
        None, description="models still loading after start-up; null fields wait for them"
    )
    next: str = Field(description="what to call next")


class BoardView(BaseModel):
    """A neuron's run: its scoreboard, where it stands and what to do next."""

    run_id: str
    neuron: int
    layer: str
    status: RunStatus
    scoreboard: list[ScoreboardEntry] = Field(
        description="the board H, best first; score = the neuron's mean activation over the "
        "concept's images (higher = the neuron responds more); step 0 = vocabulary"
    )
    steps_done: int
    iterations: int = Field(description="N: numbered steps before the summary step")
    next_step: Step | None = Field(description="1..N, 'S' for the summary, None when finished")
    proposed: list[str] = Field(
        description="concepts already tried; they may not be proposed again"
    )
    pending: PendingProposal | None = Field(
        None, description="a built-in proposal waiting for update_scoreboard"
    )
    label: ScoreboardEntry | None = Field(None, description="the best entry once finished")
    job_id: str | None = Field(None, description="the background job working on this run")
    error: str | None = None
    next: str = Field(description="what to call next")


class ProposalView(BaseModel):
    """A concept proposed by the built-in LLM for the next step of a neuron's run."""

    run_id: str
    neuron: int
    step: Step
    concept: str | None = Field(description="None when every reply was rejected")
    origin: Literal["llm", "guided", "summary"] = Field(
        description="who proposed it, as the recorded step will say: the built-in LLM "
        "('llm', 'summary') or offline knowledge with no LLM answer ('guided')"
    )
    proposal_origin: ProposalOrigin | None = Field(
        None,
        description="where the idea came from: the LLM's free text or a knowledge "
        "candidate (a WordNet relation, a bank label, a composition)",
    )
    reasoning: str
    attempts: int = Field(description="LLM replies asked for (re-asks after rejections)")
    rejected: list[str] = Field(description="why earlier replies were rejected")
    skipped: str | None = Field(
        None, description="set when no reply was valid: the step was recorded as skipped"
    )
    next: str


class ImageView(BaseModel):
    """A stored image: fetch the full PNG from ``uri`` (resources/read)."""

    image_id: str
    uri: str
    prompt: str | None = None
    seed: int | None = None
    activation: float | None = Field(
        None, description="the neuron's activation on this image (when a neuron was given)"
    )
    drawn_from: str = Field(
        "",
        description="what the image was made of: source images, their labels and match, "
        "and the attributes applied (empty for generators that do not say)",
    )
    source: dict[str, Any] = Field(
        default_factory=dict, description="the generator's full provenance record of the image"
    )


class GeneratedImages(BaseModel):
    """Images drawn for a concept with the run's prompt template and seeds."""

    concept: str
    images: list[ImageView]
    not_drawable: str | None = Field(
        None, description="why the image source cannot draw this concept (then no images)"
    )


class ImageActivation(BaseModel):
    """Activations of the asked neurons on one image."""

    image: str = Field(description="the image id or workspace path asked for")
    activations: dict[str, float] = Field(description="neuron index -> activation")


class ActivationsView(BaseModel):
    """Pooled activations read from the target layer."""

    layer: str
    neurons: list[int]
    images: list[ImageActivation]


class ConceptScore(BaseModel):
    """LINE's score of a concept for a neuron."""

    concept: str
    score: float | None = Field(
        description="mean activation over the concept's images; None when not drawable"
    )
    not_drawable: str | None = Field(
        None, description="why the image source cannot draw this concept (then no score)"
    )
    images: list[ImageView]
    board_rank: int | None = Field(
        None, description="rank it would take on the neuron's current board (1 = best)"
    )
    refused: str | None = Field(
        None,
        description="why update_scoreboard would refuse it (e.g. it repeats a concept)",
    )


class ScoresView(BaseModel):
    """Scores of concepts for one neuron; the board is not changed (see update_scoreboard)."""

    neuron: int
    scores: list[ConceptScore]
    board_min: float | None = Field(None, description="lowest score on the board, if started")
    board_max: float | None = Field(None, description="highest score on the board, if started")


class UpdateView(BaseModel):
    """The step recorded by update_scoreboard."""

    run_id: str
    neuron: int
    step: Step
    origin: Literal["llm", "guided", "summary", "client"] = Field(
        description="who proposed the concept: the built-in LLM ('llm', 'summary'), offline "
        "knowledge ('guided', proposal_origin names it) or you ('client')"
    )
    concept: str
    score: float | None = Field(description="the concept's score; None when it has none")
    not_drawable: str | None = Field(
        None,
        description="set when the image source could not draw the concept: the step "
        "was recorded with no score and the board did not change",
    )
    images: list[ImageView] = Field(
        default_factory=list, description="the step's images, with what each was drawn from"
    )
    removed: str | None = Field(description="the concept that left the board")
    replaced_minimum: bool | None = Field(
        description="True: the new concept beat the board's minimum, which left; False: it "
        "scored below, and a weak entry left at random (weighted by distance to the best)"
    )
    board: BoardView


class EvaluationView(BaseModel):
    """CoSy scores of one label for one neuron, on images the loop did not optimise on."""

    neuron: int
    label: str
    auc: float = Field(
        description="chance that a label image drives the neuron harder than a control "
        "image: 0.5 is chance, 1.0 perfect"
    )
    mad: float = Field(description="mean activation difference in control standard deviations")
    auprc: float = Field(description="average precision of the neuron as a label detector")
    mann_whitney_p: float = Field(
        description="one-sided p-value that the label's images drive the neuron more"
    )
    concept_mean: float = Field(description="mean activation on the label's images")
    control_mean: float = Field(description="mean activation on the control images")
    images: int = Field(description="label images drawn")
    controls: int = Field(description="control images")
    generator: str = Field(description="what drew the label's images")
    control: str = Field(description="the control set")
    held_out: bool = Field(
        description="drawing source and control both differ from the loop's, so the score is "
        "not the loop grading its own images"
    )
    note: str
    image_ids: list[str] = Field(description="the label's images, readable as line://images/{id}")


class JobView(BaseModel):
    """A background job; poll ``job_status`` until its status is final."""

    job_id: str
    kind: JobKind
    neuron: int
    run_id: str
    status: JobStatus
    progress: float = Field(description="0..1")
    elapsed_s: float | None = Field(None, description="seconds since it started (while running)")
    eta_s: float | None = Field(
        None, description="estimated seconds left, from its pace so far (null: not yet known)"
    )
    message: str
    owner_pid: int | None = Field(
        None, description="the server process running it (one of any server on the workspace)"
    )
    error: str | None = None
    evaluation: EvaluationView | None = Field(
        None, description="an evaluate_label job's result, once finished"
    )
    next: str
