"""HTML reports of LINE runs: what a person looks at after labeling.

One self-contained page per run (thumbnails inlined, no network, no scripts):
the label, the final scoreboard with the images behind each score, every
step with where its concept came from, and the CoSy grades ``line-mcp evaluate``
or ``evaluate_label`` kept for the neuron. The index page lists every run of the
workspace, not only the ones just written.

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
from line_mcp.core.records import DrawnImage, RunRecord, StoredEvaluation
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


def thumbnail_encoder(workspace: Workspace) -> Callable[[str], str | None]:
    """Image id -> base64 PNG thumbnail (None when its pixels are not stored), memoised:
    a step's images show in two tables of a page, and a layer's boards share images."""

    @functools.lru_cache(maxsize=4096)
    def encoded(image_id: str) -> str | None:
        data = workspace.thumbnail_png(image_id, REPORT_THUMBNAIL_SIDE)
        return None if data is None else base64.b64encode(data).decode()

    return encoded


def run_page(
    workspace: Workspace,
    record: RunRecord,
    evaluations: list[StoredEvaluation] | None = None,
    encoded: Callable[[str], str | None] | None = None,
) -> str:
    """The HTML page of one run.

    Args:
        workspace: Where the run's images are stored.
        record: The run.
        evaluations: CoSy grades of the run's neuron (default: those kept in the workspace).
        encoded: The thumbnails (default: a :func:`thumbnail_encoder` for this page).

    Returns:
        A self-contained HTML document.
    """
    label = record.label.concept if record.label else None
    title = f"neuron {record.neuron} of {record.layer}: {label or record.status}"
    images = _images_by_concept(record)
    encoded = encoded or thumbnail_encoder(workspace)
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
    if evaluations is None:
        evaluations = [e for e in workspace.evaluations() if _same_neuron(e, record)]
    body += _evaluation_table(record, evaluations)
    return _page(title, body)


def _same_neuron(evaluation: StoredEvaluation, record: RunRecord) -> bool:
    return (evaluation.target, evaluation.layer, evaluation.neuron) == (
        record.backends.get("target"),
        record.layer,
        record.neuron,
    )


def _evaluation_table(record: RunRecord, evaluations: list[StoredEvaluation]) -> list[str]:
    """The page's CoSy section: every kept grade of the neuron, the run's label first."""
    if not evaluations:
        return [
            "<h2>Held-out evaluation (CoSy)</h2>",
            '<p class="muted">not graded yet: <code>line-mcp evaluate --run '
            f"{escape(record.run_id)}</code></p>",
        ]
    label = record.label.concept.lower() if record.label else None
    ordered = sorted(evaluations, key=lambda e: (e.label.lower() != label, -e.auc))
    rows = [
        "<h2>Held-out evaluation (CoSy)</h2>",
        "<p>AUC 0.5 = chance, 1.0 = every label image beats every control image.</p>",
        "<table><tr><th>label</th><th>AUC</th><th>MAD</th><th>AUPRC</th><th>p (MW)</th>"
        "<th>images</th><th>drawn by</th><th>control</th><th>held out</th><th>when</th></tr>",
    ]
    for e in ordered:
        name = escape(e.label) + (" (this run's label)" if e.label.lower() == label else "")
        rows.append(
            f"<tr><td>{name}</td><td class=\"num\">{e.auc:.3f}</td>"
            f'<td class="num">{e.mad:.2f}</td><td class="num">{e.auprc:.3f}</td>'
            f'<td class="num">{e.mann_whitney_p:.2g}</td><td class="num">{e.images}</td>'
            f"<td>{escape(e.generator)}</td><td>{escape(e.control)}</td>"
            f"<td>{'yes' if e.held_out else 'no'}</td><td>{escape(e.evaluated_at)}</td></tr>"
        )
    rows.append("</table>")
    return rows


def write_reports(workspace: Workspace, records: list[RunRecord], folder: str | Path) -> Path:
    """Write one page per run and an ``index.html`` listing every run of the workspace.

    Pages of ``records`` are (re)written; a stored run without a page in ``folder``
    gets one too, so the index never links to a missing page.

    Args:
        workspace: Where the runs' images are stored.
        records: The runs to (re)write pages for.
        folder: Output folder (created if missing).

    Returns:
        The index page's path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    given = {r.run_id: r for r in records}
    stored = {r.run_id: r for r in workspace.load_runs(["all"])}
    every = {**stored, **given}
    evaluations = workspace.evaluations()
    encoded = thumbnail_encoder(workspace)
    rows = []
    for record in sorted(every.values(), key=lambda r: (r.layer, r.neuron, r.run_id)):
        name = f"{record.run_id}.html"
        if record.run_id in given or not (folder / name).exists():
            graded = [e for e in evaluations if _same_neuron(e, record)]
            page = run_page(workspace, record, graded, encoded)
            atomic_write_bytes(folder / name, page.encode())
        label = record.label
        concept = f" (concept {record.concept_index})" if record.concept_index > 1 else ""
        auc = next(
            (
                f"{e.auc:.3f}"
                for e in evaluations
                if label and _same_neuron(e, record) and e.label.lower() == label.concept.lower()
            ),
            "",
        )
        rows.append(
            f"<tr><td>{escape(record.layer)}</td><td>{record.neuron}{concept}</td>"
            f'<td><a href="{escape(name)}">{escape(label.concept if label else "-")}</a></td>'
            f'<td class="num">{f"{label.score:.3f}" if label else ""}</td>'
            f"<td>{'generated' if label and label.novel else 'vocabulary' if label else ''}</td>"
            f'<td class="num">{auc}</td><td>{escape(record.status)}</td></tr>'
        )
    index = folder / "index.html"
    body = [
        "<h1>LINE runs</h1>",
        "<table><tr><th>layer</th><th>neuron</th><th>label</th><th>score</th><th>source</th>"
        "<th>CoSy AUC</th><th>status</th></tr>",
        *rows,
        "</table>",
    ]
    atomic_write_bytes(index, _page("LINE runs", body).encode())
    return index
