"""Drawing concepts and reading the target layer on them, through the workspace caches.

Drawn images are content-addressed by (generator, prompt, seed) and every
image's whole layer vector is cached, so a concept drawn for one neuron scores
every neuron of the layer for free, and nothing is drawn or read twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from line_mcp.backends.base import DrawRequest, MultiLayerTarget
from line_mcp.config import LoopConfig
from line_mcp.core import prompts
from line_mcp.core.concepts import concept_key
from line_mcp.core.records import DrawnImage
from line_mcp.core.scoreboard import mean_activation
from line_mcp.core.seeds import derive_seed, derived_rng
from line_mcp.engine.backends import Backends
from line_mcp.engine.stopwatch import Stopwatch, timed
from line_mcp.errors import InputError
from line_mcp.progress import ProgressCallback, no_progress
from line_mcp.store.workspace import Workspace, image_id_for

# A draw of more than _PROGRESS_FROM new images goes in calls of _PROGRESS_CHUNK images and
# reports progress; a shorter one (a loop step's |P|, a vocabulary chunk) is one call.
_PROGRESS_FROM = 256
_PROGRESS_CHUNK = 64


@dataclass
class ConceptImages:
    """The images drawn for a concept and their whole-layer activations.

    Attributes:
        concept: The concept drawn.
        requests: One draw request per image (prompt and seed).
        image_ids: Content addresses in the workspace.
        sources: What the generator reported per image.
        activations: ``[n_images, n_neurons]`` layer vectors.
        new_images: How many of them this call generated (0: all from the cache).
    """

    concept: str
    requests: list[DrawRequest]
    image_ids: list[str]
    sources: list[dict[str, Any]]
    activations: np.ndarray
    new_images: int = 0

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
class ConceptScore:
    """LINE's score of a concept for one neuron and the images it was measured on."""

    concept: str
    score: float
    images: list[DrawnImage]
    new_images: int = 0


def draw_requests(concept: str, n_images: int, config: LoopConfig) -> list[DrawRequest]:
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
            DrawRequest(concept, prompt, derive_seed(config.seed, "image", key, i), angle, lighting)
        )
    return requests


class Drawing:
    """Draws concepts (cached) and reads the layer on images (cached).

    Every target pass also fills the cache of the layers named in
    ``BackendConfig.cache_layers`` (one forward pass, several hooks), so a later
    run on one of those layers reads no image through the target again.

    Args:
        backends: Gives the generator and the target.
        workspace: Where images and activations are cached.
        progress: Called as long draws advance ("images drawn", in calls of 64 images).
    """

    def __init__(
        self, backends: Backends, workspace: Workspace, progress: ProgressCallback = no_progress
    ) -> None:
        self.backends = backends
        self.workspace = workspace
        self.progress = progress
        #: Images generated (not read from the cache) since construction.
        self.generated = 0
        # Mean layer vector of each pool concept, per (image settings, concept); the
        # backends are this Drawing's own and never change.
        self._pool_means: dict[tuple[str, str], np.ndarray] = {}

    def draw(
        self,
        concepts: Sequence[str],
        config: LoopConfig,
        keep_images: bool = True,
        clock: Stopwatch | None = None,
    ) -> list[ConceptImages]:
        """Draw |P| images per concept (cached) and read the layer on them (cached).

        Args:
            concepts: Concepts to draw.
            config: Gives |P|, the template values and the seed.
            keep_images: Store the pixels; False indexes the images without pixels
                (they can be re-drawn from prompt and seed), for bulk evaluation images.
            clock: Receives the "images" and "target" seconds.

        Returns:
            One :class:`ConceptImages` per concept, in order.
        """
        per_concept = [draw_requests(c, config.images_per_concept, config) for c in concepts]
        return self.draw_batches(concepts, per_concept, keep_images, clock)

    def draw_batches(
        self,
        concepts: Sequence[str],
        per_concept: Sequence[Sequence[DrawRequest]],
        keep_images: bool = True,
        clock: Stopwatch | None = None,
    ) -> list[ConceptImages]:
        """Draw given requests per concept (cached) and read the layer on them (cached).

        :meth:`draw` builds the loop's requests; other protocols (the CoSy
        evaluation) build their own prompts and seeds and share the same caches.

        Args:
            concepts: Concepts to draw.
            per_concept: The draw requests of each concept, in the same order.
            keep_images: As in :meth:`draw`.
            clock: As in :meth:`draw`.

        Returns:
            One :class:`ConceptImages` per concept, in order.
        """
        generator, target = self.backends.generator, self.backends.target
        flat = [r for requests in per_concept for r in requests]
        ids = [image_id_for(generator.fingerprint, r.prompt, r.seed) for r in flat]
        cached = self.workspace.get_activations(target.fingerprint, target.layer, ids)
        sources: dict[str, dict[str, Any]] = {}
        for image_id in ids:
            info = self.workspace.image_info(image_id) if image_id in cached else None
            # Pixels listed as stored but gone from disk are drawn again.
            stored = info is not None and info["stored"] and self.workspace.has_image(image_id)
            if info is not None and (stored or not keep_images):
                sources[image_id] = info["source"]
        todo = [(i, r) for i, r in zip(ids, flat, strict=True) if i not in sources]
        todo = list({i: r for i, r in todo}.items())  # the same image may be asked twice
        # Images are shared across layers: pixels stored for another layer's run are read
        # through this layer's target, not drawn again.
        stored = {i: info for i, _ in todo if (info := self.workspace.image_info(i)) is not None}
        stored = {
            i: info for i, info in stored.items() if info["stored"] and self.workspace.has_image(i)
        }
        if stored:
            reused = list(stored)
            vectors = self.read_and_cache(
                reused, [self.workspace.load_image(i) for i in reused], clock
            )
            for image_id, vector in zip(reused, vectors, strict=True):
                sources[image_id] = stored[image_id]["source"]
                cached[image_id] = vector
            todo = [(i, r) for i, r in todo if i not in stored]
        fresh = {i for i, _ in todo}
        self.generated += len(todo)
        chunk = len(todo) if len(todo) <= _PROGRESS_FROM else _PROGRESS_CHUNK
        for begin in range(0, len(todo), chunk or 1):
            part = todo[begin : begin + chunk]
            with self.backends.lock:
                with timed(clock, "images"):
                    drawn = generator.generate([r for _, r in part])
                vectors = self.read_and_cache([i for i, _ in part], [g.image for g in drawn], clock)
            if len(todo) > chunk:
                self.progress("images drawn", begin + len(part), len(todo))
            for k, ((image_id, request), generated) in enumerate(zip(part, drawn, strict=True)):
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
            new = sum(1 for i in dict.fromkeys(concept_ids) if i in fresh)
            fresh -= set(concept_ids)  # an image asked by two concepts counts once
            results.append(
                ConceptImages(
                    concept,
                    list(requests),
                    concept_ids,
                    [sources[i] for i in concept_ids],
                    matrix,
                    new,
                )
            )
        return results

    def score_concepts(
        self,
        neuron: int,
        concepts: Sequence[str],
        config: LoopConfig,
        clock: Stopwatch | None = None,
    ) -> list[ConceptScore]:
        """LINE's score of each concept for a neuron: the mean activation over its |P| images.

        The loop's step and the MCP ``score_concept`` tool both score through here.

        Raises:
            NeuronError: the neuron is out of range.
        """
        self.backends.check_neuron(neuron)
        return [
            ConceptScore(
                drawn.concept,
                mean_activation(drawn.activations[:, neuron]),
                drawn.for_neuron(neuron),
                drawn.new_images,
            )
            for drawn in self.draw(concepts, config, clock=clock)
        ]

    def pool_scores(
        self,
        neuron: int,
        concepts: Sequence[str],
        config: LoopConfig,
        clock: Stopwatch | None = None,
    ) -> list[float]:
        """Each concept's score for a neuron, for concepts of the layer's pool.

        A pool is scored for every neuron of a batch at every step, so each
        concept's mean layer vector is read once per process and kept: the
        concepts are drawn already and their images do not change. (A concept
        not drawn yet is drawn here like any other.)
        """
        self.backends.check_neuron(neuron)
        setting = json.dumps(config.identity("images"), sort_keys=True)
        missing = [c for c in dict.fromkeys(concepts) if (setting, c) not in self._pool_means]
        for drawn in self.draw(missing, config, clock=clock) if missing else []:
            means = drawn.activations.astype(np.float64).mean(axis=0)
            self._pool_means[(setting, drawn.concept)] = means
        return [float(self._pool_means[(setting, c)][neuron]) for c in concepts]

    def score_concept(
        self, neuron: int, concept: str, config: LoopConfig, clock: Stopwatch | None = None
    ) -> ConceptScore:
        """:meth:`score_concepts` of one concept."""
        return self.score_concepts(neuron, [concept], config, clock)[0]

    def read_activations(self, images: Sequence[Any], clock: Stopwatch | None = None) -> np.ndarray:
        """The target layer on PIL images, ``[len(images), n_neurons]`` (one call, not cached)."""
        with self.backends.lock, timed(clock, "target"):
            return self.backends.target.activations(images)

    def image_activations(
        self, image_ids: Sequence[str], clock: Stopwatch | None = None
    ) -> np.ndarray:
        """Layer vectors of stored images, ``[len(image_ids), n_neurons]`` (cached per image).

        Raises:
            WorkspaceError: an id that is malformed or whose pixels are not stored.
        """
        target = self.backends.target
        cached = self.workspace.get_activations(target.fingerprint, target.layer, image_ids)
        missing = list(dict.fromkeys(i for i in image_ids if i not in cached))
        if missing:
            images = [self.workspace.load_image(i) for i in missing]
            vectors = self.read_and_cache(missing, images, clock)
            cached.update(zip(missing, vectors, strict=True))
        return np.stack([cached[i] for i in image_ids])

    def read_and_cache(
        self, image_ids: Sequence[str], images: Sequence[Any], clock: Stopwatch | None = None
    ) -> np.ndarray:
        """Read the target layer on images and cache each vector under its image id.

        With ``BackendConfig.cache_layers`` the same forward pass also caches those
        layers (each under the fingerprint a target built for it has).

        Returns:
            The target layer's vectors, ``[len(images), n_neurons]``.

        Raises:
            InputError: ``cache_layers`` is set but the target reads one layer per pass.
        """
        target = self.backends.target
        extra = [layer for layer in self.backends.config.cache_layers if layer != target.layer]
        if not extra:
            vectors = self.read_activations(images, clock)
            self.workspace.put_activations(target.fingerprint, target.layer, image_ids, vectors)
            return vectors
        if not isinstance(target, MultiLayerTarget):
            raise InputError(
                f"cache_layers needs a target that reads several layers in one pass; "
                f"{target.name} reads one (torch module targets can): drop --cache-layers"
            )
        with self.backends.lock, timed(clock, "target"):
            per_layer = target.activations_at(images, [target.layer, *extra])
        for layer, layer_vectors in per_layer.items():
            fingerprint = target.layer_fingerprint(layer)
            self.workspace.put_activations(fingerprint, layer, image_ids, layer_vectors)
        return per_layer[target.layer]
