"""Provenance of composed images and the one-line description shown next to a thumbnail."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from line_mcp.core.provenance import DrawnObject, Provenance, SourceMatch, describe


def provenance() -> Provenance:
    dog = SourceMatch(word="puppy", image_id="art4apps:animals/dog", bank="art4apps",
                      label="dog", similarity=0.85, via="hypernym")  # fmt: skip
    ball = SourceMatch(word="ball", image_id="tuxpaint:toys/ball", bank="tuxpaint",
                       label="ball", similarity=1.0, via="label")  # fmt: skip
    return Provenance(
        concept="red puppy and ball",
        objects=[DrawnObject(match=dog, colour="red"), DrawnObject(match=ball, count=2)],
        setting="grass",
    )


def test_round_trip_through_the_stored_dict() -> None:
    dumped = provenance().model_dump(mode="json")
    assert Provenance.model_validate(dumped) == provenance()
    assert dumped["objects"][0]["match"]["via"] == "hypernym"


def test_describe_names_sources_relations_and_attributes() -> None:
    text = describe(provenance().model_dump(mode="json"))
    assert text == (
        "'dog' (art4apps:animals/dog, hypernym of 'puppy', 0.85), colour red; "
        "2 x 'ball' (tuxpaint:toys/ball, 1.00); setting grass (procedural)"
    )


def test_describe_other_sources() -> None:
    assert describe({"bank_image": "tuxpaint:a/cat", "bank_label": "cat", "similarity": 0.5}) == (
        "'cat' (tuxpaint:a/cat, 0.50)"
    )
    assert describe({}) == ""
    assert describe({"generator": "compose", "concept": "red", "fill": "colour red"}) == (
        "fill colour red"
    )


def test_unknown_match_kinds_are_refused() -> None:
    with pytest.raises(ValidationError):
        SourceMatch(word="a", image_id="b", bank="c", label="d", similarity=1.0, via="guess")
