"""The initial vocabulary: control activations, every label's score, the initial board.

Control and vocabulary matrices cover the whole layer and are cached in the
workspace under a key of what they depend on, so the first board of a layer
pays for the vocabulary and every later neuron of the layer reads it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from line_mcp.backends.base import DrawabilityCheck
from line_mcp.config import LoopConfig
from line_mcp.core.concepts import concept_key
from line_mcp.core.records import InitRecord
from line_mcp.core.scoreboard import initial_scoreboard
from line_mcp.core.seeds import derived_rng
from line_mcp.engine.backends import Backends
from line_mcp.engine.drawing import ConceptImages, Drawing, draw_requests
from line_mcp.engine.stopwatch import Stopwatch, timed
from line_mcp.progress import ProgressCallback, announce_one_time_step, no_progress
from line_mcp.store.workspace import Workspace

# Vocabulary labels drawn per generator call when scoring the vocabulary.
_VOCABULARY_CHUNK = 32
# Control images read per target call.
_CONTROL_BATCH = 64


@dataclass
class VocabularyScores:
    """Per-label mean activations of the whole layer: ``scores[label_index, neuron]``."""

    labels: list[str]
    scores: np.ndarray
    scoring: str
    images_per_label: float
    images: dict[str, ConceptImages] = field(default_factory=dict)


def digest(*parts: object) -> str:
    """A short stable hash of JSON-able parts (cache keys)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Vocabulary:
    """Scores the control set's labels on the layer and builds initial boards.

    Args:
        backends: Gives the target, the control set and the generator.
        workspace: Where the layer matrices are cached.
        drawing: Draws the labels for ``init_scoring="drawn"``.
        progress: Called as the vocabulary scoring advances (minutes on a CPU).
    """

    def __init__(
        self,
        backends: Backends,
        workspace: Workspace,
        drawing: Drawing,
        progress: ProgressCallback = no_progress,
    ) -> None:
        self.backends = backends
        self.workspace = workspace
        self.drawing = drawing
        self.progress = progress
        self._drawable: dict[tuple[str, str], list[str]] = {}

    def resolved_init_scoring(self, config: LoopConfig) -> str:
        """ "control" or "drawn" (resolving "auto" from the control set's images per label)."""
        if config.init_scoring != "auto":
            return config.init_scoring
        control = self.backends.control
        per_label = len(control.items()) / max(1, len(control.labels()))
        return "control" if per_label >= config.min_control_images else "drawn"

    def control_activations(self, clock: Stopwatch | None = None) -> tuple[list[str], np.ndarray]:
        """Every control image's layer vector, computed once per (target, layer, control set)."""
        target, control = self.backends.target, self.backends.control
        items = control.items()
        key = self.control_key()
        cached = self.workspace.load_arrays(key)
        if cached is None:
            rows = []
            for start in range(0, len(items), _CONTROL_BATCH):
                images = [control.load(k) for k, _ in items[start : start + _CONTROL_BATCH]]
                with self.backends.lock, timed(clock, "target"):
                    rows.append(target.activations(images))
                self.progress("control images", min(start + _CONTROL_BATCH, len(items)), len(items))
            cached = {"activations": np.concatenate(rows)}
            self.workspace.save_arrays(key, **cached)
        return [label for _, label in items], cached["activations"]

    def scores(self, config: LoopConfig, clock: Stopwatch | None = None) -> VocabularyScores:
        """Every vocabulary label's score for every neuron of the layer.

        ``control`` scoring averages each label's control images; ``drawn``
        draws each label through the generator with |P| images, exactly as a
        proposal is scored, so the initial board and the proposals compete on
        the same footing.
        """
        scoring = self.resolved_init_scoring(config)
        if scoring == "control":
            labels = self.backends.control.labels()
            image_labels, activations = self.control_activations(clock)
            index = {label: i for i, label in enumerate(labels)}
            sums = np.zeros((len(labels), activations.shape[1]), dtype=np.float64)
            counts = np.zeros(len(labels))
            for label, row in zip(image_labels, activations, strict=True):
                sums[index[label]] += row
                counts[index[label]] += 1
            return VocabularyScores(
                labels, (sums / counts[:, None]).astype(np.float32), scoring, float(counts.mean())
            )
        labels = self.drawable_labels()
        cached = self._cached_vocabulary(config)
        if cached is None:
            cached = {"scores": self._draw_labels(labels, config, config.images_per_concept, clock)}
            self.workspace.save_arrays(f"vocabulary-{self.vocabulary_key(config)}", **cached)
        return VocabularyScores(labels, cached["scores"], scoring, float(config.images_per_concept))

    def prepare(self, config: LoopConfig, clock: Stopwatch | None = None) -> None:
        """Score the layer's vocabulary now (its one-image screen with ``init_screen``)."""
        if config.init_screen and self.resolved_init_scoring(config) == "drawn":
            self.screen_scores(config, clock)
        else:
            self.scores(config, clock)

    def drawable_labels(self) -> list[str]:
        """The control set's labels the generator can draw (all of them for most generators).

        Asked once per board; the answer is kept per (generator, control set), in memory
        and in the workspace, since a first check over a whole vocabulary opens every
        source image it names (10 s for the compose default's 1,726 labels).
        """
        generator, control = self.backends.generator, self.backends.control
        key = (generator.fingerprint, control.fingerprint)
        if key not in self._drawable:
            labels = control.labels()
            if isinstance(generator, DrawabilityCheck):  # score only what it can show
                stored = f"drawable-{digest(*key)}"
                cached = self.workspace.load_arrays(stored)
                if cached is None or len(cached["drawable"]) != len(labels):
                    cached = {"drawable": np.array(generator.can_draw(labels), dtype=bool)}
                    self.workspace.save_arrays(stored, **cached)
                labels = [
                    label for label, ok in zip(labels, cached["drawable"], strict=True) if ok
                ]
            self._drawable[key] = labels
        return list(self._drawable[key])

    def vocabulary_labels(self, config: LoopConfig) -> list[str]:
        """The labels an initial board is chosen from, without scoring any of them."""
        if self.resolved_init_scoring(config) == "control":
            return self.backends.control.labels()
        return self.drawable_labels()

    def screen_scores(self, config: LoopConfig, clock: Stopwatch | None = None) -> VocabularyScores:
        """Every drawable label scored on one image (its first), for ``init_screen`` (cached).

        The screen image is the first of the label's |P| images, so drawing the
        full set for a shortlisted label draws only the other |P| - 1.
        """
        labels = self.drawable_labels()
        key = f"vocabulary-screen-{self.vocabulary_key(config)}"
        cached = self.workspace.load_arrays(key)
        if cached is None:
            cached = {"scores": self._draw_labels(labels, config, 1, clock)}
            self.workspace.save_arrays(key, **cached)
        return VocabularyScores(labels, cached["scores"], "drawn", 1.0)

    def _draw_labels(
        self, labels: Sequence[str], config: LoopConfig, n_images: int, clock: Stopwatch | None
    ) -> np.ndarray:
        """``[len(labels), n_neurons]``: each label's mean activation over its first n images.

        Announces the one-time step on stderr (with an estimate from the first labels)
        when someone watches the progress.
        """
        rows: list[np.ndarray] = []
        screen = n_images < config.images_per_concept
        task = "vocabulary screen" if screen else "vocabulary drawn"
        announce = self.progress is not no_progress  # someone is watching the work
        what = (
            f"scoring the {len(labels)} vocabulary labels of layer "
            f"{self.backends.target.layer}, {n_images} drawn image{'s' * (n_images > 1)} each"
        )
        why = (
            "the initial scoreboards of this layer's neurons; cached, so every later "
            "neuron of the layer starts at once"
        )
        if screen:
            why = "a one-image screen for the initial scoreboards (init_screen); cached"
        if announce:
            announce_one_time_step(what, why)
        started = time.perf_counter()
        for start in range(0, len(labels), _VOCABULARY_CHUNK):
            chunk = labels[start : start + _VOCABULARY_CHUNK]
            requests = [draw_requests(label, n_images, config) for label in chunk]
            # Pixels are kept: a neuron's initial board shows these images instead of
            # drawing its entries again (50 images per neuron on the embedded stack).
            drawn = self.drawing.draw_batches(chunk, requests, clock=clock)
            rows.extend(c.activations.mean(axis=0) for c in drawn)
            if announce and start == 0 and len(chunk) < len(labels):
                per_label = (time.perf_counter() - started) / len(chunk)
                announce_one_time_step(
                    what,
                    why,
                    per_label * (len(labels) - len(chunk)),
                    f"{per_label / n_images * 1000:.0f} ms per image, drawing and target, "
                    f"measured on the first {len(chunk)} labels",
                )
            self.progress(task, start + len(chunk), len(labels))
        return np.stack(rows).astype(np.float32)

    def control_key(self) -> str:
        """The cache key of the control activations: target, layer and control set."""
        target, control = self.backends.target, self.backends.control
        return f"control-{digest(target.fingerprint, target.layer, control.fingerprint)}"

    def vocabulary_key(self, config: LoopConfig) -> str:
        """The cache key of drawn vocabulary scores: the backends' fingerprints and the
        loop's image identity (:meth:`LoopConfig.identity`), every field that changes
        a drawn image."""
        backends = self.backends
        return digest(
            backends.target.fingerprint,
            backends.target.layer,
            backends.generator.fingerprint,
            backends.control.fingerprint,
            config.identity("images"),
        )

    def format_one_vocabulary_key(self, config: LoopConfig) -> str:
        """The key workspaces of format 1 saved drawn vocabulary scores under.

        Only for upgrading: :meth:`scores` moves such a cache to :meth:`vocabulary_key`.
        """
        backends = self.backends
        return digest(
            backends.target.fingerprint,
            backends.target.layer,
            backends.generator.fingerprint,
            backends.control.fingerprint,
            config.images_per_concept,
            config.seed,
            config.image_prompt,
            config.angles,
            config.lightings,
        )

    def _cached_vocabulary(self, config: LoopConfig) -> dict[str, np.ndarray] | None:
        """The drawn scores under the current key, or a format-1 cache saved under it now."""
        key = f"vocabulary-{self.vocabulary_key(config)}"
        cached = self.workspace.load_arrays(key)
        if cached is None:
            cached = self.workspace.load_arrays(
                f"vocabulary-{self.format_one_vocabulary_key(config)}"
            )
            if cached is not None:
                self.workspace.save_arrays(key, **cached)
        return cached

    def cache_key(self, config: LoopConfig) -> str:
        """The workspace key of what initial boards read: the control activations or the
        drawn vocabulary scores."""
        if self.resolved_init_scoring(config) == "control":
            return self.control_key()
        return f"vocabulary-{self.vocabulary_key(config)}"

    def ready(self, config: LoopConfig) -> bool:
        """Whether the layer's vocabulary scores are cached, so an initial board is quick.

        When False, the first :meth:`initial_board` of the layer scores the
        whole vocabulary (minutes on a CPU with the embedded stack).
        """
        if self.resolved_init_scoring(config) == "control":
            return self.workspace.has_arrays(self.control_key())
        if config.init_screen:
            return self.workspace.has_arrays(f"vocabulary-screen-{self.vocabulary_key(config)}")
        keys = (self.vocabulary_key(config), self.format_one_vocabulary_key(config))
        return any(self.workspace.has_arrays(f"vocabulary-{key}") for key in keys)

    def initial_board(
        self,
        neuron: int,
        config: LoopConfig,
        clock: Stopwatch | None = None,
        exclude: Sequence[str] = (),
        pool: Sequence[tuple[str, float]] = (),
    ) -> InitRecord:
        """The initial board of a neuron: top ``init_top`` + ``init_random`` random labels.

        ``exclude``: labels left out of the vocabulary for this board (a neuron's
        earlier concepts, see :mod:`line_mcp.polysemantic`). ``pool``: concepts
        other neurons drew and their scores for this neuron, which join the
        vocabulary (``share_concepts``; a label already there keeps its score).
        """
        self.backends.check_neuron(neuron)
        start = time.perf_counter()
        screened = config.init_screen > 0 and self.resolved_init_scoring(config) == "drawn"
        vocabulary = self.screen_scores(config, clock) if screened else self.scores(config, clock)
        labels, scores = vocabulary.labels, vocabulary.scores[:, neuron].astype(np.float64)
        known = {concept_key(label) for label in labels}
        extra = [(c, s) for c, s in pool if concept_key(c) not in known]
        if extra:
            labels = [*labels, *(c for c, _ in extra)]
            scores = np.concatenate([scores, np.array([s for _, s in extra], dtype=scores.dtype)])
        if exclude:
            excluded = set(exclude)
            keep = [i for i, label in enumerate(labels) if label not in excluded]
            labels, scores = [labels[i] for i in keep], scores[keep]
        shortlist: list[int] = []
        if screened:  # full |P| images for the screen's best; the others get no score
            shortlist = np.argsort(-scores, kind="stable")[: config.init_screen].tolist()
            full = self.drawing.draw([labels[i] for i in shortlist], config, clock=clock)
            scores = np.full(len(labels), -np.inf)
            scores[shortlist] = [c.activations.mean(axis=0)[neuron] for c in full]
        entries = initial_scoreboard(
            labels,
            scores.tolist(),
            config.init_top,
            config.init_random,
            derived_rng(config.seed, "init", neuron),
        )
        ranked = np.argsort(-scores, kind="stable")[: min(20, len(shortlist) or len(labels))]
        images = {}
        if vocabulary.scoring == "drawn":  # the board's images (cached: the vocabulary drew them)
            drawn = self.drawing.draw([e.concept for e in entries], config, clock=clock)
            for concept_images in drawn:
                images[concept_images.concept] = concept_images.for_neuron(neuron)
            if screened:  # random entries outside the shortlist: scored on their |P| images
                full_scores = {c.concept: c.activations.mean(axis=0)[neuron] for c in drawn}
                entries = sorted(
                    (
                        e.model_copy(update={"score": float(full_scores[e.concept])})
                        for e in entries
                    ),
                    key=lambda e: e.score,
                    reverse=True,
                )
        return InitRecord(
            scoring=vocabulary.scoring,  # type: ignore[arg-type]
            vocabulary_size=len(labels),
            images_per_label=float(config.images_per_concept)
            if screened
            else vocabulary.images_per_label,
            screened=len(shortlist) if screened else None,
            entries=entries,
            top_vocabulary=[(labels[i], float(scores[i])) for i in ranked],
            images=images,
            pool=[c for c, _ in extra],
            seconds={"total": time.perf_counter() - start},
        )
