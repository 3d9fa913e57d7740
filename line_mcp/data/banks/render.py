"""Rendering a bank entry: SVG rasterising, large-image guards, transparency on white.

No torch here, and cairosvg is imported only when an SVG is rasterised.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

from PIL import Image

from line_mcp.data.banks.base import BankImage

_ENTITY = re.compile(r"""<!ENTITY\s+([\w.\-]+)\s+(?:"([^"]*)"|'([^']*)')\s*>""")
_DOCTYPE_SUBSET = re.compile(r"<!DOCTYPE[^\[>]*\[.*?\]\s*>", re.DOTALL)


def _expand_internal_entities(text: str) -> str:
    """Inline a DOCTYPE's internal entities (Illustrator writes ``xmlns="&ns_svg;"``).

    cairosvg parses with defusedxml, which refuses entity declarations; the
    declared values are plain strings, so they are substituted and the DOCTYPE
    dropped.

    Args:
        text: SVG source.

    Returns:
        The source without the DOCTYPE's internal subset, entities replaced.
    """
    doctype = _DOCTYPE_SUBSET.search(text)
    if doctype is None:
        return text
    entities = {
        match.group(1): match.group(2) if match.group(2) is not None else match.group(3)
        for match in _ENTITY.finditer(doctype.group(0))
    }
    body = text[: doctype.start()] + text[doctype.end() :]
    for name, value in entities.items():
        body = body.replace(f"&{name};", value)
    return body


def _rasterise_svg(path: Path, size: int) -> Image.Image:
    """Rasterise an SVG with cairosvg, ``size`` pixels wide."""
    try:
        import cairosvg
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise RuntimeError(f"rendering {path.name} needs cairosvg: pip install cairosvg") from err
    source = path.read_bytes()
    if b"<!ENTITY" in source:
        text = _expand_internal_entities(source.decode("utf-8", errors="replace"))
        data = cairosvg.svg2png(bytestring=text.encode("utf-8"), output_width=size)
    else:
        data = cairosvg.svg2png(bytestring=source, url=str(path), output_width=size)
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _open_raster(path: Path) -> Image.Image:
    from line_mcp.data.banks import gcompris

    limit = Image.MAX_IMAGE_PIXELS
    # A file inside a Qt resource bundle is read out of it.
    source = io.BytesIO(gcompris.read_bytes(path)) if gcompris.split_entry(path) else path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source)
    except Image.DecompressionBombError as err:
        raise ValueError(
            f"image {path} is too large to decode (over PIL's limit of {limit} pixels)"
        ) from err
    if limit is not None and image.width * image.height > limit:
        image.close()
        raise ValueError(
            f"image {path} is too large to decode: {image.width}x{image.height} is over "
            f"PIL's limit of {limit} pixels"
        )
    image.load()
    return image


def _on_white(image: Image.Image) -> Image.Image:
    """RGBA-aware conversion to RGB with transparent areas on white."""
    if image.mode == "RGB":
        return image
    rgba = image.convert("RGBA")
    canvas = Image.new("RGB", rgba.size, "white")
    canvas.paste(rgba, mask=rgba.getchannel("A"))
    return canvas


def _open_entry(entry: BankImage, size: int) -> Image.Image:
    """The entry's picture as decoded (an SVG rasterised at ``size``); 3D models are refused."""
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if entry.path.suffix.lower() == ".obj":
        raise ValueError(
            f"{entry.image_id} is a 3D model: it is drawn through compose:{entry.bank}, "
            "which renders it from a camera, not as a picture"
        )
    if entry.path.suffix.lower() == ".svg":
        return _rasterise_svg(entry.path, size)
    return _open_raster(entry.path)


def load_rgba(entry: BankImage, size: int = 256) -> Image.Image:
    """The entry's pixels with their alpha, the longer side at most ``size`` (SVGs at ``size``).

    Raises:
        ValueError: ``size`` is not positive, or the image is over PIL's limit.
        FileNotFoundError: The entry's file is gone.
    """
    image = _open_entry(entry, size)
    rgba = image.convert("RGBA")
    rgba.thumbnail((size, size), Image.Resampling.LANCZOS)  # RGBA is resized premultiplied
    return rgba


def render(entry: BankImage, size: int = 256) -> Image.Image:
    """Render a bank entry on a white square canvas.

    Args:
        entry: The entry, from :func:`list_bank`.
        size: Side of the square output in pixels.

    Returns:
        An RGB ``size`` x ``size`` image: transparent areas composited onto
        white, the whole image scaled to fit (aspect ratio kept), centered and
        padded with white.

    Raises:
        ValueError: ``size`` is not positive, or the image is over PIL's
            decompression-bomb limit.
        FileNotFoundError: The entry's file is gone.
    """
    image = _open_entry(entry, size)
    if image.mode != "RGBA" and (image.mode != "RGB" or "transparency" in image.info):
        image = image.convert("RGBA")  # palette, grey, or a transparent colour key
    scale = size / max(image.width, image.height)
    width = min(size, max(1, round(image.width * scale)))
    height = min(size, max(1, round(image.height * scale)))
    if (width, height) != image.size:
        # RGBA is resized premultiplied by Pillow, so no dark fringes.
        image = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    image = _on_white(image)
    canvas = Image.new("RGB", (size, size), "white")
    canvas.paste(image, ((size - width) // 2, (size - height) // 2))
    return canvas
