"""compose: drawing furniture from the installed sweethome3d models, WordNet and MiniLM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from line_mcp.backends.base import DrawRequest
from line_mcp.backends.registry import BackendError, BuildContext, resolve
from line_mcp.core.attributes import colour_fraction
from line_mcp.core.provenance import Provenance, describe

SPEC = "compose:sweethome3d+art4apps"


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def generator(cache):
    try:
        embedder = resolve("embedder", "minilm")
        return resolve("generator", SPEC, BuildContext(embedder=embedder, cache_dir=cache))
    except BackendError as err:  # sweethome3d-furniture, art4apps or WordNet is not installed
        pytest.skip(str(err))


def draw(generator, concept: str, angle: str, seeds=(0, 1)):
    requests = [DrawRequest(concept, concept, s, angle, "studio lighting") for s in seeds]
    return generator.generate(requests)


def model_objects(image):
    return [o for o in Provenance.model_validate(image.source).objects if o.view is not None]


def test_a_chair_is_drawn_from_a_3d_model_seen_from_the_angle_word(generator) -> None:
    # "chair" has models and no Art4Apps drawing: every image is a render.
    for angle, check in (
        ("aerial view", lambda v: v.elevation > 50),
        ("low angle", lambda v: v.elevation < 0),
    ):
        for image in draw(generator, "chair", angle):
            (item,) = model_objects(image)
            assert item.match.bank == "sweethome3d"
            assert item.match.image_id.startswith("sweethome3d:") and item.match.label == "chair"
            assert check(item.view) and item.framing == f"3D camera: {angle}"
            assert "rendering_3d" in image.source["seconds"]
            assert "3D view elevation" in describe(image.source)


def test_red_sofa_is_a_red_render_on_a_white_background(generator) -> None:
    image = draw(generator, "red sofa", "wide angle shot", seeds=(3,))[0]
    (item,) = model_objects(image)
    assert (item.colour == "red" and "sofa" in item.match.label) or item.match.via != "label"
    pixels = np.asarray(image.image).reshape(-1, 3)
    assert colour_fraction(pixels, "red") > 0.05
    assert colour_fraction(np.asarray(image.image)[:6, :6].reshape(-1, 3), "red") == 0.0


def test_deterministic_per_concept_and_seed_and_views_are_cached(generator, cache) -> None:
    first = draw(generator, "piano", "extreme close-up", seeds=(5, 6))
    renders = sorted((cache / "render3d").glob("*.png"))
    second = draw(generator, "piano", "extreme close-up", seeds=(5, 6))
    assert sorted((cache / "render3d").glob("*.png")) == renders  # nothing rendered again
    for a, b in zip(first, second, strict=True):
        assert a.image.tobytes() == b.image.tobytes()
        assert {**a.source, "seconds": {}} == {**b.source, "seconds": {}}
    views = [model_objects(image)[0].view for image in first]
    assert views[0] != views[1]  # the seed turns the camera
    assert first[0].image.tobytes() != first[1].image.tobytes()


def test_pictures_say_which_2d_framing_they_got(generator) -> None:
    image = draw(generator, "elephant", "aerial view", seeds=(0,))[0]
    (item,) = Provenance.model_validate(image.source).objects
    assert item.view is None and item.match.bank == "art4apps"
    assert item.framing.startswith("2D:") and "aerial" in item.framing
