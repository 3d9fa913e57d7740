"""Pixels of the compositional source: cut-outs, subject-only recolouring, patterns, settings."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from line_mcp.backends.compose import paint
from line_mcp.core.attributes import colour_fraction


def drawing_on_white() -> Image.Image:
    """A black-outlined grey ring with a white hole, on white (like an Art4Apps drawing)."""
    image = Image.new("RGB", (100, 80), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 10, 80, 70), fill=(150, 150, 150), outline=(0, 0, 0), width=3)
    draw.ellipse((42, 32, 58, 48), fill="white", outline=(0, 0, 0), width=2)
    return image


def test_cut_out_drops_the_border_white_and_keeps_white_inside() -> None:
    subject = paint.cut_out(drawing_on_white())
    assert subject.mode == "RGBA" and subject.size == (61, 61)  # cropped to the ring
    alpha = np.asarray(subject)[..., 3]
    assert alpha[0, 0] == 0  # the corner was background
    assert alpha[30, 30] == 255  # the white hole is enclosed by the outline: kept
    assert alpha[30, 10] == 255  # the grey body


def test_cut_out_keeps_real_transparency() -> None:
    image = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    image.paste((255, 255, 255, 255), (5, 5, 15, 15))  # a white square is a subject here
    assert paint.cut_out(image).size == (10, 10)


def test_cut_out_of_nothing_says_so() -> None:
    with pytest.raises(ValueError, match="no subject"):
        paint.cut_out(Image.new("RGB", (10, 10), "white"))


def test_recolour_paints_only_the_subject() -> None:
    subject = paint.cut_out(drawing_on_white())
    red = paint.recolour(subject, "red")
    before, after = np.asarray(subject), np.asarray(red)
    assert (before[..., 3] == after[..., 3]).all()  # the shape is unchanged
    opaque = after[..., 3] > 128
    assert colour_fraction(after[opaque][:, :3], "red") > 0.6
    # Composited on a background, the pixels outside the subject keep the background.
    frame = Image.new("RGB", (80, 80), (30, 80, 200))
    frame.paste(red, (5, 5), red)
    pixels = np.asarray(frame)
    assert tuple(pixels[1, 1]) == (30, 80, 200)
    assert colour_fraction(pixels.reshape(-1, 3), "blue") > 0.3


def test_unknown_colour_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: red, orange"):
        paint.recolour(paint.cut_out(drawing_on_white()), "plaid")


@pytest.mark.parametrize("name", paint.GEOMETRIC_PATTERNS)
def test_patterns_cover_a_sizeable_share_and_are_deterministic(name: str) -> None:
    first = paint.pattern_mask(name, (64, 64), np.random.default_rng(3))
    again = paint.pattern_mask(name, (64, 64), np.random.default_rng(3))
    assert (first == again).all()
    assert 0.1 < first.mean() < 0.9


@pytest.mark.parametrize("name", paint.MATERIALS)
def test_materials_are_textures(name: str) -> None:
    texture = paint.material_texture(name, (64, 64), np.random.default_rng(0))
    assert texture.shape == (64, 64, 3)
    assert texture.std() > 3  # not a flat colour


def test_pattern_on_subject_keeps_alpha_and_adds_edges() -> None:
    subject = paint.cut_out(drawing_on_white())
    striped = paint.apply_pattern(subject, "stripes", np.random.default_rng(0), "yellow")
    assert (np.asarray(striped)[..., 3] == np.asarray(subject)[..., 3]).all()
    grey = np.asarray(striped.convert("L"), np.float32)
    plain = np.asarray(subject.convert("L"), np.float32)
    assert np.abs(np.diff(grey, axis=1)).mean() > np.abs(np.diff(plain, axis=1)).mean()


@pytest.mark.parametrize("setting", paint.BACKGROUNDS)
def test_backgrounds(setting: str) -> None:
    image = paint.background(setting, 64, np.random.default_rng(1))
    assert image.size == (64, 64) and image.mode == "RGB"
    assert image.tobytes() == paint.background(setting, 64, np.random.default_rng(1)).tobytes()
    assert np.asarray(image).mean() < 250  # not the plain white of no setting


def test_setting_colours_are_measurable() -> None:
    rng = np.random.default_rng(0)
    grass = np.asarray(paint.background("grass", 64, rng)).reshape(-1, 3)
    night = np.asarray(paint.background("night", 64, rng), np.float32)
    assert colour_fraction(grass, "green") > 0.4
    assert night.mean() < 60
    with pytest.raises(ValueError, match="settings: grass"):
        paint.background("moon", 64, rng)


def test_fill_frame_with_colour_and_pattern() -> None:
    rng = np.random.default_rng(0)
    red = np.asarray(paint.fill_frame(64, rng, "red", None)).reshape(-1, 3)
    assert colour_fraction(red, "red") > 0.9
    striped = np.asarray(paint.fill_frame(64, rng, "blue", "stripes")).reshape(-1, 3)
    assert 0.3 < colour_fraction(striped, "blue") < 0.7
