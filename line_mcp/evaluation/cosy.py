"""The CoSy protocol (paper, appendix F) on line-mcp's backends and caches.

For a label of a neuron: draw images of the label with an evaluation prompt
and the evaluation's own seed, read the neuron on them and on a control set,
and score how well the label's images stand out: AUC, MAD, AUPRC and the
Mann-Whitney p-value (:mod:`line_mcp.evaluation.metrics`).

Held-out scoring: the images that grade a label should not be the ones the
loop optimised. :func:`resolve_sources` picks evaluation sources the loop did
not draw from when the loop used the offline image banks (see
:data:`HELD_OUT_NOTE`); with a real text-to-image model the CoSy prompt and
seed give new images of the same model, and any other generator or control
set can be named. The report always says which sources graded the labels.

Images and activations go through :meth:`Drawing.draw_batches` and
:meth:`Vocabulary.control_activations`, so they share the workspace caches
with the loop: a label drawn once is scored for every neuron of the layer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from line_mcp.backends.base import DrawRequest
from line_mcp.backends.registry import parse_spec
from line_mcp.config import PAPER_ANGLES, PAPER_LIGHTINGS, BackendConfig
from line_mcp.core import prompts
from line_mcp.core.concepts import concept_key
from line_mcp.core.records import StoredEvaluation
from line_mcp.core.seeds import derive_seed, derived_rng
from line_mcp.errors import InputError
from line_mcp.evaluation import metrics
from line_mcp.evaluation.labels import LabelRow
from line_mcp.progress import ProgressCallback, no_progress
from line_mcp.service import LineService
from line_mcp.store.workspace import Workspace

_MEANS = ("auc", "mad", "auprc")
COSY_PROMPT = "realistic photo of a close up of {concept}"

#: Why the embedded stack's held-out defaults are what they are (measured, see the text).
HELD_OUT_NOTE = (
    "the loop drew from other banks, so these images were never optimised on; measured on "
    "30 class logits, drawing openmoji against openclipart controls gives a mean AUC of 0.84 "
    "for the true class against 0.55 for a wrong class"
)

# Banks in the order preferred for held-out drawing, and for the control set.
_DRAW_PREFERENCE = ("openmoji", "tuxpaint", "openclipart")
_CONTROL_PREFERENCE = ("openclipart", "openmoji", "tuxpaint")
# Openclipart holds 6,897 images; a seeded 1,000-label subset (~1,500 images) keeps the
# one-off control pass near a minute on two cores.
_CONTROL_LIMITS = {"openclipart": 1000}


class EvaluationConfig(BaseModel):
    """How labels are drawn and graded.

    Attributes:
        prompt: Text-to-image template with {concept}; {angle} and {lighting} are optional.
        images_per_concept: Images drawn per label (CoSy: 50).
        angles: Framing hints sampled per image; generators that read only the
            prompt ignore them, the image-bank stand-in frames its variations by them.
            The paper's four angles by default: on 8 class logits (20 images each,
            openmoji against openclipart) they gave the true class a mean AUC of 0.81
            against 0.53 for the 7 wrong classes, where close-up crops alone gave 0.77
            against 0.52.
        lightings: Lighting hints, likewise (the paper's three).
        seed: The evaluation's own seed (differs from the loop's default 0).
        generator: Generator spec that draws the labels; None picks held-out sources
            (:func:`resolve_sources`).
        control: Control set spec; None picks it with the generator.
        keep_images: Store the drawn pixels in the workspace (they can always be
            re-drawn from prompt and seed; activations are cached either way).

    Example:
        >>> EvaluationConfig(images_per_concept=20).prompt
        'realistic photo of a close up of {concept}'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str = COSY_PROMPT
    images_per_concept: int = Field(50, ge=1, le=1000)
    angles: tuple[str, ...] = PAPER_ANGLES
    lightings: tuple[str, ...] = PAPER_LIGHTINGS
    seed: int = 1
    generator: str | None = None
    control: str | None = None
    keep_images: bool = False

    @model_validator(mode="after")
    def _check(self) -> Self:
        if "{concept}" not in self.prompt:
            raise ValueError(f"the evaluation prompt must contain {{concept}}: {self.prompt!r}")
        unknown = set(re.findall(r"{(\w+)}", self.prompt)) - {"concept", "angle", "lighting"}
        if unknown:
            raise ValueError(
                f"the evaluation prompt may use {{concept}}, {{angle}} and {{lighting}} only, "
                f"not {', '.join(sorted(unknown))}: {self.prompt!r}"
            )
        if not self.angles or not self.lightings:
            raise ValueError("angles and lightings must each have at least one value")
        return self


class EvaluationSources(BaseModel):
    """The image sources that grade the labels, and how they relate to the loop's.

    Attributes:
        generator: Generator spec of the evaluation images.
        control: Control set spec.
        loop_generator: The generator the loop optimised with.
        loop_control: The loop's control set (its vocabulary).
        held_out_generator: The evaluation draws from another source than the loop
            (for image banks: no bank in common).
        held_out_control: The control set differs from the loop's and shares no
            bank with the evaluation's drawing source. It may share a bank with the
            loop's generator: images the loop drew from, used as negatives, can only
            lower a label's score.
        note: Why these sources.
    """

    generator: str
    control: str
    loop_generator: str
    loop_control: str
    held_out_generator: bool
    held_out_control: bool
    note: str


def _bank_names(spec: str) -> list[str] | None:
    """The banks a ``bank:`` or ``compose:`` spec draws from, None for any other scheme."""
    from line_mcp.backends.compose.generator import DEFAULT_BANKS

    scheme, argument, _ = parse_spec(spec)
    defaults = {"bank": "tuxpaint+openclipart", "compose": DEFAULT_BANKS}
    if scheme not in defaults:
        return None
    return [name for name in (argument or defaults[scheme]).split("+") if name]


def resolve_sources(loop: BackendConfig, config: EvaluationConfig) -> EvaluationSources:
    """Pick the evaluation's generator and control set.

    Given sources are used as they are. Otherwise, when the loop drew from
    image banks, the evaluation draws from the banks the loop did not draw
    from and uses another bank as control (for the embedded default: draw
    ``openmoji``, control ``openclipart?limit=1000``); with any other generator
    it reuses the loop's generator (new prompt and seed) and control set.

    Args:
        loop: The backends the loop ran with.
        config: The evaluation settings.

    Returns:
        The :class:`EvaluationSources`.

    Example:
        >>> resolve_sources(BackendConfig(), EvaluationConfig()).generator
        'bank:openmoji'
    """
    loop_banks = _bank_names(loop.generator)
    generator, control = config.generator, config.control
    note = "as given"
    if generator is None:
        if loop_banks is None:
            generator, note = loop.generator, "the loop's generator with the evaluation prompt/seed"
        else:
            unused = [b for b in _DRAW_PREFERENCE if b not in loop_banks]
            if not unused:
                raise InputError(
                    f"the loop drew from every image bank ({loop.generator}); name an "
                    "evaluation generator (e.g. a diffusers model) to score on held-out images"
                )
            generator, note = "bank:" + "+".join(unused), HELD_OUT_NOTE
    if control is None:
        drawing_banks = _bank_names(generator) or []
        if loop_banks is None and config.generator is None:
            control = loop.control
        else:
            choice = next((b for b in _CONTROL_PREFERENCE if b not in drawing_banks), None)
            if choice is None:
                raise InputError(
                    f"the evaluation draws from every image bank ({generator}); name a control set"
                )
            limit = _CONTROL_LIMITS.get(choice)
            control = f"bank:{choice}" + (f"?limit={limit}" if limit else "")
    control_banks = set(_bank_names(control) or [])
    drawing = set(_bank_names(generator) or [])
    if drawing and loop_banks is not None:
        held_out_generator = not drawing & set(loop_banks)
    else:
        held_out_generator = generator != loop.generator
    return EvaluationSources(
        generator=generator,
        control=control,
        loop_generator=loop.generator,
        loop_control=loop.control,
        held_out_generator=held_out_generator,
        held_out_control=control != loop.control
        and not control_banks & set(_bank_names(generator) or []),
        note=note,
    )


class CosyScore(BaseModel):
    """The CoSy scores of one label for one neuron.

    Attributes:
        layer: The target layer.
        neuron: Index of the neuron.
        label: The evaluated explanation.
        origin: Where the label came from.
        auc: P(label image activates more than a control image).
        mad: Mean activation difference in control standard deviations.
        auprc: Average precision of the neuron as a detector of the label's images.
        mann_whitney_u: U of the label images against the control images.
        mann_whitney_p: One-sided p that the label images activate the neuron more.
        concept_mean: Mean activation on the label's images.
        control_mean: Mean activation on the control images.
        control_std: Standard deviation on the control images (ddof = 1).
        n_concept: Label images.
        n_control: Control images.
        image_ids: Workspace ids of the label's images.
    """

    layer: str
    neuron: int
    label: str
    origin: str = "cli"
    auc: float
    mad: float
    auprc: float
    mann_whitney_u: float
    mann_whitney_p: float
    concept_mean: float
    control_mean: float
    control_std: float
    n_concept: int
    n_control: int
    image_ids: list[str] = Field(default_factory=list)


class EvaluationReport(BaseModel):
    """Every score of one evaluation and what produced it.

    Attributes:
        config: The :class:`EvaluationConfig` as a dict.
        loop_backends: The backends the loop ran with (``BackendConfig.to_dict()``).
        sources: The evaluation's image sources.
        fingerprints: Fingerprints of the target, evaluation generator and control set.
        scores: One :class:`CosyScore` per label.
        seconds: Wall time.
    """

    config: dict[str, Any]
    loop_backends: dict[str, Any]
    sources: EvaluationSources
    fingerprints: dict[str, str] = Field(default_factory=dict)
    scores: list[CosyScore] = Field(default_factory=list)
    seconds: float = 0.0

    def means(self) -> dict[str, dict[str, float]]:
        """Mean AUC, MAD and AUPRC per layer."""
        result: dict[str, dict[str, float]] = {}
        for layer in dict.fromkeys(s.layer for s in self.scores):
            rows = [s for s in self.scores if s.layer == layer]
            result[layer] = {
                "n": len(rows),
                **{k: float(np.mean([getattr(s, k) for s in rows])) for k in _MEANS},
            }
        return result


def evaluation_requests(concept: str, config: EvaluationConfig) -> list[DrawRequest]:
    """The evaluation's draw requests for a label: its prompt, its seeds.

    Seeds depend on the evaluation seed and the label's canonical key only, so
    a label is the same images for every neuron (and cached once).
    """
    key = concept_key(concept)
    requests = []
    for i in range(config.images_per_concept):
        rng = derived_rng(config.seed, "cosy", key, i)
        angle, lighting = rng.choice(config.angles), rng.choice(config.lightings)
        values = {"concept": concept, "angle": angle, "lighting": lighting}
        prompt = prompts.fill(
            config.prompt, **{k: v for k, v in values.items() if f"{{{k}}}" in config.prompt}
        )
        requests.append(
            DrawRequest(
                concept,
                prompt,
                # Image ids key on (generator, prompt, seed): hints the prompt does not
                # show must change the seed, or differently framed images would collide.
                derive_seed(config.seed, "cosy-image", key, i, angle, lighting),
                angle,
                lighting,
            )
        )
    return requests


class CosyEvaluator:
    """Scores labels of one layer's neurons with the CoSy protocol.

    Args:
        service: A service built with the backends the loop ran with (its
            target and layer are evaluated; its generator and control tell
            which sources are held out).
        config: Evaluation settings.

    Example:
        >>> service = LineService(BackendConfig(layer="logits"), "ws")  # doctest: +SKIP
        >>> evaluator = CosyEvaluator(service)  # doctest: +SKIP
        >>> evaluator.score([LabelRow(340, "zebra")])[0].auc  # doctest: +SKIP
        0.97
    """

    def __init__(self, service: LineService, config: EvaluationConfig | None = None) -> None:
        self.config = config or EvaluationConfig()
        self.sources = resolve_sources(service.config, self.config)
        self.service = service.with_backends(
            generator=self.sources.generator, control=self.sources.control
        )

    def control(self) -> np.ndarray:
        """The layer's activations on the control images, ``[n_control, n_neurons]``."""
        return self.service.vocabulary.control_activations()[1]

    def score(self, rows: Sequence[LabelRow]) -> list[CosyScore]:
        """Score labels of this evaluator's layer (each distinct label is drawn once).

        Args:
            rows: Labels; a row's ``layer`` must be None or this layer.

        Returns:
            One :class:`CosyScore` per row, in order.

        Raises:
            NeuronError: a neuron outside the layer.
            ValueError: a row of another layer.
        """
        layer = self.service.config.layer
        for row in rows:
            if row.layer not in (None, layer):
                raise InputError(f"label of layer {row.layer!r} given to the {layer!r} evaluator")
            self.service.backends.check_neuron(row.neuron)
        control = self.control()
        concepts = list(dict.fromkeys(row.label for row in rows))
        drawn = self.service.drawing.draw_batches(
            concepts,
            [evaluation_requests(c, self.config) for c in concepts],
            keep_images=self.config.keep_images,
        )
        by_concept = {images.concept: images for images in drawn}
        scores = []
        for row in rows:
            images = by_concept[row.label]
            concept_values = images.activations[:, row.neuron].astype(np.float64)
            control_values = control[:, row.neuron].astype(np.float64)
            test = metrics.mann_whitney(concept_values, control_values, "greater")
            scores.append(
                CosyScore(
                    layer=layer,
                    neuron=row.neuron,
                    label=row.label,
                    origin=row.origin,
                    auc=metrics.auc(control_values, concept_values),
                    mad=metrics.mad(control_values, concept_values),
                    auprc=metrics.auprc(control_values, concept_values),
                    mann_whitney_u=test.statistic,
                    mann_whitney_p=test.p_value,
                    concept_mean=float(concept_values.mean()),
                    control_mean=float(control_values.mean()),
                    control_std=float(control_values.std(ddof=1)),
                    n_concept=int(concept_values.size),
                    n_control=int(control_values.size),
                    image_ids=images.image_ids,
                )
            )
        return scores


def evaluate_labels(
    loop_backends: BackendConfig,
    workspace: Workspace | str | Path,
    rows: Sequence[LabelRow],
    config: EvaluationConfig | None = None,
    progress: ProgressCallback = no_progress,
) -> EvaluationReport:
    """Score labels with the CoSy protocol, layer by layer.

    Args:
        loop_backends: The backends the labels' loop ran with; rows without a
            layer belong to ``loop_backends.layer``.
        workspace: The workspace whose caches are shared with the loop.
        rows: The labels.
        config: Evaluation settings.
        progress: Called as control images are read.

    Returns:
        An :class:`EvaluationReport` with one score per row, in order.

    Example:
        >>> report = evaluate_labels(BackendConfig(layer="logits"), "ws",
        ...                          [LabelRow(340, "zebra")])  # doctest: +SKIP
    """
    if not rows:
        raise InputError("no labels to evaluate")
    config = config or EvaluationConfig()
    start = time.perf_counter()
    base = LineService(loop_backends, workspace, progress=progress)
    layers = list(dict.fromkeys(row.layer or loop_backends.layer for row in rows))
    scored: dict[int, CosyScore] = {}
    evaluator = None
    for layer in layers:
        service = base if layer == loop_backends.layer else base.with_backends(layer=layer)
        evaluator = CosyEvaluator(service, config)
        indices = [i for i, row in enumerate(rows) if (row.layer or loop_backends.layer) == layer]
        batch = [LabelRow(rows[i].neuron, rows[i].label, layer, rows[i].origin) for i in indices]
        for i, score in zip(indices, evaluator.score(batch), strict=True):
            scored[i] = score
    assert evaluator is not None
    for score in scored.values():  # kept for the run pages
        kept = stored_evaluation(loop_backends.target, score, evaluator.sources)
        base.workspace.save_evaluation(kept)
    return EvaluationReport(
        config=config.model_dump(mode="json"),
        loop_backends=loop_backends.to_dict(),
        sources=evaluator.sources,
        fingerprints=evaluator.service.backends.fingerprints(),
        scores=[scored[i] for i in range(len(rows))],
        seconds=time.perf_counter() - start,
    )


def stored_evaluation(
    target: str, score: CosyScore, sources: EvaluationSources
) -> StoredEvaluation:
    """What the workspace keeps of a grade (shown on the run pages)."""
    return StoredEvaluation(
        target=target,
        layer=score.layer,
        neuron=score.neuron,
        label=score.label,
        auc=score.auc,
        mad=score.mad,
        auprc=score.auprc,
        mann_whitney_p=score.mann_whitney_p,
        images=score.n_concept,
        controls=score.n_control,
        generator=sources.generator,
        control=sources.control,
        held_out=sources.held_out_generator and sources.held_out_control,
    )


def labels_from_runs(
    workspace: Workspace | str | Path, run_ids: Sequence[str]
) -> tuple[BackendConfig, list[LabelRow]]:
    """The final labels of stored runs, with the backends they ran with.

    Args:
        workspace: The workspace holding the runs.
        run_ids: Run ids, or ``["all"]`` for every finished run in the workspace.

    Returns:
        The runs' shared backends and one :class:`LabelRow` per run.

    Raises:
        ValueError: an unknown or unfinished run, or runs with different
            target, generator or control set (evaluate those separately).
    """
    store = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    every = list(run_ids) == ["all"]
    rows, backends = [], None
    for record in store.load_runs(run_ids):
        run_id = record.run_id
        if record.label is None:
            if every:
                continue
            raise InputError(f"run {run_id!r} is {record.status}: it has no final label yet")
        run_backends = BackendConfig.from_dict(record.backends)
        if backends is None:
            backends = run_backends
        for role in ("target", "generator", "control"):
            if getattr(run_backends, role) != getattr(backends, role):
                raise InputError(
                    f"runs used different {role}s ({getattr(backends, role)!r} and "
                    f"{getattr(run_backends, role)!r}); evaluate them separately"
                )
        rows.append(LabelRow(record.neuron, record.label.concept, record.layer, f"run:{run_id}"))
    if backends is None:
        raise InputError(f"no finished runs to evaluate in {store.root}")
    return backends, rows
