"""Neuron labels to evaluate, read from CSV files in the layouts labeling tools write.

Recognised layouts (by their header, case-insensitive, any column order):

- line-mcp: ``neuron,label`` with an optional ``layer`` column;
- CLIP-Dissect: ``layer,unit,description,similarity`` (``unit`` is the neuron);
- INVERT (as shipped with CoSy): ``neuron,concept,concept_id,metric``.

Extra columns are ignored.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from line_mcp.errors import InputError

#: Layout name -> (neuron column, label column, layer column or None).
LAYOUTS: dict[str, tuple[str, str, str | None]] = {
    "clip-dissect": ("unit", "description", "layer"),
    "invert": ("neuron", "concept", None),
    "line-mcp": ("neuron", "label", "layer"),
}


@dataclass(frozen=True)
class LabelRow:
    """One neuron's label.

    Attributes:
        neuron: Index of the neuron in its layer.
        label: The textual explanation.
        layer: The layer named by the source, None when it names none.
        origin: Where the label came from (e.g. "csv:clip-dissect", "run:ID", "cli").
    """

    neuron: int
    label: str
    layer: str | None = None
    origin: str = "cli"


def detect_layout(header: list[str]) -> str:
    """The layout whose columns the header holds.

    Raises:
        ValueError: naming the header and the accepted layouts.
    """
    columns = {name.strip().lower() for name in header}
    for name, (neuron, label, _) in LAYOUTS.items():
        if neuron in columns and label in columns:
            return name
    accepted = "; ".join(
        f"{name}: {','.join(c for c in cols if c)}" for name, cols in LAYOUTS.items()
    )
    raise InputError(f"unrecognised label CSV header {header!r}; accepted layouts: {accepted}")


def read_label_csv(path: str | Path) -> list[LabelRow]:
    """Read the labels of a CSV file in one of :data:`LAYOUTS`.

    Args:
        path: The CSV file.

    Returns:
        One :class:`LabelRow` per data row, in file order.

    Raises:
        ValueError: unknown layout, a neuron that is not a non-negative integer,
            or an empty label, with the file and line number.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
        >>> _ = f.write_text("layer,unit,description,similarity\\nfc,3,zebra,0.31\\n")
        >>> read_label_csv(f)
        [LabelRow(neuron=3, label='zebra', layer='fc', origin='csv:clip-dissect')]
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise InputError(f"cannot read label CSV {path}: {err.strerror or err}") from err
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise InputError(f"label CSV {path} is empty")
    layout = detect_layout(header)
    index = {name.strip().lower(): i for i, name in enumerate(header)}
    neuron_col, label_col, layer_col = LAYOUTS[layout]
    rows = []
    for line_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(header) - len(row))
        raw_neuron = cells[index[neuron_col]].strip()
        if not raw_neuron.isdigit():
            raise InputError(
                f"{path}:{line_number}: neuron {raw_neuron!r} in column {neuron_col!r} "
                "is not a non-negative integer"
            )
        label = cells[index[label_col]].strip()
        if not label:
            raise InputError(f"{path}:{line_number}: empty label in column {label_col!r}")
        layer = None
        if layer_col is not None and layer_col in index:
            layer = cells[index[layer_col]].strip() or None
        rows.append(LabelRow(int(raw_neuron), label, layer, f"csv:{layout}"))
    return rows
