"""Deterministic fake backends for unit tests of the algorithm (never shipped).

Concepts are drawn as flat colour images whose colour is a hash of the
concept; the fake target's neurons read colour channels, so which concept a
neuron "likes" is known exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict

from line_mcp.backends.base import DrawRequest, GeneratedImage
from line_mcp.backends.registry import register, registrations
from line_mcp.core.composition import NotDrawableError

COLOURS = [f"colour {i}" for i in range(40)]


def colour_of(concept: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(concept.lower().encode()).digest()
    return digest[0], digest[1], digest[2]


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FakeTarget:
    """Neurons: 0 red, 1 green, 2 blue, 3 brightness (mean activation of the pixels)."""

    Options = NoOptions
    name = "fake-target"
    fingerprint = "fake-target-1"
    layer = "colours"
    num_neurons = 4
    calls = 0

    @classmethod
    def build(cls, argument, options, context):
        return cls()

    def layers(self):
        return {"colours": "r, g, b, brightness"}

    def neuron_names(self):
        return ["red", "green", "blue", "brightness"]

    def activations(self, images: Sequence[Image.Image]) -> np.ndarray:
        FakeTarget.calls += 1
        rows = [np.asarray(i, dtype=np.float32).reshape(-1, 3).mean(0) / 255 for i in images]
        return np.array([[r, g, b, (r + g + b) / 3] for r, g, b in rows], dtype=np.float32)


class FakeGenerator:
    Options = NoOptions
    name = "fake-generator"
    fingerprint = "fake-generator-1"
    calls = 0

    @classmethod
    def build(cls, argument, options, context):
        return cls()

    def generate(self, requests: Sequence[DrawRequest]) -> list[GeneratedImage]:
        FakeGenerator.calls += 1
        for request in requests:  # as the compose source does for a concept it cannot show
            if request.concept.startswith("undrawable"):
                raise NotDrawableError(request.concept, request.concept, None, 0.0, 0.75)
        images = []
        for request in requests:
            noise = np.random.default_rng(request.seed).integers(-8, 8, 3)
            colour = tuple(
                int(np.clip(c + n, 0, 255))
                for c, n in zip(colour_of(request.concept), noise, strict=True)
            )
            images.append(
                GeneratedImage(Image.new("RGB", (16, 16), colour), {"colour": list(colour)})
            )
        return images


class FakeEmbedder:
    Options = NoOptions
    name = "fake-embedder"
    fingerprint = "fake-embedder-1"

    @classmethod
    def build(cls, argument, options, context):
        return cls()

    def embed(self, texts):
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        vectors = np.zeros((len(texts), len(alphabet)), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text.lower():
                if char in alphabet:
                    vectors[row, alphabet.index(char)] += 1
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6)


class FakeControl:
    """Forty colour labels with two images each."""

    Options = NoOptions
    name = "fake-control"
    fingerprint = "fake-control-1"

    @classmethod
    def build(cls, argument, options, context):
        return cls()

    def labels(self):
        return list(COLOURS)

    def items(self):
        return [(f"{label}#{k}", label) for label in COLOURS for k in range(2)]

    def load(self, key):
        return Image.new("RGB", (16, 16), colour_of(key.split("#")[0]))


class FakeProposer:
    """Replies from ``FakeProposer.script(prompt, seed)``; the default names a fresh concept."""

    Options = NoOptions
    name = "fake-proposer"
    fingerprint = "fake-proposer-1"
    calls = 0
    script: Callable[[str, int], str] | None = None

    @classmethod
    def build(cls, argument, options, context):
        return cls()

    def complete(self, prompt: str, seed: int) -> str:
        FakeProposer.calls += 1
        if FakeProposer.script is not None:
            return FakeProposer.script(prompt, seed)
        return f"<thinking>try another</thinking><answer>idea {seed % 997}</answer>"


if not any(r.scheme == "fake" for r in registrations()):
    for role, cls in [
        ("target", FakeTarget),
        ("generator", FakeGenerator),
        ("embedder", FakeEmbedder),
        ("control", FakeControl),
        ("proposer", FakeProposer),
    ]:
        register(role, "fake", f"tests.fakes:{cls.__name__}", "test fake", "fake")


class FakeEditor:
    """Paints the image mid-grey at twice its size: every colour neuron moves to 0.5."""

    Options = NoOptions
    name = "fake-editor"
    fingerprint = "fake-editor-1"
    instructions: list[str] = []  # noqa: RUF012 (records calls for assertions)

    @classmethod
    def build(cls, argument, options, context):
        return cls()

    def edit(self, image: Image.Image, instruction: str, seed: int) -> Image.Image:
        FakeEditor.instructions.append(instruction)
        return Image.new("RGB", (image.width * 2, image.height * 2), (128, 128, 128))


if not any(r.role == "editor" and r.scheme == "fake" for r in registrations()):
    register("editor", "fake", "tests.fakes:FakeEditor", "test fake", "fake")


class SlowOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = 0.0


class SlowTarget(FakeTarget):
    """The fake target taking ``seconds`` to build: a model loading slowly at start-up
    (``slow?seconds=75`` outlasts a client's 60 s request timeout)."""

    Options = SlowOptions  # type: ignore[assignment]

    @classmethod
    def build(cls, argument, options, context):
        import time

        time.sleep(options.seconds)
        return cls()


if not any(r.role == "target" and r.scheme == "slow" for r in registrations()):
    register("target", "slow", "tests.fakes:SlowTarget", "test fake, slow to load", "slow")


class SlowGenerator(FakeGenerator):
    """The fake generator taking ``seconds`` per call: a run long enough to be killed
    at a chosen moment (tests/store/test_damage.py)."""

    Options = SlowOptions  # type: ignore[assignment]

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds

    @classmethod
    def build(cls, argument, options, context):
        return cls(options.seconds)

    def generate(self, requests: Sequence[DrawRequest]) -> list[GeneratedImage]:
        import time

        time.sleep(self.seconds)
        return super().generate(requests)


if not any(r.role == "generator" and r.scheme == "slow" for r in registrations()):
    register("generator", "slow", "tests.fakes:SlowGenerator", "test fake, slow to draw", "slow")


class ChattyTarget(FakeTarget):
    """The fake target printing while it is built, as some model libraries do."""

    @classmethod
    def build(cls, argument, options, context):
        print("Loaded pretrained weights for chatty")
        return cls()


if not any(r.role == "target" and r.scheme == "chatty" for r in registrations()):
    register("target", "chatty", "tests.fakes:ChattyTarget", "test fake that prints", "chatty")


class SmallProposer(FakeProposer):
    """The fake proposer as a packaged small LLM: its class declares the size, so
    ``proposal="auto"`` resolves to guided without building it (``built`` counts builds)."""

    num_parameters = 1_000
    built = 0

    @classmethod
    def declared_parameters(cls, argument, options):
        return cls.num_parameters

    @classmethod
    def build(cls, argument, options, context):
        SmallProposer.built += 1
        return cls()


if not any(r.role == "proposer" and r.scheme == "small" for r in registrations()):
    register(
        "proposer", "small", "tests.fakes:SmallProposer", "test fake, declares its size", "small"
    )
