"""Every registered backend that can be built offline honours its role's Protocol.

Each is built through the registry (as a run builds it), checked with
``isinstance`` against the role's Protocol and called once for real. A new
registration must be added to CASES or, when it cannot be built offline, to
NOT_OFFLINE with the reason; the last test fails otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from line_mcp.backends.base import DrawRequest
from line_mcp.backends.registry import PROTOCOLS, BuildContext, load_plugins, registrations, resolve
from tests.backends import tiny_models

load_plugins(["tests.fakes", "tests.backends.test_synthetic"])

RED = Image.new("RGB", (40, 40), (200, 30, 30))


def _image_folder(root: Path) -> str:
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        RED.save(root / label / "a.png")
    return f"folder:{root}"


def _call(role: str, backend: Any) -> None:
    """One real call of the role's main method, with the shape its Protocol promises."""
    if role == "target":
        rows = backend.activations([RED, RED])
        assert rows.shape == (2, backend.num_neurons) and isinstance(backend.layers(), dict)
    elif role == "generator":
        drawn = backend.generate([DrawRequest("cat", "a photo of a cat", 1)])
        assert len(drawn) == 1 and isinstance(drawn[0].image, Image.Image)
    elif role == "proposer":
        assert isinstance(backend.complete("Propose a concept.", 1), str)
    elif role == "embedder":
        vectors = backend.embed(["cat", "dog"])
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    elif role == "control":
        key, label = backend.items()[0]
        assert label in backend.labels() and isinstance(backend.load(key), Image.Image)
    elif role == "editor":
        assert isinstance(backend.edit(RED, "remove the cat", 0), Image.Image)


Spec = Callable[[Path], str]
# (role, scheme) -> how to make a spec that builds offline (tiny or embedded models).
CASES: dict[tuple[str, str], Spec] = {
    **{
        (role, "fake"): (lambda _tmp: "fake")
        for role in ("target", "generator", "proposer", "embedder", "control", "editor")
    },
    ("target", "efficientnet-lite"): lambda _tmp: "efficientnet-lite:lite0",
    ("target", "transformers"): lambda tmp: (
        f"transformers:{tiny_models.tiny_resnet_classifier(tmp / 'resnet')}"
    ),
    ("target", "torch"): lambda _tmp: "torch:tests.backends.tiny_models:tiny_convnet",
    ("target", "callable"): lambda _tmp: "callable:tests.backends.tiny_models:colour_probe",
    ("target", "synthetic"): lambda _tmp: "synthetic:standard",
    ("target", "fake-imagenet"): lambda _tmp: "fake-imagenet",
    ("target", "slow"): lambda _tmp: "slow?seconds=0",
    ("generator", "slow"): lambda _tmp: "slow?seconds=0",
    ("target", "chatty"): lambda _tmp: "chatty",
    ("proposer", "small"): lambda _tmp: "small",
    ("generator", "bank"): lambda _tmp: "bank:openmoji",
    ("generator", "compose"): lambda _tmp: "compose:tuxpaint",
    ("generator", "diffusers"): lambda tmp: f"diffusers:{tiny_models.tiny_sd(tmp / 'sd')}?steps=1",
    ("proposer", "transformers"): lambda tmp: (
        f"transformers:{tiny_models.tiny_chat_llama(tmp / 'llama')}?max_new_tokens=8"
    ),
    ("embedder", "minilm"): lambda _tmp: "minilm",
    ("control", "bank"): lambda _tmp: "bank:openmoji",
    ("control", "folder"): lambda tmp: _image_folder(tmp / "images"),
}
# Layers the targets above are read at.
LAYERS = {
    "efficientnet-lite": "avgpool",
    "transformers": "logits",
    "torch": "0",
    "synthetic": "synthetic",
    "fake-imagenet": "logits",
}
NOT_OFFLINE = {
    ("target", "torchvision"): "pretrained weights from the hub cache (not shipped)",
    ("target", "places365"): "a Places365 checkpoint file (not shipped)",
    ("target", "timm"): "timm weights from the hub cache (not shipped)",
    ("editor", "diffusers"): "an image-edit pipeline; tests/backends/test_diffusers_backends.py",
    ("proposer", "openai"): "an HTTP endpoint; tests/backends/test_proposers.py serves one",
    ("proposer", "llama-cpp"): "llama-cpp-python, an optional extra",
    ("embedder", "transformers"): "an encoder from the hub cache; minilm covers the class",
}


@pytest.mark.parametrize("role,scheme", sorted(CASES), ids=lambda v: str(v))
def test_backend_satisfies_its_role_protocol(role, scheme, tmp_path):
    spec = CASES[(role, scheme)](tmp_path)
    # compose: matches words to its sources by meaning, which the fake embedder has none of.
    embedder_spec = "minilm" if scheme == "compose" else "fake"
    embedder = resolve("embedder", embedder_spec) if role == "generator" else None
    context = BuildContext(
        device="cpu", layer=LAYERS.get(scheme, "colours"), cache_dir=tmp_path, embedder=embedder
    )
    if scheme == "callable":
        context.layer = "output"
    backend = resolve(role, spec, context)  # type: ignore[call-overload]
    assert isinstance(backend, PROTOCOLS[role])
    assert isinstance(backend.fingerprint, str) and backend.fingerprint
    _call(role, backend)


def test_every_registration_is_checked_or_says_why_not():
    # Shipped backends and the shared fakes; a test module's own stand-ins (registered when
    # that module is collected, e.g. a target that loads only when its test lets it) are not.
    registered = {
        (r.role, r.scheme)
        for r in registrations()
        if not r.implementation.startswith("tests.")
        or r.implementation.startswith(("tests.fakes:", "tests.backends.test_synthetic:"))
    }
    unaccounted = registered - set(CASES) - set(NOT_OFFLINE)
    assert not unaccounted, f"add these to CASES or NOT_OFFLINE: {sorted(unaccounted)}"
