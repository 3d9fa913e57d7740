import numpy as np
import pytest
from PIL import Image, ImageDraw

from line_mcp.core.attributes import COLOURS
from line_mcp.core.detectors import (
    DETECTED_PATTERNS,
    check_colour,
    check_pattern,
    colour_detector,
    pattern_scores,
    salient_pixels,
)
from tests.core.pattern_drawing import DRAW, negative


def _object_on_page(colour, page=(245, 245, 245), size=160):
    image = Image.new("RGB", (size, size), page)
    ImageDraw.Draw(image).ellipse((40, 30, 120, 130), fill=colour)
    return image


@pytest.mark.parametrize("name", list(COLOURS))
def test_colour_detector_reads_the_object_not_the_page(name):
    page = (20, 20, 20) if name == "white" else (245, 245, 245)
    page_name = "black" if name == "white" else "white"
    image = _object_on_page(COLOURS[name], page)
    assert colour_detector(image, name) > 0.9
    if name != page_name:
        assert colour_detector(image, page_name) < 0.1
    others = [other for other in COLOURS if other not in (name, page_name)]
    assert max(colour_detector(image, other) for other in others) < 0.1


def test_colour_detector_synonyms_and_mixed_objects():
    image = Image.new("RGB", (100, 100), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 49, 79), fill=COLOURS["red"])
    draw.rectangle((50, 20, 79, 79), fill=COLOURS["blue"])
    assert colour_detector(image, "crimson") == pytest.approx(0.5, abs=0.05)
    assert colour_detector(image, "navy") == pytest.approx(0.5, abs=0.05)


def test_a_uniform_image_counts_all_its_pixels():
    image = Image.new("RGB", (50, 50), COLOURS["green"])
    assert len(salient_pixels(image)) == 64 * 64
    assert colour_detector(image, "green") == 1.0


def test_unknown_colour_and_pattern_say_what_is_allowed():
    with pytest.raises(ValueError, match="unknown colour 'zebra'; allowed: red, orange"):
        check_colour("zebra")
    with pytest.raises(ValueError, match="no pattern detector for 'wood'; allowed: stripes"):
        check_pattern("wood")
    assert check_pattern("polka-dot") == "dots"


@pytest.mark.parametrize("name", DETECTED_PATTERNS)
def test_pattern_detector_on_drawn_positives_and_negatives(name):
    rng = np.random.default_rng(7)
    positives = np.array(
        [[pattern_scores(DRAW[name](rng))[n] for n in DETECTED_PATTERNS] for _ in range(25)]
    )
    own = positives[:, DETECTED_PATTERNS.index(name)]
    other = np.delete(positives, DETECTED_PATTERNS.index(name), axis=1)
    assert own.mean() > 0.85 and (own > 0.5).mean() >= 0.9
    assert other.mean() < 0.1 and (other < 0.3).mean() >= 0.9  # the other patterns stay low
    negatives = np.array([pattern_scores(negative(rng))[name] for _ in range(40)])
    assert negatives.mean() < 0.1 and (negatives < 0.3).mean() >= 0.9


def test_flat_image_has_no_pattern():
    assert pattern_scores(Image.new("RGB", (64, 64), (10, 200, 30))) == dict.fromkeys(
        DETECTED_PATTERNS, 0.0
    )
