"""HTML reports of LINE runs: what a person looks at after labeling.

One self-contained page per run (thumbnails inlined, no network, no scripts):
the label, the final scoreboard with the images behind each score, and every
step with where its concept came from. An index page lists the runs.

Example:
    >>> from line_mcp.store import Workspace
    >>> workspace = Workspace("line-workspace")
    >>> records = [workspace.load_run(run_id) for run_id in workspace.list_runs()]
    >>> index = write_reports(workspace, records, "line-workspace/reports")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from html import escape
from pathlib import Path

from line_mcp.core.provenance import describe
from line_mcp.core.records import DrawnImage, RunRecord
from line_mcp.store.workspace import Workspace, atomic_write_bytes

#: Longest side of a thumbnail on a report page, in pixels.
REPORT_THUMBNAIL_SIDE = 72

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; }
td { vertical-align: middle; }
th { background: #f4f4f4; }
img { margin-right: 2px; vertical-align: middle; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #777; }
.generated { color: #0a6; font-weight: 600; }
"""


def _page(title: str, body: list[str]) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )


def _thumbnails(encoded: Callable[[str], str | None], images: list[DrawnImage]) -> str:
    tags = []
    for image in images:
        data = encoded(image.image_id)
        if data is None:
            continue
        drawn_from = describe(image.source)
        tip = escape(
            f"activation {image.activation:.3f}; prompt: {image.prompt}"
            + (f"; drawn from {drawn_from}" if drawn_from else "")
        )
        tags.append(
            f'<img src="data:image/png;base64,{data}" '
            f'title="{tip}" alt="activation {image.activation:.3f}">'
        )
    return "".join(tags)


def _images_by_concept(record: RunRecord) -> dict[str, list[DrawnImage]]:
    images = dict(record.init.images) if record.init else {}
    for step in record.steps:
        if step.concept and step.images:
            images[step.concept] = step.images
    return images


def run_page(workspace: Workspace, record: RunRecord) -> str:
    """The HTML page of one run.

    Args:
        workspace: Where the run's images are stored.
        record: The run.

    Returns:
        A self-contained HTML document.
    """
    label = record.label.concept if record.label else None
    title = f"neuron {record.neuron} of {record.layer}: {label or record.status}"
    images = _images_by_concept(record)

    # A step's images show in both tables: encode each thumbnail once per page.
    @functools.cache
    def encoded(image_id: str) -> str | None:
        data = workspace.thumbnail_png(image_id, REPORT_THUMBNAIL_SIDE)
        return None if data is None else base64.b64encode(data).decode()

    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">run {escape(record.run_id)} · target '
        f"{escape(str(record.backends.get('target')))} · generator "
        f"{escape(str(record.backends.get('generator')))} · proposer "
        f"{escape(str(record.backends.get('proposer')))} · updated {escape(record.updated_at)}</p>",
    ]
    if record.concept_index > 1:  # run-loop --concepts K
        first = escape(record.first_run or "")
        body.append(
            f"<p><b>Concept {record.concept_index}</b> of this neuron: a restart with the "
            f"earlier labels ({escape(', '.join(record.excluded))}) and their near-duplicates "
            f'kept off the board and forbidden; first concept: <a href="{first}.html">{first}</a>'
            "</p>"
        )
    if record.error:
        body.append(f"<p><b>Error:</b> {escape(record.error)}</p>")
    body += [
        "<h2>Scoreboard</h2>",
        "<p>Score: the neuron's mean activation over the concept's images "
        "(hover an image for its own activation).</p>",
        "<table><tr><th>#</th><th>concept</th><th>score</th><th>step</th><th>source</th>"
        "<th>images</th></tr>",
    ]
    for rank, entry in enumerate(record.scoreboard(), 1):
        source = '<span class="generated">generated</span>' if entry.novel else "vocabulary"
        thumbnails = _thumbnails(encoded, images.get(entry.concept, []))
        body.append(
            f"<tr><td>{rank}</td><td>{escape(entry.concept)}</td>"
            f'<td class="num">{entry.score:.3f}</td><td>{escape(str(entry.step))}</td>'
            f"<td>{source}</td><td>{thumbnails}</td></tr>"
        )
    body += [
        "</table>",
        "<h2>Steps</h2>",
        "<table><tr><th>step</th><th>concept</th><th>from</th><th>score</th>"
        "<th>board</th><th>images</th></tr>",
    ]
    for step in record.steps:
        if step.concept is None:
            concept = f'<span class="muted">skipped: {escape(step.skipped or "")}</span>'
        elif step.not_drawable:
            concept = (
                f'{escape(step.concept)} <span class="muted">{escape(step.skipped or "")}</span>'
            )
        else:
            concept = escape(step.concept)
        origin = step.proposal_origin or step.origin
        score = f"{step.score:.3f}" if step.score is not None else ""
        board = ""
        if step.removed:
            removed = escape(step.removed)
            board = (
                f"beat the minimum; {removed} left"
                if step.replaced_minimum
                else f"below the minimum; {removed} left at random"
            )
        body.append(
            f"<tr><td>{escape(str(step.step))}</td><td>{concept}</td><td>{escape(origin)}</td>"
            f'<td class="num">{score}</td><td>{board}</td>'
            f"<td>{_thumbnails(encoded, step.images)}</td></tr>"
        )
    body.append("</table>")
    return _page(title, body)


def write_reports(workspace: Workspace, records: list[RunRecord], folder: str | Path) -> Path:
    """Write one page per run and an ``index.html`` listing them.

    Args:
        workspace: Where the runs' images are stored.
        records: The runs to report.
        folder: Output folder (created if missing).

    Returns:
        The index page's path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for record in sorted(records, key=lambda r: (r.layer, r.neuron, r.run_id)):
        name = f"{record.run_id}.html"
        atomic_write_bytes(folder / name, run_page(workspace, record).encode())
        label = record.label
        concept = f" (concept {record.concept_index})" if record.concept_index > 1 else ""
        rows.append(
            f"<tr><td>{escape(record.layer)}</td><td>{record.neuron}{concept}</td>"
            f'<td><a href="{escape(name)}">{escape(label.concept if label else "-")}</a></td>'
            f'<td class="num">{f"{label.score:.3f}" if label else ""}</td>'
            f"<td>{'generated' if label and label.novel else 'vocabulary' if label else ''}</td>"
            f"<td>{escape(record.status)}</td></tr>"
        )
    index = folder / "index.html"
    body = [
        "<h1>LINE runs</h1>",
        "<table><tr><th>layer</th><th>neuron</th><th>label</th><th>score</th><th>source</th>"
        "<th>status</th></tr>",
        *rows,
        "</table>",
    ]
    atomic_write_bytes(index, _page("LINE runs", body).encode())
    return index
