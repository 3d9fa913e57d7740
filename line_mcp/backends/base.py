"""The roles of a LINE run, as Protocols.

- :class:`TargetModel`: the vision model being explained, at one layer.
- :class:`ImageGenerator`: draws a concept (text-to-image or a stand-in).
- :class:`ConceptProposer`: the LLM that proposes concepts.
- :class:`AnswerScorer`: optional proposer capability, ranks candidate answers.
- :class:`BatchProposer`: optional proposer capability, answers several prompts in one call.
- :class:`SizedModel`: optional proposer capability, its parameter count.
- :class:`DeclaresSize`: optional capability of a proposer's class, its parameter count
  before the model is loaded.
- :class:`LabelMatcher`: optional generator capability, the bank labels nearest a concept.
- :class:`DrawabilityCheck`, :class:`SourceLabels`: optional generator capabilities of a
  composing generator (which concepts it can show; its plain source labels).
- :class:`DescribesPreprocessing`: optional target capability, how images are prepared.
- :class:`MultiLayerTarget`: optional target capability, several layers from one forward pass.
- :class:`ImageEditor`: edits an image for concept ablation.
- :class:`TextEmbedder`: text embeddings for retrieval and near-duplicates.
- :class:`ControlSet`: labeled images that give the initial vocabulary.

Every implementation exposes a ``fingerprint``: a short hash of its
architecture, weights or data, used in cache keys so that a changed model
never reuses stale activations or images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image


@runtime_checkable
class TargetModel(Protocol):
    """A vision model read at one layer, pooled to one value per neuron."""

    name: str
    fingerprint: str
    layer: str

    @property
    def num_neurons(self) -> int: ...

    def layers(self) -> dict[str, str]:
        """Layer names this target accepts, each with a short description."""
        ...

    def neuron_names(self) -> list[str] | None:
        """Names of the layer's neurons when they have one (class logits), else None."""
        ...

    def activations(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Pooled activations, shape ``[len(images), num_neurons]``, float32."""
        ...


@dataclass(frozen=True)
class DrawRequest:
    """One image to draw: the concept, the full text prompt and its seed.

    ``angle`` and ``lighting`` are the template values the prompt was filled
    with, for generators that vary a retrieved image instead of reading text.
    """

    concept: str
    prompt: str
    seed: int
    angle: str = ""
    lighting: str = ""


@dataclass
class GeneratedImage:
    """A drawn image and what the generator reports about how it was made."""

    image: Image.Image
    source: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ImageGenerator(Protocol):
    """Draws images for text prompts; a fingerprint, prompt and seed fix an image."""

    name: str
    fingerprint: str

    def generate(self, requests: Sequence[DrawRequest]) -> list[GeneratedImage]:
        """Draw every request, batched where the backend can."""
        ...


@runtime_checkable
class ConceptProposer(Protocol):
    """An LLM that continues a LINE prompt."""

    name: str
    fingerprint: str

    def complete(self, prompt: str, seed: int) -> str:
        """The model's reply to ``prompt``, sampled with ``seed``."""
        ...


@runtime_checkable
class AnswerScorer(Protocol):
    """Optional proposer capability: how likely each candidate is as the answer to a prompt.

    Proposers that have it can rank knowledge-guided candidates (see
    :mod:`line_mcp.core.candidates`); proposers without it still work.
    """

    def score_answers(self, prompt: str, candidates: Sequence[str]) -> list[float]:
        """One log-likelihood per candidate (higher is more likely)."""
        ...


@runtime_checkable
class BatchProposer(Protocol):
    """Optional proposer capability: answer several prompts in one call.

    Lockstep batches (:mod:`line_mcp.layer`) send the step's prompts of every
    neuron of a batch at once. Each reply must equal what ``complete(prompt,
    seed)`` gives for that prompt and seed, so a batch changes no record; a
    proposer without it is called once per prompt.
    """

    def complete_batch(self, prompts: Sequence[str], seeds: Sequence[int]) -> list[str]:
        """One reply per prompt, in order, each sampled with its own seed."""
        ...


@runtime_checkable
class SizedModel(Protocol):
    """Optional proposer capability: the model's parameter count.

    ``LoopConfig.proposal="auto"`` guides proposers below 1 B parameters; a
    proposer without it (an HTTP endpoint) is taken as large.
    """

    num_parameters: int


@runtime_checkable
class DeclaresSize(Protocol):
    """Optional capability of a proposer's *class*: the parameter count of the model a
    spec names, known without loading it (a packaged model), or None.

    Guided proposals never call the LLM, so ``proposal="auto"`` can pick them without
    spending a model load on learning the size.
    """

    def declared_parameters(self, argument: str, options: Any) -> int | None:
        """The count for ``argument`` and validated ``options`` (None: load to know)."""
        ...


@runtime_checkable
class LabelMatcher(Protocol):
    """Optional generator capability: a retrieving generator's labels nearest a concept.

    A generator that retrieves instead of synthesising draws two concepts with
    the same nearest label from the same pictures; guided proposals use this to
    skip such duplicates and to favour concepts the bank can draw.
    """

    def matches(self, concept: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest labels and their similarity, best first."""
        ...


@runtime_checkable
class DrawabilityCheck(Protocol):
    """Optional generator capability: which concepts it can show at all.

    A composing generator refuses a concept whose object no source depicts
    (instead of drawing an unrelated picture); the drawn vocabulary is scored
    on the labels it accepts.
    """

    def can_draw(self, concepts: Sequence[str]) -> list[bool]:
        """One flag per concept, in order."""
        ...


@runtime_checkable
class SourceLabels(Protocol):
    """Optional generator capability: the labels of its source material nearest a text.

    A composing generator's :class:`LabelMatcher` keys name compositions; guided
    proposals take these plain source labels as candidates instead.
    """

    def source_labels(self, text: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest source labels and their match scores, best first."""
        ...


@runtime_checkable
class DescribesPreprocessing(Protocol):
    """Optional target capability: how images become the network's input (for ``describe``)."""

    @property
    def preprocessing(self) -> dict[str, Any]: ...


@runtime_checkable
class MultiLayerTarget(Protocol):
    """Optional target capability: several layers' activations from one forward pass.

    ``layer_fingerprint(layer)`` is the fingerprint a target built for ``layer``
    has, so the activations it returns are cached under the keys a run on that
    layer reads.
    """

    def layer_fingerprint(self, layer: str) -> str: ...

    def activations_at(
        self, images: Sequence[Image.Image], layers: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """Pooled activations per layer name, each ``[len(images), neurons of that layer]``."""
        ...


@runtime_checkable
class ImageEditor(Protocol):
    """Edits an image following an instruction (concept ablation)."""

    name: str
    fingerprint: str

    def edit(self, image: Image.Image, instruction: str, seed: int) -> Image.Image: ...


@runtime_checkable
class TextEmbedder(Protocol):
    """Unit-norm sentence embeddings."""

    name: str
    fingerprint: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Shape ``[len(texts), dim]``, rows of unit length."""
        ...


@runtime_checkable
class ControlSet(Protocol):
    """Labeled images: the initial vocabulary and the neuron's reference images."""

    name: str
    fingerprint: str

    def labels(self) -> list[str]:
        """The vocabulary: distinct labels, in a stable order."""
        ...

    def items(self) -> list[tuple[str, str]]:
        """``(image_key, label)`` for every image, in a stable order."""
        ...

    def load(self, image_key: str) -> Image.Image:
        """The RGB image behind a key from :meth:`items`."""
        ...
