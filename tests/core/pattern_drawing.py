"""Procedural pattern images for detector tests: stripes, checks, dot grids, and negatives."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def _two_colour(mask: np.ndarray, rng: np.random.Generator) -> Image.Image:
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    while np.abs(a - b).sum() < 200:  # keep the two colours apart in brightness or hue
        b = rng.integers(0, 256, 3)
    pixels = np.where(mask[..., None], a, b).astype(np.uint8)
    return Image.fromarray(pixels)


def _coordinates(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    theta = rng.uniform(0, np.pi)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    return x * np.cos(theta) + y * np.sin(theta), -x * np.sin(theta) + y * np.cos(theta)


def stripes(rng: np.random.Generator, size: int = 224) -> Image.Image:
    u, _ = _coordinates(size, rng)
    period = rng.uniform(10, 40)
    return _two_colour((u // (period / 2)) % 2 == 0, rng)


def checks(rng: np.random.Generator, size: int = 224) -> Image.Image:
    u, v = _coordinates(size, rng)
    cell = rng.uniform(8, 30)
    return _two_colour(((u // cell) + (v // cell)) % 2 == 0, rng)


def dots(rng: np.random.Generator, size: int = 224) -> Image.Image:
    """A square or hexagonal grid of discs."""
    spacing = rng.uniform(14, 36)
    radius = spacing * rng.uniform(0.2, 0.35)
    u, v = _coordinates(size, rng)
    if rng.random() < 0.5:
        du, dv = (u % spacing) - spacing / 2, (v % spacing) - spacing / 2
        mask = du**2 + dv**2 <= radius**2
    else:
        row = spacing * np.sqrt(3) / 2
        r = np.floor(v / row)
        shifted = u + (r % 2) * spacing / 2
        du, dv = (shifted % spacing) - spacing / 2, v - (r + 0.5) * row
        mask = du**2 + dv**2 <= radius**2
    return _two_colour(mask, rng)


def negative(rng: np.random.Generator, size: int = 224) -> Image.Image:
    """No repeated texture: a flat colour, a gradient, noise, or a few shapes on a page."""
    kind = int(rng.integers(0, 4))
    if kind == 0:
        return Image.new("RGB", (size, size), tuple(int(c) for c in rng.integers(0, 256, 3)))
    if kind == 1:
        ramp = np.linspace(0, 1, size)
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        grid = ramp[None, :, None] * a + (1 - ramp[None, :, None]) * b
        return Image.fromarray(np.repeat(grid, size, axis=0).astype(np.uint8))
    if kind == 2:
        return Image.fromarray(rng.integers(0, 256, (size, size, 3)).astype(np.uint8))
    image = Image.new("RGB", (size, size), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 4))):
        x0, y0 = rng.integers(0, size // 2, 2)
        x1, y1 = x0 + rng.integers(30, size // 2), y0 + rng.integers(30, size // 2)
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((int(x0), int(y0), int(x1), int(y1)), fill=fill)
        else:
            draw.rectangle((int(x0), int(y0), int(x1), int(y1)), fill=fill)
    return image


DRAW = {"stripes": stripes, "checks": checks, "dots": dots}
