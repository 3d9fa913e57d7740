"""Colour and pattern detectors of synthetic neurons: numpy on the image alone.

``colour_detector``: the share of an image's *salient* pixels whose basic colour
(:mod:`line_mcp.core.attributes`, the table the image source paints with) is
the named one. Salient = not background, and the background is read off the
border: every basic colour that covers at least :data:`BACKGROUND_SHARE` of a
thin frame round the image. A red car on a white page is all red; an image
with nothing but background counts all of its pixels.

``pattern_detector``: texture energy from the power spectrum of the image
along its main colour axis (Hann window, frequencies 3..40 cycles per image, DC and the coarse
layout left out). A periodic texture puts its energy into a few sharp peaks
(``periodicity``), and the orientations of those peaks tell the pattern apart:

- stripes: one orientation (the stripe normal and its harmonics);
- checks: two perpendicular orientations and nothing between (a checkerboard
  has no energy along its own sides, only along the diagonals);
- dots: a lattice: four orientations 45 degrees apart (square grid) or three
  60 degrees apart (hexagonal).

Each raw score is multiplied by the periodicity and divided by
:data:`PATTERN_SCALE` (calibrated so drawn positives read about 1; see
``tests/core/test_detectors.py``), then clipped to 0..1. Only ``stripes``,
``dots`` and ``checks`` have detectors; other pattern words of the table are
rejected by :func:`check_pattern`.

Example:
    >>> import numpy as np
    >>> from PIL import Image
    >>> red_square = np.full((64, 64, 3), 245, np.uint8); red_square[16:48, 16:48] = (200, 30, 35)
    >>> colour_detector(Image.fromarray(red_square), "crimson")
    1.0
    >>> x = np.arange(128)
    >>> stripes = np.repeat(((x // 8) % 2 * 255).astype(np.uint8)[None, :], 128, axis=0)
    >>> image = Image.fromarray(np.stack([stripes] * 3, axis=-1))
    >>> pattern_detector(image, "stripes") > 0.8, pattern_detector(image, "checks") < 0.2
    (True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from line_mcp.core.attributes import COLOURS, colour_fraction, colour_name, nearest_colour_index

if TYPE_CHECKING:
    from PIL import Image

#: Bumped when a detector changes, so synthetic-target fingerprints (and cached activations) do.
DETECTOR_VERSION = "1"
#: Patterns with a detector.
DETECTED_PATTERNS = ("stripes", "dots", "checks")
#: A border colour covering this share of the frame is background.
BACKGROUND_SHARE = 0.3
#: Raw score of a clean drawn pattern, mapped to 1.0.
PATTERN_SCALE = {"stripes": 0.8, "checks": 0.7, "dots": 0.6}
_SIDE = 128
_BAND = (3.0, 40.0)
_PEAK_BINS = 24
_ANGLE_BINS = 36  # 5 degrees each, orientation modulo 180


def check_colour(name: str) -> str:
    """The canonical colour for ``name``, or ValueError listing the allowed names."""
    canonical = colour_name(name)
    if canonical is None:
        raise ValueError(f"unknown colour {name!r}; allowed: {', '.join(COLOURS)} (and synonyms)")
    return canonical


def check_pattern(name: str) -> str:
    """The canonical detected pattern for ``name``, or ValueError listing the allowed names."""
    from line_mcp.core.attributes import pattern_name

    canonical = pattern_name(name)
    if canonical not in DETECTED_PATTERNS:
        raise ValueError(
            f"no pattern detector for {name!r}; allowed: {', '.join(DETECTED_PATTERNS)} "
            "(and their words: striped, polka-dot, checkered, ...)"
        )
    return canonical


def _pixels(image: Image.Image, side: int = 64) -> np.ndarray:
    return np.asarray(image.convert("RGB").resize((side, side)), dtype=np.uint8)


def salient_pixels(image: Image.Image) -> np.ndarray:
    """The image's non-background pixels, ``[n, 3]`` sRGB (all pixels when none stand out).

    Example:
        >>> from PIL import Image
        >>> len(salient_pixels(Image.new("RGB", (40, 40), (20, 20, 20))))
        4096
    """
    pixels = _pixels(image)
    classes = nearest_colour_index(pixels)
    frame = np.ones(classes.shape, dtype=bool)
    frame[3:-3, 3:-3] = False
    counts = np.bincount(classes[frame], minlength=len(COLOURS)) / frame.sum()
    background = np.flatnonzero(counts >= BACKGROUND_SHARE)
    salient = ~np.isin(classes, background)
    if not salient.any():
        return pixels.reshape(-1, 3)
    return pixels[salient]


def colour_detector(image: Image.Image, name: str) -> float:
    """The share of the image's salient pixels within the named basic colour (0..1)."""
    return colour_fraction(salient_pixels(image), check_colour(name))


def _smooth_surface(grey: np.ndarray) -> np.ndarray:
    """The least-squares quadratic surface through a grey image (gradients, vignettes)."""
    y, x = np.mgrid[0 : grey.shape[0], 0 : grey.shape[1]] / grey.shape[0] - 0.5
    basis = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1).reshape(-1, 6)
    coefficients, *_ = np.linalg.lstsq(basis, grey.reshape(-1), rcond=None)
    return (basis @ coefficients).reshape(grey.shape)


def _contrast_channel(image: Image.Image) -> np.ndarray:
    """The image projected on its main colour axis (first principal component), ``[side, side]``.

    Luminance would miss a red-green stripe of equal brightness; the main colour
    axis of a two-colour pattern runs between its two colours.
    """
    pixels = _pixels(image, _SIDE).astype(np.float64).reshape(-1, 3)
    centred = pixels - pixels.mean(axis=0)
    _, _, axes = np.linalg.svd(centred[:: max(1, len(centred) // 4096)], full_matrices=False)
    return (centred @ axes[0]).reshape(_SIDE, _SIDE)


def _coverage(image: Image.Image) -> float:
    """The share of the rarer side of the image split half-way along its main colour axis."""
    grey = _contrast_channel(image)
    low, high = np.percentile(grey, [5, 95])
    light = float((grey > (low + high) / 2).mean())
    return min(light, 1.0 - light)


def _spectrum(image: Image.Image) -> tuple[np.ndarray, np.ndarray] | None:
    """Band power and orientation (0..180 degrees) of the grey image, or None if flat."""
    grey = _contrast_channel(image)
    grey -= _smooth_surface(grey)
    if grey.std() < 2.0:  # a flat image has no texture
        return None
    window = np.hanning(_SIDE)
    power = np.abs(np.fft.fftshift(np.fft.fft2(grey * np.outer(window, window)))) ** 2
    freq = np.arange(_SIDE) - _SIDE // 2
    fy, fx = np.meshgrid(freq, freq, indexing="ij")
    radius = np.hypot(fx, fy)
    band = (radius >= _BAND[0]) & (radius <= _BAND[1])
    angle = np.degrees(np.arctan2(fy, fx)) % 180.0
    return power[band], angle[band]


def pattern_scores(image: Image.Image) -> dict[str, float]:
    """Every detected pattern's score (0..1) for one image, from one spectrum."""
    spectrum = _spectrum(image)
    if spectrum is None:
        return dict.fromkeys(DETECTED_PATTERNS, 0.0)
    power, angle = spectrum
    total = power.sum()
    if total <= 0:
        return dict.fromkeys(DETECTED_PATTERNS, 0.0)
    # Periodic textures put most band energy into a few peaks; photos spread it out.
    concentration = np.sort(power)[-_PEAK_BINS:].sum() / total
    periodicity = float(np.clip((concentration - 0.15) / 0.45, 0.0, 1.0))
    histogram = (
        np.bincount((angle / (180 / _ANGLE_BINS)).astype(int) % _ANGLE_BINS, power, _ANGLE_BINS)
        / total
    )

    def mass(bin_index: int) -> float:  # energy within +-7.5 degrees of a bin's centre
        return float(sum(histogram[(bin_index + d) % _ANGLE_BINS] for d in (-1, 0, 1)))

    per_bin = np.array([mass(b) for b in range(_ANGLE_BINS)])
    first = int(per_bin.argmax())

    def at(degrees: int) -> float:  # mass at the main orientation + degrees
        return float(per_bin[(first + degrees * _ANGLE_BINS // 180) % _ANGLE_BINS])

    main, perpendicular = at(0), at(90)
    diagonals, sixties = (at(45), at(135)), (at(60), at(120))
    # A checkerboard is a square lattice of touching squares (half the area each colour);
    # a square grid of dots has the same two peak orientations but covers less.
    checks_share = float(np.clip((_coverage(image) - 0.4) / 0.08, 0.0, 1.0))
    square_lattice = 2 * min(main, perpendicular)
    raw = {
        "stripes": main - 2 * max(perpendicular, *diagonals, *sixties),
        "checks": square_lattice * checks_share,
        "dots": max(
            square_lattice * (1 - checks_share), 3 * min(main, *sixties) - 2 * perpendicular
        ),
    }
    return {
        name: float(np.clip(periodicity * raw[name] / PATTERN_SCALE[name], 0.0, 1.0))
        for name in DETECTED_PATTERNS
    }


def pattern_detector(image: Image.Image, name: str) -> float:
    """The named pattern's texture score for one image (0..1)."""
    return pattern_scores(image)[check_pattern(name)]
