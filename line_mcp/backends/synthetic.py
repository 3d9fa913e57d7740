"""Synthetic neurons with a known concept: the target ``synthetic:FILE.json``.

Each neuron of the layer ``synthetic`` is an expression
(:mod:`line_mcp.core.synthetic_expr`) over primitive detectors that read the
images only (a black box like any target):

- ``object(WORD)``: the base classifier's softmax summed over the ImageNet
  classes in the WordNet subtree of WORD's most frequent noun sense that has
  ImageNet classes under it (``object(dog)``: the 118 breeds);
- ``color(NAME)``, ``pattern(NAME)``: :mod:`line_mcp.core.detectors`.

The file is ``{"base": optional target spec, "neurons": [{"name", "expr",
"concepts", "kind"?}, ...]}`` or a bare list of neurons; ``concepts`` is the
ground truth. ``synthetic:standard`` names the set shipped in the package.
The whole file is checked (syntax, words, names) before any model loads.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from line_mcp.backends.registry import BackendError, BuildContext, resolve
from line_mcp.core.attributes import colour_fraction
from line_mcp.core.detectors import (
    DETECTOR_VERSION,
    check_colour,
    check_pattern,
    pattern_scores,
    salient_pixels,
)
from line_mcp.core.synthetic_expr import (
    Expression,
    ExpressionError,
    Primitive,
    evaluate,
    parse_expression,
    primitives,
)

if TYPE_CHECKING:
    from PIL import Image

    from line_mcp.backends.base import TargetModel

LAYER = "synthetic"
DEFAULT_BASE = "efficientnet-lite:lite0"
STANDARD = "standard"
#: Kinds of neuron in the standard set (free text is allowed in user files).
KINDS = ("object", "colour+object", "pattern+object", "category", "specific", "polysemantic")


class SyntheticSpecError(BackendError):
    """A synthetic-neuron file that cannot be used; the message names the entry and the fix."""


@dataclass(frozen=True)
class SyntheticNeuron:
    """One entry of the file, parsed and checked."""

    name: str
    expression: Expression
    concepts: tuple[str, ...]
    kind: str = ""

    @property
    def expr(self) -> str:
        """The canonical expression text."""
        return str(self.expression)


@dataclass(frozen=True)
class SyntheticSet:
    """A checked file: the base classifier spec, its neurons, and the object classes they read."""

    base: str
    neurons: tuple[SyntheticNeuron, ...]
    object_classes: dict[str, tuple[int, ...]]

    def canonical(self) -> str:
        """The content that fixes every activation, as stable JSON (for the fingerprint)."""
        return json.dumps(
            {
                "base": self.base,
                "neurons": [[n.name, n.expr] for n in self.neurons],
                "classes": sorted(self.object_classes.items()),
            },
            sort_keys=True,
        )


def standard_path() -> Path:
    """The standard set shipped in the package."""
    return Path(str(resources.files("line_mcp.data").joinpath("synthetic", "standard.json")))


@functools.cache
def _class_ancestors() -> tuple[dict[int, int], ...]:
    from line_mcp.knowledge.wordnet import default_wordnet, imagenet_offsets

    wordnet = default_wordnet()
    return tuple(wordnet.ancestors(wordnet.synset(o)) for o in imagenet_offsets())


def object_classes(word: str) -> tuple[int, ...] | None:
    """ImageNet class indices under WORD's most frequent noun sense that has any, or None.

    Example:
        >>> len(object_classes("dog"))  # doctest: +SKIP
        118
    """
    from line_mcp.knowledge.wordnet import default_wordnet

    ancestors = _class_ancestors()
    for synset in default_wordnet().synsets(word):
        classes = tuple(i for i, a in enumerate(ancestors) if synset.offset in a)
        if classes:
            return classes
    return None


def _entry_error(where: str, message: str) -> SyntheticSpecError:
    return SyntheticSpecError(f"synthetic neuron {where}: {message}")


def parse_synthetic(data: Any, source: str = "the file") -> SyntheticSet:
    """Check a loaded synthetic-neuron file and resolve its object words (no model loads).

    Raises:
        SyntheticSpecError: an empty file, a bad entry, a duplicate name, an
            expression that does not parse, or an unknown object, colour or pattern.
    """
    base = DEFAULT_BASE
    entries = data
    if isinstance(data, dict):
        unknown = set(data) - {"base", "neurons", "description"}
        if unknown:
            raise SyntheticSpecError(
                f"{source}: unknown keys {sorted(unknown)}; allowed: base, neurons, description"
            )
        base = data.get("base") or DEFAULT_BASE
        entries = data.get("neurons")
    if not isinstance(entries, list) or not entries:
        raise SyntheticSpecError(
            f"{source} has no neurons: write a list of "
            '{"name": ..., "expr": "and(object(car), color(red))", "concepts": ["red car"]} '
            'entries, bare or under "neurons"'
        )
    neurons: list[SyntheticNeuron] = []
    seen: dict[str, int] = {}
    classes: dict[str, tuple[int, ...]] = {}
    for position, entry in enumerate(entries):
        where = f"#{position} in {source}"
        if not isinstance(entry, dict):
            raise _entry_error(where, "must be an object with name, expr and concepts")
        name = entry.get("name")
        where = f"#{position} ({name!r}) in {source}"
        unknown = set(entry) - {"name", "expr", "concepts", "kind"}
        if unknown:
            raise _entry_error(
                where, f"unknown keys {sorted(unknown)}; allowed: name, expr, concepts, kind"
            )
        if not isinstance(name, str) or not name.strip():
            raise _entry_error(where, "needs a non-empty string 'name'")
        if name in seen:
            raise _entry_error(
                where, f"duplicate name {name!r} (first used by entry #{seen[name]})"
            )
        seen[name] = position
        expr, concepts = entry.get("expr"), entry.get("concepts")
        if not isinstance(expr, str):
            raise _entry_error(where, "needs an 'expr' string such as 'object(dog)'")
        if (
            not isinstance(concepts, list)
            or not concepts
            or not all(isinstance(c, str) and c.strip() for c in concepts)
        ):
            raise _entry_error(where, "needs 'concepts': a non-empty list of ground-truth phrases")
        try:
            expression = parse_expression(expr)
        except ExpressionError as err:
            raise _entry_error(where, f"bad expression: {err}") from err
        for primitive in primitives(expression):
            try:
                _check_primitive(primitive, classes)
            except ValueError as err:
                raise _entry_error(where, str(err)) from err
        neurons.append(
            SyntheticNeuron(name, expression, tuple(concepts), str(entry.get("kind", "")))
        )
    return SyntheticSet(str(base), tuple(neurons), classes)


def _check_primitive(primitive: Primitive, classes: dict[str, tuple[int, ...]]) -> None:
    if primitive.kind == "color":
        check_colour(primitive.word)
    elif primitive.kind == "pattern":
        check_pattern(primitive.word)
    elif primitive.word not in classes:
        found = object_classes(primitive.word)
        if found is None:
            raise ValueError(
                f"object({primitive.word}): not a WordNet noun with ImageNet classes under it; "
                "use a class name or a more general noun (dog, bird, car, fruit, ...)"
            )
        classes[primitive.word] = found


def load_synthetic(argument: str) -> SyntheticSet:
    """Read and check ``FILE.json`` (or ``standard``)."""
    path = standard_path() if argument in ("", STANDARD) else Path(argument).expanduser()
    if not path.is_file():
        raise SyntheticSpecError(
            f"no synthetic-neuron file at {path}: give synthetic:FILE.json or synthetic:standard"
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise SyntheticSpecError(f"{path} is not valid JSON: {err}") from err
    return parse_synthetic(data, str(path))


class SyntheticTarget:
    """A layer of synthetic neurons over a base ImageNet classifier (see the module doc).

    Args:
        name: Display name (the spec).
        synthetic: The checked file.
        base: The base classifier read at ``logits`` (None when no neuron uses ``object``).
    """

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        batch_size: int = Field(32, ge=1, le=1024)

    layer = LAYER

    def __init__(
        self, name: str, synthetic: SyntheticSet, base: TargetModel | None, batch_size: int = 32
    ) -> None:
        self.name = name
        self.synthetic = synthetic
        self._base = base
        self._batch_size = batch_size
        digest = hashlib.sha256(synthetic.canonical().encode())
        digest.update(f"|{base.fingerprint if base else '-'}|detectors={DETECTOR_VERSION}".encode())
        self.fingerprint = digest.hexdigest()[:16]

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> SyntheticTarget:
        if context.layer not in (None, LAYER):
            raise BackendError(f"target synthetic has one layer, {LAYER!r}; got {context.layer!r}")
        synthetic = load_synthetic(argument)  # every check runs before a model loads
        base = None
        if synthetic.object_classes:
            base_context = BuildContext(
                device=context.device,
                layer="logits",
                cache_dir=context.cache_dir,
                extras=dict(context.extras),
            )
            base = resolve("target", synthetic.base, base_context)
        return cls(f"synthetic:{argument or STANDARD}", synthetic, base, options.batch_size)

    @property
    def neurons(self) -> tuple[SyntheticNeuron, ...]:
        return self.synthetic.neurons

    @property
    def num_neurons(self) -> int:
        return len(self.synthetic.neurons)

    def layers(self) -> dict[str, str]:
        return {LAYER: f"{self.num_neurons} synthetic neurons with known concepts"}

    def neuron_names(self) -> list[str] | None:
        return [n.name for n in self.synthetic.neurons]

    def primitive_values(self, images: Sequence[Image.Image]) -> dict[Primitive, np.ndarray]:
        """Every detector the layer reads, on every image."""
        wanted = {p for n in self.synthetic.neurons for p in primitives(n.expression)}
        values: dict[Primitive, np.ndarray] = {}
        objects = [p for p in wanted if p.kind == "object"]
        if objects and self._base is not None and len(images):
            logits = np.concatenate(
                [
                    self._base.activations(images[i : i + self._batch_size])
                    for i in range(0, len(images), self._batch_size)
                ]
            ).astype(np.float64)
            if logits.shape[1] != 1000:
                raise BackendError(
                    f"base {self.synthetic.base!r} gave {logits.shape[1]} logits; object() "
                    "needs an ImageNet-1k classifier (1000 classes in ImageNet order)"
                )
            logits -= logits.max(axis=1, keepdims=True)
            probabilities = np.exp(logits)
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            for p in objects:
                values[p] = probabilities[:, list(self.synthetic.object_classes[p.word])].sum(1)
        patterns = [p for p in wanted if p.kind == "pattern"]
        if patterns:
            scores = [pattern_scores(image) for image in images]
            for p in patterns:
                name = check_pattern(p.word)
                values[p] = np.array([s[name] for s in scores])
        colours = [p for p in wanted if p.kind == "color"]
        if colours:
            salient = [salient_pixels(image) for image in images]
            for p in colours:
                name = check_colour(p.word)
                values[p] = np.array([colour_fraction(pixels, name) for pixels in salient])
        return values

    def activations(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not len(images):
            return np.zeros((0, self.num_neurons), dtype=np.float32)
        values = self.primitive_values(images)
        columns = [evaluate(n.expression, values) for n in self.synthetic.neurons]
        return np.stack(columns, axis=1).astype(np.float32)
