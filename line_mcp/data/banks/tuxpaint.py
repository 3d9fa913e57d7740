"""Tux Paint's stamps (Debian ``tuxpaint-stamps-default``).

One English sentence per stamp in a ``.txt`` beside it ("A red kangaroo." gives
``red kangaroo``); cut-outs on a transparent background.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from line_mcp.data.banks.base import (
    _LEADING_ARTICLE,
    _MAX_SENTENCE_WORDS,
    Bank,
    BankImage,
    clean_sentence_label,
    clean_stem_label,
)

TUXPAINT_ROOT = Path("/usr/share/tuxpaint/stamps")


def tuxpaint_label(description: str, stem: str) -> str:
    """Label of a Tux Paint stamp from its English description and file stem.

    The cleaned description is the label, unless it is empty or longer than
    five words (a sentence, not a name: "This gun last saw service during
    World War 2."); then the cleaned file stem is used instead. An
    exclamation that contains the stem's words ("Eat your broccoli!") also
    gives the stem.

    Args:
        description: First line of the stamp's ``.txt`` file.
        stem: The stamp's file name without extension.

    Returns:
        The label; empty when neither source gives one.
    """
    label = clean_sentence_label(description)
    from_stem = clean_stem_label(stem)
    if not label or len(label.split()) > _MAX_SENTENCE_WORDS:
        return from_stem
    first = re.split(r"(?<=[.!?…])\s+", description.strip(), maxsplit=1)[0]
    exclaimed = first.endswith("!") and not _LEADING_ARTICLE.match(first)
    if exclaimed and from_stem and label != from_stem:
        words = set(label.split())
        if all(word in words for word in from_stem.split()):
            return from_stem
    return label


def _tuxpaint_description(txt: Path) -> str:
    try:
        with txt.open(encoding="utf-8", errors="replace") as handle:
            return handle.readline().strip()
    except OSError:
        return ""


def list_tuxpaint(include_symbols: bool = False, root: Path | None = None) -> list[BankImage]:
    """The Tux Paint stamps that have an English description (a non-empty ``.txt``).

    Args:
        include_symbols: Keep the ``symbols/`` subtree (letters, money, shapes),
            which is left out by default since it does not depict concepts.
        root: Stamps folder; :data:`TUXPAINT_ROOT` when None.

    Returns:
        Entries sorted by path; a stamp with both a PNG and an SVG gives the PNG.

    Raises:
        BankNotInstalledError: The stamps folder does not exist.
    """
    root = TUXPAINT_ROOT if root is None else root
    if not root.is_dir():
        raise BANK.not_installed(f"no folder {root}")
    entries: list[BankImage] = []
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        if here == root and not include_symbols and "symbols" in subfolders:
            subfolders.remove("symbols")
        subfolders.sort()
        names = set(files)
        for name in sorted(names):
            stem, dot, suffix = name.rpartition(".")
            if not dot or suffix.lower() not in ("png", "svg"):
                continue
            if suffix.lower() == "svg" and (f"{stem}.png" in names or f"{stem}.PNG" in names):
                continue  # the PNG of the same stamp is preferred
            if f"{stem}.txt" not in names:
                continue
            description = _tuxpaint_description(here / f"{stem}.txt")
            if not description:
                continue
            label = tuxpaint_label(description, stem)
            if label:
                entries.append(BankImage("tuxpaint", label, (here / name).absolute()))
    entries.sort(key=lambda entry: entry.path)
    return entries


BANK = Bank(
    name="tuxpaint",
    package="Debian package tuxpaint-stamps-default",
    install="apt-get install -y tuxpaint-stamps-default",
    root=lambda: TUXPAINT_ROOT,
    list=lambda: list_tuxpaint(),
)
