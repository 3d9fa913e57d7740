"""The LINE operations, shared by every driver (CLI loop, MCP tools, scripts).

:class:`LineService` owns the backends (built lazily from a
:class:`~line_mcp.config.BackendConfig` and kept for the life of the process)
and the workspace. It never computes anything twice: drawn images are
content-addressed by (generator, prompt, seed), and every image's whole layer
vector is cached, so a concept drawn for one neuron scores every neuron of the
layer for free; control and vocabulary matrices are cached per fingerprint.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from line_mcp.backends.base import DrawRequest
from line_mcp.backends.registry import BackendError, BuildContext, resolve
from line_mcp.config import BackendConfig, LoopConfig
from line_mcp.core import prompts
from line_mcp.core.answers import parse_answer
from line_mcp.core.candidates import (
    Candidate,
    ConceptKnowledge,
    ProposalOrigin,
    RankedCandidates,
    choose,
    embedding_scores,
    filter_new,
    standardise,
)
from line_mcp.core.concepts import concept_key
from line_mcp.core.records import AblationResult, Attempt, DrawnImage, InitRecord
from line_mcp.core.scoreboard import ScoreboardEntry, initial_scoreboard, mean_activation
from line_mcp.core.seeds import derive_seed, derived_rng
from line_mcp.progress import ProgressCallback, no_progress
from line_mcp.store.workspace import Workspace, image_id_for

# Vocabulary labels drawn per generator call when scoring the vocabulary.
_VOCABULARY_CHUNK = 32
# proposal="auto" guides proposers smaller than this (FEASIBILITY: 100-300 M models
# cannot do LINE's proposal step by free generation).
SMALL_PROPOSER_PARAMETERS = 1_000_000_000
# Candidates listed as hints to the LLM with proposal="hinted".
_HINTS = 10


class NeuronError(ValueError):
    """A neuron index outside the layer."""


@dataclass
class ConceptImages:
    """The images drawn for a concept and their whole-layer activations.

    Attributes:
        concept: The concept drawn.
        requests: One draw request per image (prompt and seed).
        image_ids: Content addresses in the workspace.
        sources: What the generator reported per image.
        activations: ``[n_images, n_neurons]`` layer vectors.
    """

    concept: str
    requests: list[DrawRequest]
    image_ids: list[str]
    sources: list[dict[str, Any]]
    activations: np.ndarray

    def for_neuron(self, neuron: int) -> list[DrawnImage]:
        """Per-image records for one neuron."""
        return [
            DrawnImage(image_id=i, prompt=r.prompt, seed=r.seed, activation=float(a), source=s)
            for i, r, s, a in zip(
                self.image_ids,
                self.requests,
                self.sources,
                self.activations[:, neuron],
                strict=True,
            )
        ]


@dataclass
class VocabularyScores:
    """Per-label mean activations of the whole layer: ``scores[label_index, neuron]``."""

    labels: list[str]
    scores: np.ndarray
    scoring: str
    images_per_label: float
    images: dict[str, ConceptImages] = field(default_factory=dict)


@dataclass
class Proposal:
    """A proposal: the accepted concept (None if every attempt was rejected).

    ``origin`` says where the concept came from (see
    :data:`line_mcp.core.candidates.ProposalOrigin`); ``ranking`` holds the
    candidates a guided proposal chose among.
    """

    concept: str | None
    reasoning: str
    prompt: str
    attempts: list[Attempt]
    origin: ProposalOrigin | None = None
    ranking: RankedCandidates | None = None


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class LineService:
    """LINE's operations over one set of backends and one workspace.

    Args:
        backends: Which implementation fills each role.
        workspace: The workspace folder or object.
        progress: Called as long work (vocabulary scoring) advances.

    Example:
        >>> service = LineService(BackendConfig(), "./line-workspace")  # doctest: +SKIP
        >>> service.score_concept(12, "zebra", LoopConfig()).score  # doctest: +SKIP
        3.41
    """

    def __init__(
        self,
        backends: BackendConfig,
        workspace: Workspace | str | Path,
        progress: ProgressCallback = no_progress,
    ) -> None:
        self.backends = backends
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        self.progress = progress
        self.seconds: Counter[str] = Counter()
        # One model call at a time: parallel callers must not share a device unbatched.
        self._model_lock = threading.RLock()

    # --- backends, built on first use ------------------------------------------------------

    def _context(self) -> BuildContext:
        return BuildContext(
            device=_resolve_device(self.backends.device),
            layer=self.backends.layer,
            cache_dir=self.workspace.root,
        )

    @functools.cached_property
    def embedder(self):
        with self._timed("load"):
            return resolve("embedder", self.backends.embedder, self._context())

    @functools.cached_property
    def target(self):
        with self._timed("load"):
            return resolve("target", self.backends.target, self._context())

    @functools.cached_property
    def generator(self):
        context = self._context()
        context.embedder = self.embedder
        with self._timed("load"):
            return resolve("generator", self.backends.generator, context)

    @functools.cached_property
    def proposer(self):
        with self._timed("load"):
            return resolve("proposer", self.backends.proposer, self._context())

    @functools.cached_property
    def control(self):
        with self._timed("load"):
            return resolve("control", self.backends.control, self._context())

    @functools.cached_property
    def editor(self):
        """The image editor for concept ablation, or None when ``BackendConfig.editor`` is unset."""
        if self.backends.editor is None:
            return None
        with self._timed("load"):
            return resolve("editor", self.backends.editor, self._context())

    def with_backends(self, **changes: str) -> LineService:
        """A service over the same workspace with some backend specs changed.

        Backends whose spec did not change (for the target, nor its layer and
        device) are shared with this service instead of being built again.

        Args:
            changes: ``BackendConfig`` fields and their new values.

        Returns:
            The new :class:`LineService`.

        Example:
            >>> held_out = service.with_backends(generator="bank:openmoji")  # doctest: +SKIP
        """
        backends = BackendConfig.from_dict({**self.backends.to_dict(), **changes})
        other = LineService(backends, self.workspace, self.progress)
        other._model_lock = self._model_lock
        depends = {
            "embedder": ("embedder", "device"),
            "target": ("target", "layer", "device"),
            "control": ("control",),
            "generator": ("generator", "embedder", "device"),
            "proposer": ("proposer", "device"),
        }
        for role, fields in depends.items():
            if role in self.__dict__ and all(
                getattr(backends, f) == getattr(self.backends, f) for f in fields
            ):
                other.__dict__[role] = self.__dict__[role]
        return other

    def load(self) -> None:
        """Build every backend now, so a bad spec fails before any run is stored."""
        for role in ("embedder", "target", "control", "generator", "proposer"):
            getattr(self, role)

    def fingerprints(self) -> dict[str, str]:
        """Fingerprints of the backends loaded so far."""
        names = ("target", "generator", "proposer", "embedder", "control")
        return {name: self.__dict__[name].fingerprint for name in names if name in self.__dict__}

    @contextmanager
    def _timed(self, part: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[part] += time.perf_counter() - start

    def check_neuron(self, neuron: int) -> None:
        """Raise :class:`NeuronError` unless ``neuron`` indexes the target layer."""
        count = self.target.num_neurons
        if not 0 <= neuron < count:
            raise NeuronError(
                f"neuron {neuron} is out of range for layer {self.backends.layer!r} of "
                f"{self.target.name}: it has {count} neurons (0..{count - 1})"
            )

    # --- drawing and activations -------------------------------------------------------------

    def draw_requests(self, concept: str, n_images: int, config: LoopConfig) -> list[DrawRequest]:
        """The |P| prompts and seeds for a concept.

        Angle, lighting and seed depend on the run seed and the concept's
        canonical key only, not on the neuron or step, so a concept drawn for
        one neuron is the same images for every other neuron.
        """
        key = concept_key(concept)
        requests = []
        for i in range(n_images):
            rng = derived_rng(config.seed, "template", key, i)
            angle, lighting = rng.choice(config.angles), rng.choice(config.lightings)
            prompt = prompts.image_prompt(config.image_prompt, concept, angle, lighting)
            requests.append(
                DrawRequest(
                    concept, prompt, derive_seed(config.seed, "image", key, i), angle, lighting
                )
            )
        return requests

    def draw(
        self, concepts: Sequence[str], config: LoopConfig, keep_images: bool = True
    ) -> list[ConceptImages]:
        """Draw |P| images per concept (cached) and read the layer on them (cached).

        Args:
            concepts: Concepts to draw.
            config: Gives |P|, the template values and the seed.
            keep_images: Store the pixels; False indexes the images without pixels
                (they can be re-drawn from prompt and seed), for bulk vocabulary scoring.

        Returns:
            One :class:`ConceptImages` per concept, in order.
        """
        per_concept = [self.draw_requests(c, config.images_per_concept, config) for c in concepts]
        return self.draw_batches(concepts, per_concept, keep_images)

    def draw_batches(
        self,
        concepts: Sequence[str],
        per_concept: Sequence[Sequence[DrawRequest]],
        keep_images: bool = True,
    ) -> list[ConceptImages]:
        """Draw given requests per concept (cached) and read the layer on them (cached).

        :meth:`draw` builds the loop's requests; other protocols (the CoSy
        evaluation) build their own prompts and seeds and share the same caches.

        Args:
            concepts: Concepts to draw.
            per_concept: The draw requests of each concept, in the same order.
            keep_images: As in :meth:`draw`.

        Returns:
            One :class:`ConceptImages` per concept, in order.
        """
        generator, target = self.generator, self.target
        flat = [r for requests in per_concept for r in requests]
        ids = [image_id_for(generator.fingerprint, r.prompt, r.seed) for r in flat]
        cached = self.workspace.get_activations(target.fingerprint, target.layer, ids)
        sources: dict[str, dict[str, Any]] = {}
        for image_id in ids:
            info = self.workspace.image_info(image_id) if image_id in cached else None
            if info is not None and (info["stored"] or not keep_images):
                sources[image_id] = info["source"]
        todo = [(i, r) for i, r in zip(ids, flat, strict=True) if i not in sources]
        todo = list({i: r for i, r in todo}.items())  # the same image may be asked twice
        if todo:
            with self._model_lock:
                with self._timed("images"):
                    drawn = generator.generate([r for _, r in todo])
                with self._timed("target"):
                    vectors = target.activations([g.image for g in drawn])
            self.workspace.put_activations(
                target.fingerprint, target.layer, [i for i, _ in todo], vectors
            )
            for k, ((image_id, request), generated) in enumerate(zip(todo, drawn, strict=True)):
                self.workspace.put_image(
                    image_id,
                    generated.image if keep_images else None,
                    generator=generator.fingerprint,
                    concept=request.concept,
                    prompt=request.prompt,
                    seed=request.seed,
                    source=generated.source,
                )
                sources[image_id] = generated.source
                cached[image_id] = vectors[k]
        results, start = [], 0
        for concept, requests in zip(concepts, per_concept, strict=True):
            concept_ids = ids[start : start + len(requests)]
            start += len(requests)
            matrix = np.stack([cached[i] for i in concept_ids])
            results.append(
                ConceptImages(
                    concept, requests, concept_ids, [sources[i] for i in concept_ids], matrix
                )
            )
        return results

    def score_concept(
        self, neuron: int, concept: str, config: LoopConfig
    ) -> tuple[float, list[DrawnImage]]:
        """LINE's score of a concept for a neuron: the mean activation over its |P| images."""
        self.check_neuron(neuron)
        images = self.draw([concept], config)[0]
        return mean_activation(images.activations[:, neuron]), images.for_neuron(neuron)

    def read_activations(self, images: Sequence[Any]) -> np.ndarray:
        """The target layer on PIL images, ``[len(images), n_neurons]`` (one call, not cached)."""
        with self._model_lock, self._timed("target"):
            return self.target.activations(images)

    def image_activations(self, image_ids: Sequence[str]) -> np.ndarray:
        """Layer vectors of stored images, ``[len(image_ids), n_neurons]`` (cached per image).

        Raises:
            WorkspaceError: an id that is malformed or whose pixels are not stored.
        """
        target = self.target
        cached = self.workspace.get_activations(target.fingerprint, target.layer, image_ids)
        missing = list(dict.fromkeys(i for i in image_ids if i not in cached))
        if missing:
            vectors = self.read_activations([self.workspace.load_image(i) for i in missing])
            self.workspace.put_activations(target.fingerprint, target.layer, missing, vectors)
            cached.update(zip(missing, vectors, strict=True))
        return np.stack([cached[i] for i in image_ids])

    # --- the initial vocabulary --------------------------------------------------------------

    def resolved_init_scoring(self, config: LoopConfig) -> str:
        """ "control" or "drawn" (resolving "auto" from the control set's images per label)."""
        if config.init_scoring != "auto":
            return config.init_scoring
        per_label = len(self.control.items()) / max(1, len(self.control.labels()))
        return "control" if per_label >= config.min_control_images else "drawn"

    def control_activations(self) -> tuple[list[str], np.ndarray]:
        """Every control image's layer vector, computed once per (target, layer, control set)."""
        target, control = self.target, self.control
        items = control.items()
        key = self._control_key()
        cached = self.workspace.load_arrays(key)
        if cached is None:
            batch, rows = 64, []
            for start in range(0, len(items), batch):
                images = [control.load(k) for k, _ in items[start : start + batch]]
                with self._model_lock, self._timed("target"):
                    rows.append(target.activations(images))
                self.progress("control images", min(start + batch, len(items)), len(items))
            cached = {"activations": np.concatenate(rows)}
            self.workspace.save_arrays(key, **cached)
        return [label for _, label in items], cached["activations"]

    def vocabulary_scores(self, config: LoopConfig) -> VocabularyScores:
        """Every vocabulary label's score for every neuron of the layer.

        ``control`` scoring averages each label's control images; ``drawn``
        draws each label through the generator with |P| images, exactly as a
        proposal is scored, so the initial board and the proposals compete on
        the same footing.
        """
        scoring = self.resolved_init_scoring(config)
        labels = self.control.labels()
        if scoring == "control":
            image_labels, activations = self.control_activations()
            index = {label: i for i, label in enumerate(labels)}
            sums = np.zeros((len(labels), activations.shape[1]), dtype=np.float64)
            counts = np.zeros(len(labels))
            for label, row in zip(image_labels, activations, strict=True):
                sums[index[label]] += row
                counts[index[label]] += 1
            return VocabularyScores(
                labels, (sums / counts[:, None]).astype(np.float32), scoring, float(counts.mean())
            )
        # A generator that refuses what it cannot show (compose:) scores the labels it can draw.
        can_draw = getattr(self.generator, "can_draw", None)
        if can_draw is not None:
            labels = [label for label, ok in zip(labels, can_draw(labels), strict=True) if ok]
        draw_key = self._vocabulary_key(config)
        cached = self.workspace.load_arrays(f"vocabulary-{draw_key}")
        if cached is None:
            rows = []
            for start in range(0, len(labels), _VOCABULARY_CHUNK):
                chunk = labels[start : start + _VOCABULARY_CHUNK]
                rows.extend(
                    c.activations.mean(axis=0) for c in self.draw(chunk, config, keep_images=False)
                )
                self.progress("vocabulary drawn", start + len(chunk), len(labels))
            cached = {"scores": np.stack(rows).astype(np.float32)}
            self.workspace.save_arrays(f"vocabulary-{draw_key}", **cached)
        return VocabularyScores(labels, cached["scores"], scoring, float(config.images_per_concept))

    def _control_key(self) -> str:
        target, control = self.target, self.control
        return f"control-{_digest(target.fingerprint, target.layer, control.fingerprint)}"

    def _vocabulary_key(self, config: LoopConfig) -> str:
        return _digest(
            self.target.fingerprint,
            self.target.layer,
            self.generator.fingerprint,
            self.control.fingerprint,
            config.images_per_concept,
            config.seed,
            config.image_prompt,
            config.angles,
            config.lightings,
        )

    def vocabulary_ready(self, config: LoopConfig) -> bool:
        """Whether the layer's vocabulary scores are cached, so an initial board is quick.

        When False, the first :meth:`initial_scoreboard` of the layer scores the
        whole vocabulary (minutes on a CPU with the embedded stack).
        """
        if self.resolved_init_scoring(config) == "control":
            return self.workspace.has_arrays(self._control_key())
        return self.workspace.has_arrays(f"vocabulary-{self._vocabulary_key(config)}")

    def initial_scoreboard(self, neuron: int, config: LoopConfig) -> InitRecord:
        """The initial board of a neuron: top ``init_top`` + ``init_random`` random labels."""
        self.check_neuron(neuron)
        start = time.perf_counter()
        vocabulary = self.vocabulary_scores(config)
        scores = vocabulary.scores[:, neuron]
        entries = initial_scoreboard(
            vocabulary.labels,
            scores.tolist(),
            config.init_top,
            config.init_random,
            derived_rng(config.seed, "init", neuron),
        )
        top = np.argsort(-scores, kind="stable")[:20]
        images = {}
        if vocabulary.scoring == "drawn":  # the board's images, kept so a person can look at them
            for concept_images in self.draw([e.concept for e in entries], config):
                images[concept_images.concept] = concept_images.for_neuron(neuron)
        return InitRecord(
            scoring=vocabulary.scoring,  # type: ignore[arg-type]
            vocabulary_size=len(vocabulary.labels),
            images_per_label=vocabulary.images_per_label,
            entries=entries,
            top_vocabulary=[(vocabulary.labels[i], float(scores[i])) for i in top],
            images=images,
            seconds={"total": time.perf_counter() - start},
        )

    # --- proposals ---------------------------------------------------------------------------

    def _similarity(self, a: str, b: str) -> float:
        vectors = self.embedder.embed([a, b])
        return float(vectors[0] @ vectors[1])

    def propose(
        self,
        board: Sequence[ScoreboardEntry],
        forbidden: Sequence[str],
        config: LoopConfig,
        seed_parts: Sequence[object],
        summary: bool = False,
        not_drawable: Sequence[str] = (),
    ) -> Proposal:
        """Propose the next concept of a run, as ``config.proposal`` says.

        "llm" is the paper's step: the LLM answers the main prompt (the whole
        board and the forbidden list) or the summary prompt (the top
        ``summary_top`` entries); a reply that does not parse, is too long or
        duplicates a forbidden or board concept is rejected and the LLM re-asked
        up to ``max_retries`` times, told why. "guided" picks among knowledge
        candidates (WordNet relations, bank labels, compositions); "hinted"
        shows the best candidates to the LLM as hints. Every attempt is returned.
        ``not_drawable`` concepts (proposed, but the image source could not show
        them) are named in the prompt.
        """
        filled = prompts.step_prompt(board, forbidden, summary, config.summary_top, not_drawable)
        prompt, taken = filled.text, filled.forbidden
        mode = self.resolved_proposal(config)
        if mode != "llm":
            ranked = sorted(board, key=lambda e: e.score, reverse=True)
            return self._propose_guided(ranked, taken, prompt, config, seed_parts, summary, mode)
        return self._free_text(prompt, taken, config, seed_parts, config.max_retries)

    def _free_text(
        self,
        prompt: str,
        taken: Sequence[str],
        config: LoopConfig,
        seed_parts: Sequence[object],
        retries: int,
    ) -> Proposal:
        """The paper's step: ask the LLM, re-asking with the reason for a rejection."""
        attempts: list[Attempt] = []
        current = prompt
        for attempt in range(retries + 1):
            with self._model_lock, self._timed("llm"):
                output = self.proposer.complete(
                    current, derive_seed(config.seed, *seed_parts, attempt)
                )
            parsed = parse_answer(output, taken, config.max_concept_words, self._similarity)
            attempts.append(Attempt(output=output, concept=parsed.concept, error=parsed.error))
            if parsed.concept is not None:
                return Proposal(parsed.concept, parsed.reasoning, prompt, attempts, "llm")
            current = prompts.retry_prompt(prompt, parsed.error or "invalid answer")
        return Proposal(None, "", prompt, attempts)

    # --- ablation ------------------------------------------------------------------------------

    def ablate_concept(
        self, neuron: int, image_id: str, concept: str, seed: int = 0
    ) -> AblationResult:
        """Remove a concept from a stored image and measure the neuron before and after.

        With an editor backend the instruction "remove the {concept} from the
        image" is applied and the result brought back to the original size.
        Without one, an honest fallback: the region whose occlusion lowers the
        neuron most (a grey patch slid over the image, every position batched
        through the target) is blurred out, reported as method "occlusion".

        Args:
            neuron: Index of the neuron in the layer.
            image_id: A stored image (e.g. from ``score_concept``).
            concept: The concept to remove.
            seed: The editor's seed.

        Returns:
            An :class:`~line_mcp.core.records.AblationResult`; the edited image is stored.

        Raises:
            NeuronError: the neuron is out of range.
            WorkspaceError: the image is unknown or not stored.
        """
        from PIL import Image

        from line_mcp.core import occlusion

        self.check_neuron(neuron)
        image = self.workspace.load_image(image_id)
        before = float(self.image_activations([image_id])[0, neuron])
        editor, target = self.editor, self.target
        region: list[int] | None = None
        if editor is not None:
            instruction: str | None = f"remove the {concept} from the image"
            with self._model_lock, self._timed("edit"):
                edited = editor.edit(image, instruction, seed).convert("RGB")
            if edited.size != image.size:  # editors may work at their own resolution
                edited = edited.resize(image.size, Image.Resampling.LANCZOS)
            method, maker = "edit", editor.fingerprint
            note = (
                f"{editor.name} was asked to {instruction!r}; check the edited image: an "
                "editor can also change other parts of the picture"
            )
        else:
            instruction = None
            boxes = occlusion.grid_boxes(image.size)
            occluded = [occlusion.occlude(image, box) for box in boxes]
            drops = []
            for start in range(0, len(occluded), 32):
                rows = self.read_activations(occluded[start : start + 32])
                drops.extend(before - float(a) for a in rows[:, neuron])
            region = list(boxes[int(np.argmax(drops))])
            edited = occlusion.blur_region(image, region)
            method = "occlusion"
            # The region depends on the target, layer and neuron, not on the concept or seed.
            maker = f"occlusion-blur-1:{target.fingerprint}:{target.layer}:{neuron}"
            note = (
                "no editor backend is set (BackendConfig.editor), so this is NOT a concept edit: "
                f"the region where the neuron responds most ({region}, found by occlusion) was "
                f"blurred out, whatever it shows; look at the image to judge whether it is the "
                f"{concept!r}"
            )
        edited_id = image_id_for(f"ablation:{maker}", f"{image_id}\x1f{concept}", seed)
        vector = self.read_activations([edited])
        self.workspace.put_image(
            edited_id,
            edited,
            generator=f"ablation:{maker}",
            concept=concept,
            prompt=instruction or f"occlusion blur of {image_id}",
            seed=seed,
            source={"from": image_id, "method": method, "region": region},
        )
        self.workspace.put_activations(target.fingerprint, target.layer, [edited_id], vector)
        after = float(vector[0, neuron])
        return AblationResult(
            neuron=neuron,
            image_id=image_id,
            concept=concept,
            method=method,  # type: ignore[arg-type]
            editor=editor.name if editor is not None else None,
            instruction=instruction,
            edited_image_id=edited_id,
            activation_before=before,
            activation_after=after,
            relative_drop=(before - after) / abs(before) if before != 0 else None,
            region=region,
            note=note,
        )

    # --- knowledge-guided proposals ---------------------------------------------------------

    def resolved_proposal(self, config: LoopConfig) -> str:
        """ "llm", "guided" or "hinted" (resolving "auto" from the proposer's size)."""
        if config.proposal != "auto":
            return config.proposal
        size = getattr(self.proposer, "num_parameters", None)
        return "guided" if size is not None and size < SMALL_PROPOSER_PARAMETERS else "llm"

    @functools.cached_property
    def knowledge(self) -> ConceptKnowledge:
        """Candidate generation from WordNet (when installed) and the generator's bank labels."""
        from line_mcp.knowledge.wordnet import (
            WordNetNotInstalledError,
            default_wordnet,
            imagenet_offsets,
        )

        try:
            wordnet = default_wordnet()
            visual = frozenset(wordnet.covers(imagenet_offsets()))
        except WordNetNotInstalledError:
            wordnet, visual = None, frozenset()
        # A composing generator names its source labels apart from its drawing keys.
        matches = getattr(self.generator, "source_labels", None) or getattr(
            self.generator, "matches", None
        )
        return ConceptKnowledge(wordnet, matches, visual)

    def rank_candidates(
        self,
        candidates: Sequence[Candidate],
        board: Sequence[ScoreboardEntry],
        prompt: str,
        config: LoopConfig,
        rng: random.Random,
        summary: bool = False,
    ) -> RankedCandidates:
        """Score candidates with ``config.proposal_ranker`` and pick one (see ``choose``).

        The embedding ranker weighs the board by standardised score (equal
        weights for the summary step, which must cover all its entries); the
        LLM ranker needs a proposer with ``score_answers`` and falls back to the
        embedding ranker otherwise.
        """
        texts = [c.concept for c in candidates]
        scores = np.zeros(len(texts))
        ranker = config.proposal_ranker
        if ranker != "embedding" and not hasattr(self.proposer, "score_answers"):
            ranker = "embedding"
        if ranker in ("embedding", "both"):
            vectors = self.embedder.embed([*texts, *(e.concept for e in board)])
            weights = [1.0] * len(board) if summary else [e.score for e in board]
            matches = getattr(self.generator, "matches", None)
            drawable = (
                np.array([matches(t, 1)[0][1] for t in texts]) if matches is not None else None
            )
            embedding = embedding_scores(
                vectors[: len(texts)], vectors[len(texts) :], weights, drawable
            )
            scores = scores + (standardise(embedding) if ranker == "both" else embedding)
        if ranker in ("llm", "both"):
            with self._model_lock, self._timed("llm"):
                likelihood = self.proposer.score_answers(prompt, texts)
            scores = scores + (
                standardise(likelihood) if ranker == "both" else np.asarray(likelihood)
            )
        index, explored = choose(scores.tolist(), rng, config.proposal_explore)
        return RankedCandidates(
            candidates=list(candidates), scores=scores.tolist(), chosen=index, explored=explored
        )

    def _propose_guided(
        self,
        ranked: Sequence[ScoreboardEntry],
        taken: Sequence[str],
        prompt: str,
        config: LoopConfig,
        seed_parts: Sequence[object],
        summary: bool,
        mode: str,
    ) -> Proposal:
        """A "guided" or "hinted" step (see ``LoopConfig.proposal``)."""
        top = ranked[: config.summary_top] if summary else ranked[:3]
        board = top if summary else ranked
        rng = derived_rng(config.seed, "guided", *seed_parts)
        with self._timed("candidates"):
            pool = self.knowledge.candidates(top, summary=summary)
        if mode == "hinted":
            hints = self._new_candidates(pool, taken, config)
            if hints:
                order = self.rank_candidates(hints, board, prompt, config, rng, summary)
                best = sorted(range(len(hints)), key=lambda i: -order.scores[i])[:_HINTS]
                hints = [hints[i] for i in best]
            hinted = prompts.hinted_prompt(prompt, [h.concept for h in hints])
            proposal = self._free_text(hinted, taken, config, seed_parts, config.max_retries)
            if proposal.concept is not None:
                key = concept_key(proposal.concept)
                proposal.origin = next(
                    (h.origin for h in hints if concept_key(h.concept) == key), "llm"
                )
            return proposal
        attempts: list[Attempt] = []
        if config.proposal_free_text:
            free = self._free_text(prompt, taken, config, seed_parts, retries=0)
            attempts = free.attempts
            if free.concept is not None:
                pool = [Candidate(concept=free.concept, origin="llm"), *pool]
        candidates = self._new_candidates(pool, taken, config)
        if not candidates:
            return Proposal(None, "", prompt, attempts)
        with self._timed("ranking"):
            ranking = self.rank_candidates(candidates, board, prompt, config, rng, summary)
        choice = ranking.choice
        return Proposal(choice.concept, ranking.summary(), prompt, attempts, choice.origin, ranking)

    def _new_candidates(
        self, pool: Sequence[Candidate], taken: Sequence[str], config: LoopConfig
    ) -> list[Candidate]:
        """Candidates that are new in text and, for a retrieving generator, in images.

        A generator that retrieves instead of synthesising (the offline bank
        stand-in) draws two concepts whose nearest bank label is the same from
        the same pictures: "green gorilla" after "gorilla" would only re-roll
        the variations of one image and win or lose by chance. Such a candidate
        counts as a duplicate of the concept already drawn from that label.
        """
        texts = list(dict.fromkeys([*(c.concept for c in pool), *taken]))
        vectors = dict(zip(texts, self.embedder.embed(texts), strict=True)) if texts else {}
        fresh = filter_new(pool, taken, config.max_concept_words, vectors)
        matches = getattr(self.generator, "matches", None)
        if matches is None:
            return fresh
        drawn = {matches(concept, 1)[0][0] for concept in taken}
        return [c for c in fresh if matches(c.concept, 1)[0][0] not in drawn]

    # --- description ---------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The target, its layers, and the backends in use."""
        target = self.target
        return {
            "target": target.name,
            "layer": target.layer,
            "neurons": target.num_neurons,
            "layers": target.layers(),
            "preprocessing": getattr(target, "preprocessing", None),
            "backends": self.backends.to_dict(),
            "fingerprints": self.fingerprints(),
        }


def _resolve_device(device: str) -> str:
    if device != "auto":
        if device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise BackendError(f"device {device!r} was asked for but CUDA is not available")
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
