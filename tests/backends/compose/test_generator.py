"""The compose: generator on the installed banks, WordNet and the bundled MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from line_mcp.backends.base import DrawRequest
from line_mcp.backends.registry import BackendError, BuildContext, resolve
from line_mcp.core.attributes import colour_fraction
from line_mcp.core.composition import ConceptError, NotDrawableError
from line_mcp.core.provenance import Provenance
from line_mcp.data import banks

SPEC = "compose:tuxpaint+art4apps"


@pytest.fixture(scope="module")
def embedder():
    return resolve("embedder", "minilm")


@pytest.fixture(scope="module")
def generator(embedder):
    try:
        return resolve("generator", SPEC, BuildContext(embedder=embedder))
    except BackendError as err:  # a bank or WordNet is not installed
        pytest.skip(str(err))


def draw(generator, concept: str, seeds=(0, 1, 2), angle: str = "wide angle shot"):
    requests = [
        DrawRequest(concept, f"photo of {concept}", s, angle, "studio lighting") for s in seeds
    ]
    return generator.generate(requests)


def provenance(image) -> Provenance:
    return Provenance.model_validate(image.source)


def test_registered_and_fingerprinted(generator) -> None:
    assert generator.name == SPEC
    assert len(generator.fingerprint) == 16


def test_deterministic_per_concept_and_seed(generator) -> None:
    first, second = draw(generator, "red dog"), draw(generator, "red dog")
    for a, b in zip(first, second, strict=True):
        assert a.image.tobytes() == b.image.tobytes()
        assert {**a.source, "seconds": {}} == {**b.source, "seconds": {}}
    assert first[0].image.tobytes() != first[1].image.tobytes()  # seeds differ


@pytest.mark.parametrize(("word", "label_kind"), [("puppy", None), ("vehicle", "hyponym")])
def test_wordnet_finds_kinds(generator, word: str, label_kind: str | None) -> None:
    item = provenance(draw(generator, word)[0]).objects[0].match
    assert item.word == word
    if label_kind:
        assert item.via == label_kind
    else:
        assert item.label == "puppy" or item.via in ("synonym", "hypernym")


def test_a_hypernym_stands_in_when_no_exact_label_exists(embedder) -> None:
    from line_mcp.backends.compose.matching import ObjectMatcher
    from line_mcp.knowledge.wordnet import default_wordnet

    dogs = [e for e in banks.list_bank("art4apps") if e.label == "dog"]
    matcher = ObjectMatcher(dogs, embedder, default_wordnet())
    found = matcher.match("dalmatian", 1)[0]
    assert (found.label, found.via) == ("dog", "hypernym")


def test_colour_is_painted_on_the_subject_and_not_the_background(generator) -> None:
    image = draw(generator, "blue cat", seeds=(4,))[0].image
    pixels = np.asarray(image).reshape(-1, 3)
    assert colour_fraction(pixels, "blue") > 0.05
    corner = np.asarray(image)[:8, :8].reshape(-1, 3)
    assert colour_fraction(corner, "blue") == 0.0  # the white background stays


def test_count_setting_and_two_objects(generator) -> None:
    counted = provenance(draw(generator, "three cats", seeds=(0,))[0])
    assert counted.objects[0].count == 3
    plural = provenance(draw(generator, "cats", seeds=(0,))[0])
    assert plural.objects[0].count > 1
    night = draw(generator, "owl at night", seeds=(0,))[0]
    assert provenance(night).setting == "night"
    assert np.asarray(night.image, np.float32).mean() < 120
    pair = provenance(draw(generator, "dog and ball", seeds=(0,))[0])
    assert [o.match.word for o in pair.objects] == ["dog", "ball"]


def test_attribute_only_concepts_fill_the_frame(generator) -> None:
    image = draw(generator, "green", seeds=(0,))[0]
    assert provenance(image).fill == "colour green" and provenance(image).objects == []
    assert colour_fraction(np.asarray(image.image).reshape(-1, 3), "green") > 0.8


@pytest.mark.parametrize("concept", ["democracy", "cuttlefish", "xqzt blorf"])
def test_not_drawable_instead_of_an_unrelated_picture(generator, concept: str) -> None:
    with pytest.raises(NotDrawableError, match="not drawable"):
        draw(generator, concept)
    key, score = generator.matches(concept, 1)[0]
    assert key.startswith("(not drawable)") and score == 0.0


@pytest.mark.parametrize(
    ("concept", "message"),
    [("", "empty concept"), ("the of", "only stop words"), ("a b c d e f g", "at most 6")],
)
def test_bad_input_raises_a_clear_concept_error(generator, concept: str, message: str) -> None:
    with pytest.raises(ConceptError, match=message):
        draw(generator, concept)


def test_matches_keys_tell_compositions_apart(generator) -> None:
    red, blue, plain = (generator.matches(c, 1)[0][0] for c in ("red cat", "blue cat", "cat"))
    assert len({red, blue, plain}) == 3
    assert generator.matches("kitty", 1)[0][1] > 0


def test_the_control_set_cannot_be_drawn_from(embedder) -> None:
    with pytest.raises(BackendError, match="control set"):
        resolve("generator", "compose:tuxpaint+openmoji", BuildContext(embedder=embedder))


def test_a_missing_bank_says_how_to_install(embedder, monkeypatch) -> None:
    from pathlib import Path

    from line_mcp.data.banks import art4apps

    banks.list_bank.cache_clear()
    monkeypatch.setattr(art4apps, "ART4APPS_ROOT", Path("/nonexistent/art4apps"))
    try:
        with pytest.raises(BackendError, match="apt-get install -y pysiogame"):
            resolve("generator", "compose:art4apps", BuildContext(embedder=embedder))
    finally:
        monkeypatch.undo()
        banks.list_bank.cache_clear()


def test_needs_an_embedder() -> None:
    with pytest.raises(BackendError, match="text embedder"):
        resolve("generator", SPEC, BuildContext())


def test_can_draw_sorts_a_vocabulary_in_one_pass(generator) -> None:
    concepts = ["cat", "cuttlefish", "", "red", "white dog", "the of"]
    assert generator.can_draw(concepts) == [True, False, False, True, True, False]


def test_photos_are_drawn_whole_with_the_colour_on_the_photo_only(embedder) -> None:
    try:
        photos = resolve("generator", "compose:ifct", BuildContext(embedder=embedder))
    except BackendError as err:  # the npm packages are not installed
        pytest.skip(str(err))
    image = draw(photos, "cabbage on grass", seeds=(0,))[0]
    item = provenance(image).objects[0]
    assert item.match.bank == "ifct" and item.match.label == "cabbage"
    pixels = np.asarray(image.image)
    assert colour_fraction(pixels.reshape(-1, 3), "green") > 0.2  # the grass around the photo


def test_source_labels_are_labels_not_drawing_keys(generator) -> None:
    labels = generator.source_labels("dog", 3)
    assert labels[0] == ("dog", 1.0)
    assert all(label in generator.matcher.labels for label, _ in labels)


def test_a_label_without_a_picture_is_passed_over(embedder, monkeypatch) -> None:
    # "ball" ties six labels; with the first one's files blank, keys, drawability and
    # drawings all use the others, and reading one picture per label is enough.
    fresh = resolve("generator", SPEC, BuildContext(embedder=embedder))
    ties = [m.label for m in fresh.matcher.best("ball")]
    blank, read = ties[0], []

    def usable(entry: banks.BankImage) -> bool:
        read.append(entry.label)
        return entry.label != blank

    monkeypatch.setattr(fresh, "_usable", usable)
    key = fresh.matches("ball", 1)[0][0]
    assert key.startswith(f"1x{ties[1]}/")
    assert read == ties[:2]  # the key reads no further than the first picture
    assert fresh.can_draw(["ball"]) == [True]
    assert [m.label for _, found in fresh.plan("ball") for m in found] == ties[1:]
    assert provenance(draw(fresh, "ball", seeds=(0,))[0]).objects[0].match.label != blank


def test_a_phrase_whose_labels_hold_no_picture_is_not_drawable(embedder, monkeypatch) -> None:
    fresh = resolve("generator", SPEC, BuildContext(embedder=embedder))
    monkeypatch.setattr(fresh, "_usable", lambda entry: entry.label != "cat")
    assert fresh.can_draw(["cat", "dog"]) == [False, True]
    assert fresh.matches("cat", 1)[0][1] == 0.0
    with pytest.raises(NotDrawableError, match="hold no picture"):
        draw(fresh, "cat", seeds=(0,))
