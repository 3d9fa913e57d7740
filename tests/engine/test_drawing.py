"""Target passes shared across layers: ``cache_layers`` and images reused by another layer."""

from __future__ import annotations

import numpy as np
import pytest

from line_mcp.config import LoopConfig
from line_mcp.errors import InputError
from line_mcp.service import LineService

NET = "torch:tests.backends.tiny_models:tiny_convnet?resize=36&crop=32"
CONFIG = LoopConfig(seed=5)
CONCEPTS = ["colour 1", "colour 2", "colour 3"]


def _no_calls(*_args, **_kwargs):
    raise AssertionError("this must come from the cache")


def test_one_pass_fills_every_asked_layer_under_that_layers_own_key(fake_backends, tmp_path):
    backends = fake_backends.model_copy(update={"target": NET, "layer": "1"})
    first = LineService(backends.model_copy(update={"cache_layers": ("3",)}), tmp_path / "ws")
    first.drawing.draw(CONCEPTS, CONFIG, keep_images=False)
    # A run on layer 3 over the same workspace reads no image through the model.
    second = LineService(backends.model_copy(update={"layer": "3"}), tmp_path / "ws")
    second.backends.target.activations = _no_calls  # type: ignore[method-assign]
    second.backends.generator.generate = _no_calls  # type: ignore[method-assign]
    cached = second.drawing.draw(CONCEPTS, CONFIG, keep_images=False)
    fresh = LineService(backends.model_copy(update={"layer": "3"}), tmp_path / "fresh")
    direct = fresh.drawing.draw(CONCEPTS, CONFIG, keep_images=False)
    for got, want in zip(cached, direct, strict=True):
        assert got.image_ids == want.image_ids  # image ids do not depend on the layer
        assert np.allclose(got.activations, want.activations, atol=1e-6)
    assert fresh.backends.target.fingerprint == second.backends.target.fingerprint


def test_stored_images_of_another_layer_are_read_not_drawn_again(fake_backends, tmp_path):
    backends = fake_backends.model_copy(update={"target": NET, "layer": "1"})
    LineService(backends, tmp_path).drawing.draw(CONCEPTS, CONFIG)  # pixels kept
    other = LineService(backends.model_copy(update={"layer": "3"}), tmp_path)
    other.backends.generator.generate = _no_calls  # type: ignore[method-assign]
    drawn = other.drawing.draw(CONCEPTS, CONFIG)
    assert all(d.activations.shape == (CONFIG.images_per_concept, 4) for d in drawn)


def test_cache_layers_need_a_target_that_reads_several_layers(fake_backends, tmp_path):
    service = LineService(fake_backends.model_copy(update={"cache_layers": ("x",)}), tmp_path)
    with pytest.raises(InputError, match="cache_layers needs a target that reads several"):
        service.drawing.draw(CONCEPTS, CONFIG)


def test_pool_scores_equal_the_loops_scores_and_read_the_workspace_once(fake_backends, tmp_path):
    service = LineService(fake_backends.model_copy(update={"target": NET, "layer": "1"}), tmp_path)
    drawing = service.drawing
    expected = {n: [s.score for s in drawing.score_concepts(n, CONCEPTS, CONFIG)] for n in (0, 2)}
    assert drawing.pool_scores(0, CONCEPTS, CONFIG) == expected[0]
    # The pool is scored for every neuron at every step: later calls read nothing again.
    drawing.draw = _no_calls  # type: ignore[method-assign]
    assert drawing.pool_scores(2, CONCEPTS[::-1], CONFIG) == expected[2][::-1]
    with pytest.raises(AssertionError):  # other image settings are another pool
        drawing.pool_scores(0, CONCEPTS, CONFIG.model_copy(update={"images_per_concept": 2}))
