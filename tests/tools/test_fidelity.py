"""The measuring helpers of tools/fidelity.py and tools/compose_threshold.py."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from line_mcp.backends.compose import paint


def load(name: str):
    path = Path(__file__).resolve().parents[2] / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


fidelity = load("fidelity")
threshold = load("compose_threshold")


def test_every_kind_uses_the_same_objects():
    kinds = fidelity.concepts_of(["cat", "dog"])
    assert set(kinds) == set(fidelity.KINDS)
    assert [o for _, o, _ in kinds["setting"]] == ["cat", "dog"]
    assert kinds["colour"][0] == ("red cat", "cat", "red")
    assert kinds["setting"][1] == ("dog in water", "dog", "water")


@pytest.mark.parametrize("setting", ["grass", "water", "night", "sky", "sand", "street"])
def test_a_drawn_setting_is_detected_and_a_white_page_is_not(setting):
    drawn = paint.background(setting, 96, np.random.default_rng(0))
    assert fidelity.setting_present(drawn, setting)
    assert not fidelity.setting_present(Image.new("RGB", (96, 96), "white"), setting)


def test_pattern_energy_rises_with_stripes():
    plain = Image.new("RGB", (64, 64), (200, 200, 200))
    striped = paint.fill_frame(64, np.random.default_rng(0), None, "stripes")
    assert fidelity.gradient_energy(striped) > 1.3 * fidelity.gradient_energy(plain)


def test_wordnet_links_decide_related_pairs():
    try:
        from line_mcp.knowledge.wordnet import default_wordnet

        wordnet = default_wordnet()
        wordnet.synsets("dog")
    except Exception as err:  # wordnet-base missing
        pytest.skip(str(err))
    assert threshold.related(wordnet, "puppy", "dog") is True
    assert threshold.related(wordnet, "cuttlefish", "dolphinfish") is False
    assert threshold.related(wordnet, "xqzt", "dog") is None
