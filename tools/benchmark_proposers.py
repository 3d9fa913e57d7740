"""Compare LINE's proposal modes on the same neurons and seeds of the embedded stack.

    .venv/bin/python tools/benchmark_proposers.py \\
        --workspace line-workspace-benchmark --neurons auto:10 \\
        --variants guided-embedding,llm,guided-llm --out docs/benchmark/proposers.json

Neurons are EfficientNet-Lite0 class logits, so each has a ground truth: its
ImageNet class name. ``auto:K`` picks the K classes the generator's image banks
depict best (highest MiniLM cosine between the class name and its nearest bank
label). Every variant runs the full loop (N iterations + summary) on every
neuron with the same seed; runs are stored in the workspace under their run
ids, so an interrupted benchmark resumes, and ``--report-only`` reads back
whatever finished. Per variant it reports the share of steps with a valid,
non-duplicate proposal, the share of proposals that beat the board's minimum,
the share of final labels that are proposals, the MiniLM similarity of the
final label to the class name, the held-out CoSy AUC of the final label and of
the best initial vocabulary label (``line_mcp.evaluation``: drawn from a bank the
loop never draws from, against another bank's controls), and the proposal time
per step; then paired tests (paper, appendix G) on similarity and AUC between
each variant and (a) the best initial vocabulary label, (b) the plain LLM
variant. A run that fails (the LLM gave no valid concept several steps in a
row) counts with the label its board had. Per-neuron rows go to ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from typing import Any

import numpy as np

from line_mcp.backends.base import LabelMatcher
from line_mcp.config import BackendConfig, LoopConfig
from line_mcp.core.neurons import parse_neurons
from line_mcp.core.records import RunRecord
from line_mcp.core.scoreboard import best_entry
from line_mcp.evaluation.cosy import CosyEvaluator, EvaluationConfig
from line_mcp.evaluation.labels import LabelRow
from line_mcp.evaluation.metrics import paired_test
from line_mcp.layer import label_neurons
from line_mcp.loop import run_id_for
from line_mcp.progress import StderrProgress
from line_mcp.service import LineService

#: Variant name -> LoopConfig fields changed from the defaults.
VARIANTS: dict[str, dict[str, Any]] = {
    "llm": {"proposal": "llm"},
    "guided-embedding": {
        "proposal": "guided",
        "proposal_ranker": "embedding",
        "proposal_free_text": False,
    },
    "guided-embedding+answer": {
        "proposal": "guided",
        "proposal_ranker": "embedding",
        "proposal_free_text": True,
    },
    "guided-llm": {"proposal": "guided", "proposal_ranker": "llm", "proposal_free_text": False},
    "guided-both": {"proposal": "guided", "proposal_ranker": "both", "proposal_free_text": True},
}
# Parts of a step's time spent choosing the concept (the rest draws and scores it).
_PROPOSAL_PARTS = ("llm", "candidates", "ranking")


def auto_neurons(service: LineService, count: int) -> list[int]:
    """The ``count`` class logits whose names the generator's banks match best."""
    names, generator = service.backends.target.neuron_names(), service.backends.generator
    if names is None or not isinstance(generator, LabelMatcher):
        raise SystemExit("--neurons auto:K needs a layer with class names and a bank generator")
    best = [generator.matches(name, 1)[0][1] for name in names]
    return sorted(np.argsort(-np.asarray(best), kind="stable")[:count].tolist())


def neuron_row(
    service: LineService, record: RunRecord, class_name: str | None, seconds: float
) -> dict[str, Any]:
    """One neuron's result under one variant."""
    steps = record.steps
    proposed = [s for s in steps if s.concept is not None]
    attempts = [a for s in steps for a in s.attempts]
    initial = max(record.init.entries, key=lambda e: e.score) if record.init else None
    # A failed run (too many skipped steps) is labelled by its board, as a finished one would be.
    label = record.label or (best_entry(record.scoreboard()) if record.init else None)
    row: dict[str, Any] = {
        "neuron": record.neuron,
        "run_id": record.run_id,
        "status": record.status,
        "class_name": class_name,
        "label": label.concept if label else None,
        "label_score": label.score if label else None,
        "label_is_proposal": bool(label and label.novel),
        "best_initial": initial.concept if initial else None,
        "best_initial_score": initial.score if initial else None,
        "steps": len(steps),
        "valid_steps": len(proposed),
        "beat_minimum": sum(bool(s.replaced_minimum) for s in proposed),
        "attempts": len(attempts),
        "accepted_attempts": sum(a.concept is not None for a in attempts),
        "proposals": [
            {"step": s.step, "concept": s.concept, "origin": s.proposal_origin, "score": s.score}
            for s in steps
        ],
        "proposal_seconds": sum(s.seconds.get(k, 0.0) for s in steps for k in _PROPOSAL_PARTS),
        "wall_seconds": seconds,
    }
    if class_name and row["label"] and row["best_initial"]:
        vectors = service.backends.embedder.embed([class_name, row["label"], row["best_initial"]])
        row["label_similarity"] = float(vectors[0] @ vectors[1])
        row["initial_similarity"] = float(vectors[0] @ vectors[2])
    return row


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return float(np.mean(values)) if values else None


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The variant's shares and means over every neuron that ran (a failed run keeps its board)."""
    ran = [r for r in rows if r["status"] in ("finished", "failed")]
    steps = sum(r["steps"] for r in ran) or 1
    valid = sum(r["valid_steps"] for r in ran)
    attempts = sum(r["attempts"] for r in ran)
    origins: dict[str, int] = {}
    for r in ran:
        for p in r["proposals"]:
            if p["origin"]:
                origins[p["origin"]] = origins.get(p["origin"], 0) + 1
    return {
        "neurons_finished": sum(r["status"] == "finished" for r in ran),
        "neurons_failed": sum(r["status"] == "failed" for r in ran),
        "neurons": len(rows),
        "valid_proposal_share": valid / steps,
        "accepted_attempt_share": (
            sum(r["accepted_attempts"] for r in ran) / attempts if attempts else None
        ),
        "beat_minimum_share": sum(r["beat_minimum"] for r in ran) / steps,
        "label_is_proposal_share": _mean(ran, "label_is_proposal"),
        "mean_label_similarity": _mean(ran, "label_similarity"),
        "mean_initial_similarity": _mean(ran, "initial_similarity"),
        "mean_label_auc": _mean(ran, "label_auc"),
        "mean_initial_auc": _mean(ran, "initial_auc"),
        "proposal_seconds_per_step": sum(r["proposal_seconds"] for r in ran) / steps,
        "origins": origins,
    }


def add_held_out_auc(evaluator: CosyEvaluator, rows: list[dict[str, Any]]) -> None:
    """Score each row's final label and best initial label with held-out CoSy (AUC)."""
    labels = [
        (r, key, r[name])
        for r in rows
        for key, name in (("label_auc", "label"), ("initial_auc", "best_initial"))
        if r.get(name)
    ]
    scores = evaluator.score([LabelRow(r["neuron"], text) for r, _, text in labels])
    for (row, key, _), score in zip(labels, scores, strict=True):
        row[key] = score.auc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", default="auto:10", help="indices/ranges or auto:K")
    parser.add_argument("--layer", default="logits")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--max-retries", type=int, default=1, help="for every variant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workspace", default="line-workspace-benchmark")
    parser.add_argument("--out", default="bench-proposers.json")
    parser.add_argument("--report-only", action="store_true", help="only read stored runs")
    parser.add_argument(
        "--eval-images",
        type=int,
        default=20,
        help="held-out CoSy images per label for the AUC of final and best initial labels "
        "(0: skip the evaluation)",
    )
    args = parser.parse_args()

    variants = args.variants.split(",")
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    configs = {
        variant: LoopConfig(
            iterations=args.iterations,
            max_retries=args.max_retries,
            seed=args.seed,
            **VARIANTS[variant],
        )
        for variant in variants
    }
    service = LineService(BackendConfig(layer=args.layer), args.workspace, StderrProgress())
    service.backends.load()
    if args.neurons.startswith("auto:"):
        neurons = auto_neurons(service, int(args.neurons[5:]))
    else:
        neurons = parse_neurons(args.neurons)
    names = service.backends.target.neuron_names()
    rows: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    # Neuron-major: a benchmark stopped early still has every variant on the same neurons.
    for neuron in neurons:
        for variant, config in configs.items():
            start = time.perf_counter()
            if args.report_only:
                record = service.workspace.load_run(run_id_for(service, neuron, config))
                if record is None:
                    continue
            else:  # the run's record as saved, finished or failed
                record = label_neurons(service, [neuron], config, batch_neurons=1)[0].record
            wall = time.perf_counter() - start
            row = neuron_row(service, record, names[neuron] if names else None, wall)
            rows[variant].append(row)
            print(
                f"{variant} neuron {neuron} ({row['class_name']}): {row['label']} "
                f"[{row['status']}, {wall:.0f}s]",
                file=sys.stderr,
                flush=True,
            )
        write_results(args.out, neurons, configs, rows)
    if args.eval_images > 0:
        evaluator = CosyEvaluator(service, EvaluationConfig(images_per_concept=args.eval_images))
        for variant_rows in rows.values():
            add_held_out_auc(evaluator, variant_rows)
    results = write_results(args.out, neurons, configs, rows)
    brief = {v: r["summary"] for v, r in results["variants"].items()}
    print(json.dumps({"summary": brief, "paired_tests": results["paired_tests"]}, indent=1))
    return 0


def write_results(
    path: str,
    neurons: list[int],
    configs: dict[str, LoopConfig],
    rows: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """Summaries, paired tests and per-neuron rows, written to ``path`` as JSON."""
    variants = {
        variant: {
            "config": config.to_dict(),
            "summary": summarise(rows[variant]),
            "rows": rows[variant],
        }
        for variant, config in configs.items()
    }
    results = {
        "command": sys.argv,
        "neurons": neurons,
        "variants": variants,
        "paired_tests": paired_tests(variants),
    }
    with open(path, "w") as handle:
        json.dump(results, handle, indent=1)
    return results


def paired_tests(variants: dict[str, Any]) -> dict[str, Any]:
    """Each variant against the best initial label and the plain LLM variant, per metric.

    Paired over the neurons both sides have (appendix G: Shapiro-Wilk on the
    differences, then a paired t-test or Wilcoxon signed-rank; two-sided).
    """

    def values(rows: list[dict[str, Any]], key: str) -> dict[int, float]:
        return {r["neuron"]: r[key] for r in rows if r.get(key) is not None}

    tests: dict[str, Any] = {}
    for metric, initial_key in (("similarity", "initial_similarity"), ("auc", "initial_auc")):
        label_key = f"label_{metric}"
        llm = values(variants["llm"]["rows"], label_key) if "llm" in variants else {}
        for name, result in variants.items():
            mine = values(result["rows"], label_key)
            references = {"best initial": values(result["rows"], initial_key)}
            if name != "llm" and llm:
                references["llm"] = llm
            for reference, theirs in references.items():
                common = sorted(set(mine) & set(theirs))
                if len(common) < 2:
                    continue
                comparison = paired_test([mine[n] for n in common], [theirs[n] for n in common])
                tests[f"{name} vs {reference} ({metric})"] = dataclasses.asdict(comparison)
    return tests


if __name__ == "__main__":
    raise SystemExit(main())
