"""GCompris photos (Debian ``gcompris-qt-data``), read out of its Qt resource bundles.

Labelled photographs (animals, fish, tools, fruit, monuments; Wikimedia, CC-BY-SA
or public domain, credited per folder) live inside ``.rcc`` bundles, named by
file ("northern_harrier.webp", "screwDriver2.webp" gives ``screw driver``). An
entry's path is the bundle's path followed by the path inside it
(``.../lang.rcc/gcompris/src/.../gorilla.webp``); :func:`read_bytes` reads it.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from line_mcp.data.banks.base import Bank, BankImage, clean_stem_label
from line_mcp.data.rcc import RccBundle

GCOMPRIS_ROOT = Path("/usr/share/gcompris-qt/rcc")
#: Bundles holding named photos of things, and folders in them left out (glyphs).
GCOMPRIS_BUNDLES: tuple[str, ...] = (
    "categorization.rcc",
    "erase.rcc",
    "explore_farm_animals.rcc",
    "explore_world_animals.rcc",
    "lang.rcc",
)
_EXCLUDED_FOLDERS = frozenset({"numbers", "alphabets"})
_IMAGE_SUFFIXES = (".webp", ".jpg", ".jpeg", ".png")


@functools.lru_cache(maxsize=8)
def _bundle(path: Path) -> RccBundle:
    return RccBundle.open(path)


def split_entry(path: Path) -> tuple[Path, str] | None:
    """The bundle file and the inner path of an entry path, or None for a plain file."""
    parts = path.parts
    for index, part in enumerate(parts):
        if part.endswith(".rcc"):
            return Path(*parts[: index + 1]), "/".join(parts[index + 1 :])
    return None


def read_bytes(path: Path) -> bytes:
    """The bytes of an entry inside a bundle.

    Raises:
        FileNotFoundError: the bundle or the inner file does not exist.
    """
    split = split_entry(path)
    if split is None or not split[0].is_file():
        raise FileNotFoundError(f"no resource bundle in {path}")
    bundle, inner = split
    try:
        return _bundle(bundle).read(inner)
    except KeyError:
        raise FileNotFoundError(f"{inner} is not in {bundle}") from None


def gcompris_label(stem: str) -> str:
    """The label of a photo from its file stem.

    Example:
        >>> gcompris_label("screwDriver2"), gcompris_label("northern_harrier")
        ('screw driver', 'northern harrier')
    """
    return clean_stem_label(re.sub(r"(?<=[a-z])(?=[A-Z])", "_", stem))


def list_gcompris(root: Path | None = None) -> list[BankImage]:
    """The photos of :data:`GCOMPRIS_BUNDLES`, labeled from their file names.

    Raises:
        BankNotInstalledError: the bundles are not installed.
    """
    root = GCOMPRIS_ROOT if root is None else root
    present = [root / name for name in GCOMPRIS_BUNDLES if (root / name).is_file()]
    if not present:
        raise BANK.not_installed(f"no bundles {', '.join(GCOMPRIS_BUNDLES)} in {root}")
    entries = []
    for bundle_path in present:
        for inner in _bundle(bundle_path).names():
            folder, _, file = inner.rpartition("/")
            stem, dot, suffix = file.rpartition(".")
            if not dot or f".{suffix.lower()}" not in _IMAGE_SUFFIXES:
                continue
            if folder.rpartition("/")[2] in _EXCLUDED_FOLDERS:
                continue
            label = gcompris_label(stem)
            if sum(c.isalpha() for c in label) >= 3:
                path = (bundle_path / inner).absolute()
                entries.append(BankImage("gcompris", label, path))
    entries.sort(key=lambda entry: entry.path)
    return entries


BANK = Bank(
    name="gcompris",
    package="Debian package gcompris-qt-data",
    install="apt-get install -y --no-install-recommends gcompris-qt-data",
    root=lambda: GCOMPRIS_ROOT,
    list=lambda: list_gcompris(),
    photo=True,
)
