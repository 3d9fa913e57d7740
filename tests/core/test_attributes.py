import numpy as np
import pytest

from line_mcp.core.attributes import (
    COLOUR_SYNONYMS,
    COLOURS,
    PATTERNS,
    colour_fraction,
    colour_name,
    nearest_colour_index,
    pattern_name,
)


def test_every_anchor_is_its_own_nearest_colour():
    names = list(COLOURS)
    found = nearest_colour_index(np.array(list(COLOURS.values())))
    assert [names[i] for i in found] == names


def test_synonyms_point_at_basic_colours():
    assert set(COLOUR_SYNONYMS.values()) <= set(COLOURS)
    assert colour_name(" Navy ") == "blue"


def test_pattern_words_are_unambiguous():
    words = [w for ws in PATTERNS.values() for w in ws]
    assert len(words) == len(set(words))
    assert pattern_name("polka") == "dots"


def test_colour_fraction_counts_only_the_named_colour():
    pixels = np.array([[200, 30, 35]] * 3 + [[30, 80, 200]])
    assert colour_fraction(pixels, "red") == pytest.approx(0.75)
    assert colour_fraction(pixels, "blue") == pytest.approx(0.25)
    assert colour_fraction(np.zeros((0, 3)), "red") == 0.0
    with pytest.raises(ValueError, match="unknown colour"):
        colour_fraction(pixels, "zebra")
