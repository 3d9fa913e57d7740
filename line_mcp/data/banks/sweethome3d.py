"""Sweet Home 3D furniture models (Debian ``sweethome3d-furniture``), read out of their catalogs.

Each ``.sh3f`` file is a zip catalog: OBJ/MTL meshes, textures, icons and a
``PluginFurnitureCatalog.properties`` naming every piece (``name#7=Armchair``,
``model#7=/blendswap-cc-0/armchair/armchair.obj``, its size and an optional
model rotation). An entry's path is the catalog's path followed by the model's
path inside it (``.../Scopia.sh3f/scopia/chair.obj``); the compose generator
renders it with :mod:`line_mcp.backends.compose.render3d`, so the prompt's
angle word becomes a camera viewpoint. Doors and windows are left out: they are
openings in a wall, not objects that stand in a scene.
"""

from __future__ import annotations

import functools
import zipfile
from dataclasses import dataclass
from pathlib import Path

from line_mcp.data.banks.base import Bank, BankImage

SWEETHOME3D_ROOT = Path("/usr/share/sweethome3d/furniture")
_PROPERTIES = "PluginFurnitureCatalog.properties"


@dataclass(frozen=True)
class FurniturePiece:
    """One piece of a catalog.

    Attributes:
        name: The catalog's English name ("Armchair").
        category: Its category ("Living room").
        model: The OBJ file's path inside the catalog (no leading slash).
        size: Width, height, depth in centimetres (x, y, z of the model after rotation).
        rotation: Row-major 3x3 rotation applied to the model first.
    """

    name: str
    category: str
    model: str
    size: tuple[float, float, float]
    rotation: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def parse_properties(text: str) -> list[FurniturePiece]:
    """The pieces of a catalog's properties text, doors and windows left out.

    Example:
        >>> text = "name#1=Chair\\ncategory#1=Kitchen\\nmodel#1=/a/chair.obj\\n" \\
        ...        "width#1=40\\nheight#1=90\\ndepth#1=45\\nname#2=Door\\nmodel#2=/d.obj\\n" \\
        ...        "doorOrWindow#2=true"
        >>> [(p.name, p.model, p.size) for p in parse_properties(text)]
        [('Chair', 'a/chair.obj', (40.0, 90.0, 45.0))]
    """
    fields: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        key, eq, value = line.partition("=")
        name, hash_, index = key.strip().partition("#")
        if not eq or not hash_ or line.lstrip().startswith("#"):
            continue
        fields.setdefault(index, {})[name] = value.strip()
    pieces = []
    for index in sorted(fields, key=lambda i: (len(i), i)):
        item = fields[index]
        if "name" not in item or "model" not in item or item.get("doorOrWindow") == "true":
            continue
        try:
            size = tuple(float(item.get(k, "100")) for k in ("width", "height", "depth"))
            rotation = tuple(float(v) for v in item.get("modelRotation", "").split())
        except ValueError:
            continue
        pieces.append(
            FurniturePiece(
                name=item["name"],
                category=item.get("category", ""),
                model=item["model"].lstrip("/"),
                size=(size[0], size[1], size[2]),
                rotation=rotation if len(rotation) == 9 else FurniturePiece.rotation,
            )
        )
    return pieces


@functools.lru_cache(maxsize=16)
def catalog(path: Path) -> dict[str, FurniturePiece]:
    """The pieces of one ``.sh3f`` catalog by model path (the first piece of a shared model)."""
    with zipfile.ZipFile(path) as archive:
        # Java properties: Latin-1 with \\uXXXX escapes ("frame h\\u00f4i an").
        text = (
            archive.read(_PROPERTIES).decode("latin-1").encode("latin-1").decode("unicode_escape")
        )
        names = set(archive.namelist())
    pieces: dict[str, FurniturePiece] = {}
    for piece in parse_properties(text):
        if piece.model in names:
            pieces.setdefault(piece.model, piece)
    return pieces


def split_entry(path: Path) -> tuple[Path, str] | None:
    """The catalog file and the model's inner path of an entry path, or None."""
    parts = path.parts
    for index, part in enumerate(parts):
        if part.endswith(".sh3f"):
            return Path(*parts[: index + 1]), "/".join(parts[index + 1 :])
    return None


def piece_of(entry: BankImage) -> tuple[Path, FurniturePiece]:
    """The catalog and the piece of a bank entry.

    Raises:
        FileNotFoundError: the entry names no model of an installed catalog.
    """
    split = split_entry(entry.path)
    if split is None or not split[0].is_file():
        raise FileNotFoundError(f"no furniture catalog in {entry.path}")
    piece = catalog(split[0]).get(split[1])
    if piece is None:
        raise FileNotFoundError(f"{split[1]} is not a model of {split[0]}")
    return split[0], piece


def list_sweethome3d(root: Path | None = None) -> list[BankImage]:
    """Every model of the installed catalogs, labelled with its lowercase English name.

    Raises:
        BankNotInstalledError: no catalog is installed.
    """
    root = SWEETHOME3D_ROOT if root is None else root
    catalogs = sorted(root.glob("*.sh3f")) if root.is_dir() else []
    if not catalogs:
        raise BANK.not_installed(f"no .sh3f catalogs in {root}")
    entries = []
    for path in catalogs:
        for model, piece in catalog(path.absolute()).items():
            label = " ".join(piece.name.lower().split())
            if sum(c.isalpha() for c in label) >= 3:
                entries.append(BankImage("sweethome3d", label, path.absolute() / model))
    entries.sort(key=lambda entry: entry.path)
    return entries


BANK = Bank(
    name="sweethome3d",
    package="Debian package sweethome3d-furniture",
    install="apt-get install -y --no-install-recommends sweethome3d-furniture",
    root=lambda: SWEETHOME3D_ROOT,
    list=lambda: list_sweethome3d(),
    photo=True,
)


def is_model(entry: BankImage) -> bool:
    """Whether the entry is a 3D model (rendered by a camera) rather than a picture."""
    return entry.bank == BANK.name
