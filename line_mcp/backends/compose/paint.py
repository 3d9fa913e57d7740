"""Pixels of the compositional source: cut-outs, recolouring, patterns, backgrounds.

Everything here is numpy + PIL and deterministic for a given ``numpy`` random
generator. A subject is an RGBA cut-out: clip art keeps its own alpha;
drawings and photos on a plain white background get an alpha from the
white region connected to the border (white inside the subject stays). Colours
and patterns are painted on the subject's opaque pixels only, keeping its
shading, so the background and the other objects are never recoloured.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from line_mcp.core.attributes import COLOURS

# A pixel at least this close to white (every channel) counts as background of a
# drawing on white.
_WHITE_LEVEL = 238
_OPAQUE = 128  # alpha above which a pixel belongs to the subject


def cut_out(image: Image.Image) -> Image.Image:
    """The subject of a clip-art or white-background image as a tight RGBA crop.

    Args:
        image: Any PIL image; RGBA with real transparency keeps its alpha.

    Returns:
        An RGBA image cropped to the subject; fully transparent around it.

    Raises:
        ValueError: the image holds no subject (all transparent or all white).
    """
    rgba = image.convert("RGBA")
    pixels = np.asarray(rgba)
    alpha = pixels[..., 3]
    if int(alpha.min()) >= 250:  # no transparency: separate the subject from the white
        alpha = np.where(_border_white(pixels[..., :3]), 0, 255).astype(np.uint8)
        pixels = np.dstack([pixels[..., :3], alpha])
        rgba = Image.fromarray(pixels, "RGBA")
    box = Image.fromarray(np.where(alpha > _OPAQUE, 255, 0).astype(np.uint8)).getbbox()
    if box is None:
        raise ValueError("the image has no subject: it is empty or plain white")
    return rgba.crop(box)


def _border_white(rgb: np.ndarray) -> np.ndarray:
    """Near-white pixels connected to the image border (4-neighbour flood fill)."""
    white: np.ndarray = np.asarray((rgb >= _WHITE_LEVEL).all(axis=-1))
    reached = np.zeros_like(white)
    reached[0, :], reached[-1, :], reached[:, 0], reached[:, -1] = (
        white[0, :],
        white[-1, :],
        white[:, 0],
        white[:, -1],
    )
    # Grow inside the white region until nothing changes; each pass is a few
    # vectorised shifts, and drawings converge in tens of passes.
    for _ in range(4 * max(rgb.shape[:2])):
        grown = reached.copy()
        grown[1:, :] |= reached[:-1, :]
        grown[:-1, :] |= reached[1:, :]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= white
        if np.array_equal(grown, reached):
            break
        reached = grown
    return reached


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)) / 255.0


def _shade(rgba: np.ndarray) -> np.ndarray:
    """Per-pixel shading factor of a subject, about 1 on its typical pixels."""
    luminance = _luminance(rgba)
    opaque = rgba[..., 3] > _OPAQUE
    typical = float(np.median(luminance[opaque])) if opaque.any() else 0.5
    return np.clip(0.6 + 0.4 * luminance / max(typical, 0.05), 0.35, 1.15)


def _paint(subject: Image.Image, colours: np.ndarray) -> Image.Image:
    """Replace a subject's colours by ``colours`` (``[h, w, 3]``), keeping shading and outline."""
    rgba = np.asarray(subject.convert("RGBA")).astype(np.float32)
    luminance = _luminance(rgba)
    painted = colours * _shade(rgba)[..., None]
    outline = luminance < 0.18  # dark contour lines stay dark
    painted[outline] = rgba[..., :3][outline]
    out = np.dstack([np.clip(painted, 0, 255), rgba[..., 3]]).astype(np.uint8)
    return Image.fromarray(out, "RGBA")


def recolour(subject: Image.Image, colour: str) -> Image.Image:
    """The subject painted in a basic colour of :data:`~line_mcp.core.attributes.COLOURS`.

    Raises:
        ValueError: an unknown colour name.
    """
    if colour not in COLOURS:
        raise ValueError(f"unknown colour {colour!r}; known: {', '.join(COLOURS)}")
    anchor = np.array(COLOURS[colour], np.float32)
    return _paint(subject, np.broadcast_to(anchor, (subject.height, subject.width, 3)).copy())


def _smooth_noise(shape: tuple[int, int], cells: int, rng: np.random.Generator) -> np.ndarray:
    """Value noise in [0, 1]: ``cells`` x ``cells`` random values upsampled bicubically."""
    small = (rng.random((cells, cells)) * 255).astype(np.uint8)
    big = Image.fromarray(small).resize((shape[1], shape[0]), Image.Resampling.BICUBIC)
    return np.asarray(big, np.float32) / 255.0


#: Patterns drawn as two tones (a mask), and materials drawn as textures.
GEOMETRIC_PATTERNS = ("stripes", "dots", "checks", "grid", "zigzag", "noise")
MATERIALS = ("wood", "metal", "fur")


def pattern_mask(name: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A two-tone pattern as a boolean mask (True = the second tone).

    Args:
        name: One of :data:`GEOMETRIC_PATTERNS`.
        shape: ``(height, width)``.
        rng: Fixes the period, angle and offsets.
    """
    height, width = shape
    side = max(height, width, 8)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    period = side / rng.uniform(5.5, 8.0)
    angle = np.deg2rad(rng.uniform(-35, 35))
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = -xx * np.sin(angle) + yy * np.cos(angle)
    if name == "stripes":
        return np.sin(2 * np.pi * u / period) > 0
    if name == "dots":
        cu = (u / period) % 1.0 - 0.5
        cv = (v / period) % 1.0 - 0.5
        return cu**2 + cv**2 < 0.3**2
    if name == "checks":
        return (np.floor(u / period) + np.floor(v / period)) % 2 == 0
    if name == "grid":
        return ((u / period) % 1.0 < 0.16) | ((v / period) % 1.0 < 0.16)
    if name == "zigzag":
        wave = np.abs((u / period) % 1.0 - 0.5) * period
        return np.sin(2 * np.pi * (v + wave) / (period * 0.8)) > 0
    if name == "noise":
        return _smooth_noise(shape, 24, rng) > 0.5
    raise ValueError(f"unknown pattern {name!r}; patterns: {', '.join(GEOMETRIC_PATTERNS)}")


def material_texture(name: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """An RGB texture (float, 0..255) of a material: wood grain, brushed metal, fur.

    Args:
        name: One of :data:`MATERIALS`.
        shape: ``(height, width)``.
        rng: Fixes the texture.
    """
    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    side = float(max(height, width, 8))
    if name == "wood":
        warp = _smooth_noise(shape, 6, rng) * 0.6
        centre = rng.uniform(-0.5, 1.5) * side
        rings = np.sin(2 * np.pi * (np.hypot(xx - centre, (yy - centre) * 0.15) / side * 9 + warp))
        light, dark = np.array([196, 142, 88], np.float32), np.array([122, 74, 38], np.float32)
        mix = (rings[..., None] + 1) / 2
        return dark + (light - dark) * mix
    if name == "metal":
        # Brushed metal: one random brightness per row, the same along it.
        streaks = np.repeat(rng.random((height, 1)).astype(np.float32), width, axis=1)
        sheen = 0.5 + 0.5 * np.cos(2 * np.pi * (xx + yy) / side * rng.uniform(0.7, 1.3))
        grey = 120 + 70 * sheen + 40 * (streaks - 0.5)
        return np.repeat(grey[..., None], 3, axis=-1) * np.array([0.97, 1.0, 1.05], np.float32)
    if name == "fur":
        noise = rng.random((max(2, height // 2), max(2, width // 8)))
        strands = np.asarray(
            Image.fromarray((noise * 255).astype(np.uint8)).resize(
                (width, height), Image.Resampling.BICUBIC
            ),
            np.float32,
        )
        strands = (
            np.asarray(
                Image.fromarray(strands.astype(np.uint8)).filter(ImageFilter.GaussianBlur(1)),
                np.float32,
            )
            / 255.0
        )
        base = np.array(rng.choice([[150, 105, 60], [110, 100, 90], [200, 170, 120]]), np.float32)
        return base * (0.55 + 0.8 * strands[..., None])
    raise ValueError(f"unknown material {name!r}; materials: {', '.join(MATERIALS)}")


def _second_tone(first: np.ndarray) -> np.ndarray:
    """Black on light colours, white on dark ones."""
    light = float(first @ np.array([0.299, 0.587, 0.114])) > 110
    return np.array([25, 25, 25] if light else [240, 240, 240], np.float32)


def pattern_colours(
    name: str, shape: tuple[int, int], rng: np.random.Generator, base: np.ndarray
) -> np.ndarray:
    """The RGB colours (float) of a pattern or material over ``shape``.

    Args:
        name: A geometric pattern or a material.
        shape: ``(height, width)``.
        rng: Fixes the pattern.
        base: ``[h, w, 3]`` first tone (the subject's own colours or a painted colour).
    """
    if name in MATERIALS:
        return material_texture(name, shape, rng)
    mask = pattern_mask(name, shape, rng)
    mean = base.reshape(-1, 3).mean(axis=0)
    out = base.copy()
    out[mask] = _second_tone(mean)
    return out


def apply_pattern(
    subject: Image.Image, name: str, rng: np.random.Generator, colour: str | None = None
) -> Image.Image:
    """The subject with a pattern or material painted on its opaque pixels.

    Args:
        subject: An RGBA cut-out.
        name: A geometric pattern or a material.
        rng: Fixes the pattern.
        colour: The pattern's first tone; None keeps the subject's own colours.
    """
    rgba = np.asarray(subject.convert("RGBA")).astype(np.float32)
    shape = (subject.height, subject.width)
    if colour is not None:
        base = np.broadcast_to(np.array(COLOURS[colour], np.float32), (*shape, 3)).copy()
    else:
        # The subject's own colours, brightened so the shading is not applied twice.
        base = np.clip(rgba[..., :3] / np.maximum(_shade(rgba), 0.35)[..., None], 0, 255)
    return _paint(subject, pattern_colours(name, shape, rng, base))


#: Settings drawn by :func:`background` (the parser's setting names).
BACKGROUNDS = ("grass", "water", "snow", "night", "sky", "indoors", "sand", "forest", "street")
#: Share of the frame height above the ground line; objects stand below it.
HORIZON: dict[str | None, float] = {
    "grass": 0.38, "snow": 0.36, "sand": 0.4, "street": 0.42, "indoors": 0.62, "forest": 0.7,
}  # fmt: skip


def _vertical(size: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    row = np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t
    return np.repeat(row, size, axis=1)


def background(setting: str | None, size: int, rng: np.random.Generator) -> Image.Image:
    """A procedural background for a setting; plain white for None.

    Args:
        setting: One of :data:`BACKGROUNDS` or None.
        size: Side of the square image.
        rng: Fixes the texture.

    Raises:
        ValueError: an unknown setting.
    """
    if setting is None:
        return Image.new("RGB", (size, size), "white")
    noise: np.ndarray = _smooth_noise((size, size), 32, rng)[..., None]
    fine = rng.random((size, size, 1)).astype(np.float32)
    sky: np.ndarray = _vertical(size, (90, 150, 225), (190, 220, 245))
    ground: np.ndarray
    horizon = int(HORIZON.get(setting, 0.0) * size)
    if setting == "grass":
        ground = np.array([60, 140, 45], np.float32) * (0.7 + 0.4 * noise + 0.2 * fine)
    elif setting == "snow":
        sky = _vertical(size, (170, 185, 205), (225, 230, 238))
        ground = np.array([236, 240, 248], np.float32) * (0.92 + 0.08 * noise) + 4 * fine
    elif setting == "sand":
        ground = np.array([226, 186, 82], np.float32) * (0.85 + 0.2 * noise + 0.08 * fine)
    elif setting == "street":
        ground = np.array([92, 92, 96], np.float32) * (0.85 + 0.2 * noise + 0.1 * fine)
        lane = size * 0.72
        rows = np.arange(size)[:, None]
        cols = np.arange(size)[None, :]
        marks = (np.abs(rows - lane) < size * 0.012) & ((cols // max(1, size // 8)) % 2 == 0)
        ground = np.where(marks[..., None], np.float32(235), ground)
    elif setting == "indoors":
        sky = _vertical(size, (225, 210, 185), (205, 190, 165)) * (0.97 + 0.05 * noise)
        ground = material_texture("wood", (size, size), rng)
    elif setting == "forest":
        sky = _vertical(size, (40, 85, 45), (60, 110, 55)) * (0.6 + 0.7 * noise)
        trunks = (np.sin(np.arange(size) / size * 2 * np.pi * rng.uniform(5, 8)) > 0.75)[None, :]
        sky = np.where(trunks[..., None], np.array([85, 60, 40], np.float32), sky)
        ground = np.array([70, 95, 40], np.float32) * (0.7 + 0.5 * noise)
    elif setting == "water":
        depth = np.arange(size, dtype=np.float32)[:, None, None]
        waves = np.sin(depth / size * 40 + noise * 6) * 0.5 + 0.5
        pixels = _vertical(size, (40, 110, 185), (15, 55, 120)) * (0.85 + 0.25 * waves)
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    elif setting == "night":
        pixels = _vertical(size, (8, 10, 35), (25, 30, 70)) + 10 * noise
        stars = rng.random((size, size)) > 0.996
        pixels[stars] = 235
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    elif setting == "sky":
        clouds = np.clip((_smooth_noise((size, size), 7, rng) - 0.55) * 4, 0, 1)[..., None]
        pixels = sky * (1 - clouds) + 250 * clouds
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    else:
        raise ValueError(f"unknown setting {setting!r}; settings: {', '.join(BACKGROUNDS)}")
    pixels = sky.copy()
    pixels[horizon:] = ground[horizon:]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def fill_frame(
    size: int, rng: np.random.Generator, colour: str | None, pattern: str | None
) -> Image.Image:
    """A frame filled with a colour and/or a pattern (a concept that is only an attribute)."""
    base = np.array(COLOURS[colour] if colour else (235, 235, 235), np.float32)
    colours = np.broadcast_to(base, (size, size, 3)).copy()
    if pattern is not None:
        if colour is None and pattern not in MATERIALS:
            colours[:] = 245.0
        colours = pattern_colours(pattern, (size, size), rng, colours)
    light = _vertical(size, (255, 255, 255), (215, 215, 215)) / 240.0
    return Image.fromarray(np.clip(colours * light, 0, 255).astype(np.uint8))
