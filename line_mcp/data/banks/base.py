"""What every image bank shares: the entry type, the bank interface, the label helpers.

A bank is a module of this package that defines ``BANK``, a :class:`Bank`: its
name, where its files live and how to list them. Listing never decodes an
image; :mod:`line_mcp.data.banks.render` turns an entry into pixels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Images above this many pixels (or PIL's decompression-bomb limit, if lower) are
# left out: a few openclipart PNGs hold 100-600 megapixels and take seconds to decode.
MAX_PIXELS = 40_000_000


class BankNotInstalledError(RuntimeError):
    """An image bank's package is not installed on this machine."""


@dataclass(frozen=True)
class Bank:
    """One image bank behind the package's interface.

    Attributes:
        name: The bank's name in specs (``bank:tuxpaint+art4apps``).
        package: What provides it, for messages (``"Debian package openclipart-png"``).
        install: The command that installs it.
        root: The folder image ids are relative to, or None when it is not installed.
        list: Every usable entry, sorted by path; raises
            :class:`BankNotInstalledError` when the package is missing.
        photo: Whether the images are photographs or shaded drawings (not flat clip art).
    """

    name: str
    package: str
    install: str
    root: Callable[[], Path | None]
    list: Callable[[], list[BankImage]]
    photo: bool = False

    def not_installed(self, where: str) -> BankNotInstalledError:
        """The error for a missing package, naming the install command."""
        return BankNotInstalledError(
            f"image bank {self.name!r} is not installed: {self.package} is missing ({where}); "
            f"install it with: {self.install}"
        )


@dataclass(frozen=True)
class BankImage:
    """One labeled image of a bank.

    Attributes:
        bank: The bank it belongs to, one of ``BANK_NAMES``.
        label: Clean lowercase English label of what the image depicts.
        path: Absolute path of the image file (PNG, JPEG or SVG).
    """

    bank: str
    label: str
    path: Path

    @property
    def image_id(self) -> str:
        """Stable short id: ``"{bank}:{path relative to the bank root, no extension}"``.

        Returns:
            The id, e.g. ``"openmoji:1F436"`` or ``"tuxpaint:animals/birds/crow"``.
        """
        from line_mcp.data.banks import BANKS  # the package registers every bank

        bank = BANKS.get(self.bank)
        root = bank.root() if bank is not None else None
        relative: str | None = None
        if root is not None:
            try:
                relative = self.path.relative_to(root).with_suffix("").as_posix()
            except ValueError:
                relative = None
        if relative is None:
            relative = self.path.with_suffix("").name
        return f"{self.bank}:{relative}"


# --------------------------------------------------------------------------- labels

_LEADING_ARTICLE = re.compile(
    r"^(?:(?:it's|it is)\s+)?(?:a|an|the|this|these|that|our|some)\s+", re.IGNORECASE
)
# Clauses that describe rather than name the stamp: "A stethoscope lets your
# doctor listen..." keeps "stethoscope".
_DESCRIPTIVE_CLAUSE = re.compile(
    r"\s+(is|are|was|were|means|stands for|lets|carry|carries|resembles|used|for|to)\s+.*$",
    re.IGNORECASE,
)
_TRAILING_CLAUSE = re.compile(r",\s+(?:also|from|which|that|and|or|a|an|the)\b.*$", re.IGNORECASE)
_MAX_SENTENCE_WORDS = 5


def clean_sentence_label(sentence: str) -> str:
    """Turn a descriptive English sentence into a short lowercase label.

    Keeps the first sentence, drops quotes, parentheses, a dash-led aside,
    a descriptive clause ("... is a traditional treat"), trailing punctuation
    and a leading article, then lowercases and collapses whitespace.

    Args:
        sentence: Text such as ``"A red kangaroo."`` or ``"Jupiter—the largest planet!"``.

    Returns:
        The label (``"red kangaroo"``, ``"jupiter"``); empty when nothing is left.
    """
    text = sentence.strip().replace("’", "'").replace("‘", "'")
    text = re.sub(r"[“”\"«»]", "", text)
    text = re.sub(r"(?<![A-Za-z])'|'(?![A-Za-z])", "", text)  # quotes, not apostrophes
    text = re.split(r"(?<=[.!?…])\s+", text, maxsplit=1)[0]
    text = re.sub(r"\s*\([^)]*\)?", " ", text)
    if re.match(r"^\s*(?:—|–|-)", text):
        return ""  # starts with an aside: no name of the thing
    text = re.split(r"\s*(?:—|–|\s-\s)\s*", text, maxsplit=1)[0]
    text = _TRAILING_CLAUSE.sub("", text)
    text = re.sub(r"[\s.!?,;:…]+$", "", text)
    text = _LEADING_ARTICLE.sub("", text.strip())
    clause = _DESCRIPTIVE_CLAUSE.search(text)
    # "... to ..." after one word is an instruction ("Remember to flush the toilet").
    if clause and (clause.group(1).lower() != "to" or len(text[: clause.start()].split()) > 1):
        text = text[: clause.start()]
    text = re.sub(r"[\s.!?,;:…]+$", "", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def clean_stem_label(stem: str) -> str:
    """Turn a file name stem into a lowercase label.

    Drops a leading ordinal (``5_jupiter``), splits on ``_`` and ``-``, and
    drops numbering glued to the end (``rabbit2``, ``flower_4``).

    Args:
        stem: A file name without extension, e.g. ``"ww2_german_gun"``.

    Returns:
        The label, e.g. ``"ww2 german gun"``; empty when nothing is left.
    """
    text = re.sub(r"^\d+[_\-]+", "", stem.lower())
    tokens = [token for token in re.split(r"[_\-\s]+", text) if token]
    while len(tokens) > 1 and tokens[-1].isdigit():
        tokens.pop()
    if tokens:
        tokens[-1] = re.sub(r"(?<=[a-z]{3})\d+[a-z]?$", "", tokens[-1])
    return " ".join(tokens).strip()
