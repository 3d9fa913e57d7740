"""Art4Apps colour drawings, as shipped by Debian ``pysiogame`` (CC BY-SA).

585 JPEG drawings on white in twelve category folders, named by file
(``animals/baby_rabbit.jpg`` gives ``baby rabbit``). The ``actions`` folder
holds verbs ("ate", "bark"), not things, and is left out.
"""

from __future__ import annotations

import os
from pathlib import Path

from line_mcp.data.banks.base import Bank, BankImage, clean_stem_label

ART4APPS_ROOT = Path("/usr/share/games/pysiogame/res/images/art4apps")
#: Category folders that show actions rather than things.
ART4APPS_EXCLUDED_DIRS: frozenset[str] = frozenset({"actions"})


def list_art4apps(root: Path | None = None) -> list[BankImage]:
    """The Art4Apps drawings of things, labeled from their file names.

    Args:
        root: The ``art4apps`` folder; :data:`ART4APPS_ROOT` when None.

    Returns:
        Entries sorted by path.

    Raises:
        BankNotInstalledError: The folder does not exist.
    """
    root = ART4APPS_ROOT if root is None else root
    if not root.is_dir():
        raise BANK.not_installed(f"no folder {root}")
    entries: list[BankImage] = []
    for category in sorted(os.listdir(root)):
        folder = root / category
        if category in ART4APPS_EXCLUDED_DIRS or not folder.is_dir():
            continue
        for name in sorted(os.listdir(folder)):
            stem, dot, suffix = name.rpartition(".")
            if not dot or suffix.lower() not in ("jpg", "jpeg", "png"):
                continue
            label = clean_stem_label(stem)
            if label:
                entries.append(BankImage("art4apps", label, (folder / name).absolute()))
    entries.sort(key=lambda entry: entry.path)
    return entries


BANK = Bank(
    name="art4apps",
    package="Debian package pysiogame",
    install="apt-get install -y pysiogame",
    root=lambda: ART4APPS_ROOT,
    list=lambda: list_art4apps(),
)
