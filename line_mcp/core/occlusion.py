"""Occlusion sensitivity: where in an image a neuron responds (the ablation fallback).

A grey patch slides over the image; the positions whose occlusion lowers the
neuron most locate what it responds to. Pure PIL, no model: the service runs
the occluded images through the target in batches.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageFilter

Box = tuple[int, int, int, int]


def grid_boxes(size: tuple[int, int], patch_fraction: float = 0.3, steps: int = 5) -> list[Box]:
    """Square patches on a ``steps`` x ``steps`` grid covering the image.

    Args:
        size: Image ``(width, height)``.
        patch_fraction: Patch side as a fraction of the shorter image side.
        steps: Positions per axis (patches overlap when ``steps * fraction > 1``).

    Returns:
        ``(left, top, right, bottom)`` boxes in pixels, row by row.

    Example:
        >>> grid_boxes((100, 100), 0.5, 2)
        [(0, 0, 50, 50), (50, 0, 100, 50), (0, 50, 50, 100), (50, 50, 100, 100)]
    """
    width, height = size
    side = max(1, round(min(width, height) * patch_fraction))
    xs = _positions(width, side, steps)
    ys = _positions(height, side, steps)
    return [(x, y, x + side, y + side) for y in ys for x in xs]


def _positions(length: int, side: int, steps: int) -> list[int]:
    if steps <= 1 or length <= side:
        return [max(0, (length - side) // 2)]
    return sorted({round(i * (length - side) / (steps - 1)) for i in range(steps)})


def occlude(image: Image.Image, box: Sequence[int], grey: int = 128) -> Image.Image:
    """A copy of ``image`` with ``box`` filled mid-grey."""
    occluded = image.copy()
    left, top, right, bottom = box
    occluded.paste((grey, grey, grey), (left, top, right, bottom))
    return occluded


def blur_region(image: Image.Image, box: Sequence[int]) -> Image.Image:
    """A copy of ``image`` with ``box`` blurred beyond recognition (radius: half the box)."""
    left, top, right, bottom = box
    radius = max(2, min(right - left, bottom - top) // 2)
    blurred = image.filter(ImageFilter.GaussianBlur(radius))
    result = image.copy()
    result.paste(blurred.crop((left, top, right, bottom)), (left, top))
    return result
