"""The concept parser of the compositional image source."""

from __future__ import annotations

import pytest

from line_mcp.core.composition import ConceptError, NotDrawableError, parse_concept

COMPOUNDS = {"snow leopard", "giant panda", "fire truck", "red fox"}


def parse(text: str, max_words: int = 6):
    return parse_concept(text, max_words, lambda phrase: phrase in COMPOUNDS)


def test_object_with_colour_count_and_setting() -> None:
    parts = parse("two red cats on grass")
    assert [o.model_dump() for o in parts.objects] == [
        {"phrase": "cats", "count": 2, "count_word": "two", "colour": "red", "pattern": None,
         "size": None}
    ]  # fmt: skip
    assert parts.setting == "grass" and parts.ignored == ["on"]


@pytest.mark.parametrize(
    ("text", "phrases"),
    [
        ("dog and ball", ["dog", "ball"]),
        ("cat with hat", ["cat", "hat"]),
        ("fire truck", ["fire truck"]),
    ],
)
def test_objects_split_on_connectors_and_keep_multiword_names(
    text: str, phrases: list[str]
) -> None:
    assert [o.phrase for o in parse(text).objects] == phrases


def test_attributes_attach_to_the_object_they_precede() -> None:
    parts = parse("red dog and striped ball")
    assert [(o.phrase, o.colour, o.pattern) for o in parts.objects] == [
        ("dog", "red", None),
        ("ball", None, "stripes"),
    ]


def test_an_attribute_after_the_object_describes_it() -> None:
    assert parse("cat red").objects[0].colour == "red"


@pytest.mark.parametrize("text", ["snow leopard", "giant panda", "red fox"])
def test_compound_nouns_are_not_torn_into_attributes(text: str) -> None:
    parts = parse(text)
    assert [o.phrase for o in parts.objects] == [text]
    assert parts.setting is None and parts.objects[0].colour is None
    # Without the compound check the attribute words are read as attributes.
    plain = parse_concept(text, 3)
    assert plain.objects[0].phrase != text


@pytest.mark.parametrize(
    ("text", "colour", "pattern", "setting"),
    [
        ("red", "red", None, None),
        ("striped", None, "stripes", None),
        ("fur", None, "fur", None),
        ("crimson polka-dot", "red", "dots", None),
        ("night", None, None, "night"),
    ],
)
def test_attribute_only_concepts(
    text: str, colour: str | None, pattern: str | None, setting: str | None
) -> None:
    parts = parse(text)
    assert parts.objects == []
    assert (parts.colour, parts.pattern, parts.setting) == (colour, pattern, setting)


def test_size_words_and_numbers() -> None:
    assert parse("tiny bird").objects[0].size == "tiny"
    assert parse("3 apples").objects[0].count == 3
    assert parse("many birds").objects[0].count == 6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty concept"),
        ("  !! ", "empty concept"),
        ("one two three four", "has 4 words; at most 3"),
        ("the of a", "only stop words"),
        ("two", "no object to draw"),
        ("cat and dog and cow", "at most 2 are drawn together"),
        ("grass at night", "two settings"),
    ],
)
def test_bad_input_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConceptError, match=message):
        parse_concept(text, 3 if "four" in text else 6)


def test_not_drawable_is_a_user_facing_concept_error() -> None:
    err = NotDrawableError("cuttlefish", "cuttlefish", "dolphinfish", 0.67, 0.75)
    assert isinstance(err, ConceptError) and isinstance(err, ValueError)
    assert "not drawable" in str(err) and "'dolphinfish' at 0.67" in str(err)
    assert "below the threshold 0.75" in str(err)


def test_with_a_count_a_colour_word_can_be_the_object() -> None:
    lemons = parse("two red lemons").objects
    assert [(o.phrase, o.count, o.colour) for o in lemons] == [("lemons", 2, "red")]
    assert parse("big orange").objects[0].phrase == "orange"
    assert parse("orange").objects == []  # alone it is the colour
