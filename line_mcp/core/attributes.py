"""Named visual attributes shared by the drawing side and the detecting side.

The compositional image source paints colours and patterns into images, and
synthetic neurons detect them. Both read the names from here, so "crimson"
drawn by one is "red" detected by the other.

Colours are the basic colour terms with one sRGB anchor each; a pixel's colour
is the nearest anchor in CIE Lab, so drawing (paint the anchor) and detecting
(classify each pixel) use one definition. Patterns are canonical names with
the words that refer to them.

Example:
    >>> colour_name("Crimson")
    'red'
    >>> pattern_name("polka-dot")
    'dots'
    >>> colour_name("zebra") is None
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: Basic colour terms and the sRGB value drawn for each.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 30, 35),
    "orange": (240, 130, 20),
    "yellow": (245, 215, 40),
    "green": (40, 150, 50),
    "blue": (30, 80, 200),
    "purple": (125, 45, 160),
    "pink": (240, 130, 180),
    "brown": (120, 72, 35),
    "black": (20, 20, 20),
    "white": (245, 245, 245),
    "grey": (128, 128, 128),
}

#: Other words for a basic colour (lower case).
COLOUR_SYNONYMS: dict[str, str] = {
    "gray": "grey",
    "silver": "grey",
    "crimson": "red",
    "scarlet": "red",
    "maroon": "red",
    "ruby": "red",
    "amber": "orange",
    "golden": "yellow",
    "gold": "yellow",
    "lemon": "yellow",
    "olive": "green",
    "lime": "green",
    "emerald": "green",
    "navy": "blue",
    "azure": "blue",
    "cyan": "blue",
    "turquoise": "blue",
    "teal": "blue",
    "violet": "purple",
    "lilac": "purple",
    "magenta": "pink",
    "rose": "pink",
    "tan": "brown",
    "beige": "brown",
    "chocolate": "brown",
    "ebony": "black",
    "ivory": "white",
    "snowy": "white",
}

#: Canonical pattern or material names and the words that name them (lower case).
PATTERNS: dict[str, tuple[str, ...]] = {
    "stripes": ("stripes", "striped", "stripe", "stripy", "banded", "pinstripe"),
    "dots": ("dots", "dotted", "dot", "spots", "spotted", "spot", "polka", "polka-dot", "speckled"),
    "checks": ("checks", "checked", "checkered", "chequered", "checkerboard", "plaid", "tartan"),
    "grid": ("grid", "mesh", "lattice", "net", "netted"),
    "zigzag": ("zigzag", "zig-zag", "chevron", "zigzagged"),
    "noise": ("noise", "noisy", "grainy", "mottled", "textured"),
    "wood": ("wood", "wooden", "woody", "timber", "grain"),
    "metal": ("metal", "metallic", "steel", "chrome", "iron"),
    "fur": ("fur", "furry", "fuzzy", "hairy", "fluffy", "woolly"),
}

_PATTERN_WORDS = {word: name for name, words in PATTERNS.items() for word in words}


def colour_name(word: str) -> str | None:
    """The basic colour a word names, or None.

    Example:
        >>> colour_name("gray"), colour_name("blue"), colour_name("dog")
        ('grey', 'blue', None)
    """
    word = word.strip().lower()
    if word in COLOURS:
        return word
    return COLOUR_SYNONYMS.get(word)


def pattern_name(word: str) -> str | None:
    """The canonical pattern a word names, or None.

    Example:
        >>> pattern_name("Striped"), pattern_name("checkered"), pattern_name("cat")
        ('stripes', 'checks', None)
    """
    return _PATTERN_WORDS.get(word.strip().lower())


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE Lab (D65) of sRGB values in 0..255, any leading shape, last axis 3."""
    import numpy as np

    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    matrix = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def nearest_colour_index(pixels: np.ndarray) -> np.ndarray:
    """Index into ``list(COLOURS)`` of each pixel's nearest basic colour (CIE Lab distance).

    Args:
        pixels: sRGB values in 0..255, shape ``[..., 3]``.

    Returns:
        Integer array of the leading shape.

    Example:
        >>> import numpy as np
        >>> names = list(COLOURS)
        >>> [names[i] for i in nearest_colour_index(np.array([[250, 10, 10], [10, 10, 240]]))]
        ['red', 'blue']
    """
    import numpy as np

    anchors = _srgb_to_lab(np.array(list(COLOURS.values())))
    lab = _srgb_to_lab(np.asarray(pixels))
    distances = ((lab[..., None, :] - anchors) ** 2).sum(axis=-1)
    return distances.argmin(axis=-1)


def colour_fraction(pixels: np.ndarray, name: str) -> float:
    """The share of ``pixels`` (``[n, 3]`` sRGB) whose nearest basic colour is ``name``.

    Example:
        >>> import numpy as np
        >>> colour_fraction(np.array([[250, 10, 10], [10, 10, 240]]), "crimson")
        0.5
    """
    canonical = colour_name(name)
    if canonical is None:
        raise ValueError(f"unknown colour {name!r}; known: {', '.join(COLOURS)}")
    if len(pixels) == 0:
        return 0.0
    index = list(COLOURS).index(canonical)
    return float((nearest_colour_index(pixels) == index).mean())
