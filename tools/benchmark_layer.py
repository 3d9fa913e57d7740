"""Benchmark labeling a layer slice: one at a time vs lockstep batches vs the concept pool.

Every arm labels the same neurons with the same backends and seed, each in its
own copy of a base workspace in which the layer's vocabulary is scored first
(read from the base's cache when there, else scored once and timed apart), so
no arm pays the first-run vocabulary pass and no arm reuses another arm's images:

- ``one-at-a-time``: :func:`line_mcp.loop.label_neuron`, neuron after neuron;
- ``lockstep-B``: :func:`line_mcp.layer.label_neurons` with batches of B;
- ``pool-B``: the same with ``share_concepts`` on (``pool-B-BAR`` for each
  ``--pool-bars`` value other than the default, see ``LoopConfig.pool_bar``).

Measured per arm: wall time of the labeling (models already loaded) split into
the LLM, guided proposals, drawing ("images"), the target and the rest (board
updates, storing images and records); images generated per
labeled neuron (the vocabulary pass excluded: it is cached in the base);
the held-out CoSy AUC of the labels. Lockstep records are compared with the
one-at-a-time records field by field (:func:`line_mcp.layer.schedule_free`).

    flock /tmp/line-heavy.lock .venv/bin/python tools/benchmark_layer.py \\
        --base-workspace /tmp/ws-labels-compose --neurons 0-63 --layer logits
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from line_mcp.config import BackendConfig, LoopConfig
from line_mcp.core.concepts import concept_key, near_keys
from line_mcp.core.neurons import parse_neurons
from line_mcp.engine.stopwatch import Stopwatch
from line_mcp.evaluation.cosy import CosyEvaluator, EvaluationConfig
from line_mcp.evaluation.labels import LabelRow
from line_mcp.evaluation.metrics import paired_test
from line_mcp.layer import label_neurons, schedule_free
from line_mcp.loop import LoopError, label_neuron, load_backends, run_id_for
from line_mcp.service import LineService

# Timed parts: the LLM, guided proposals (candidate generation, filtering and ranking:
# WordNet, MiniLM, the source's label matches), drawing and the target.
_MEASURED = ("llm", "candidates", "ranking", "images", "target")


def _arm_workspace(base: Path, scratch: Path, name: str) -> Path:
    """A copy of the base workspace without its runs (caches and vocabulary kept)."""
    target = scratch / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(base, target, ignore=shutil.ignore_patterns("runs", "jobs", "reports"))
    return target


def run_arm(
    backends: BackendConfig,
    root: Path,
    neurons: list[int],
    config: LoopConfig,
    batch: int | None,
    evaluation: EvaluationConfig,
) -> dict[str, Any]:
    # Models built afresh and the concept-text caches emptied for each arm: an arm after
    # another would find the in-memory caches (label matches, embeddings, cut-outs,
    # duplicate checks) warm and look faster. WordNet stays parsed, like a loaded model.
    concept_key.cache_clear()
    near_keys.cache_clear()
    load_start = time.perf_counter()
    service = LineService(backends, root)
    load_backends(service, config)
    load_s = time.perf_counter() - load_start
    if not service.vocabulary.ready(config):
        raise SystemExit(f"the base workspace has no cached vocabulary for {config}: aborting")
    clock, generated = Stopwatch(), service.drawing.generated
    start = time.perf_counter()
    if batch is None:
        records = []
        for neuron in neurons:
            try:
                records.append(label_neuron(service, neuron, config, clock=clock))
            except LoopError as err:  # a failed run is kept as its stored record
                failed = service.workspace.load_run(run_id_for(service, neuron, config))
                if failed is None:
                    message = f"neuron {neuron} failed before its run was stored: {err}"
                    raise SystemExit(message) from err
                records.append(failed)
    else:
        records = [r.record for r in label_neurons(service, neurons, config, batch, clock=clock)]
    wall = time.perf_counter() - start
    images = service.drawing.generated - generated
    parts = clock.totals()
    rest = wall - sum(parts.get(p, 0.0) for p in _MEASURED)
    eval_start = time.perf_counter()
    evaluator = CosyEvaluator(service, evaluation)
    scores = evaluator.score(
        [LabelRow(r.neuron, r.label.concept, r.layer, "line") for r in records if r.label]
    )
    steps = [s for r in records for s in r.steps]
    return {
        "batch": batch,
        "share_concepts": config.share_concepts,
        "model_loading_s": load_s,
        "wall_s": wall,
        "parts_s": parts,
        "rest_s": rest,
        "rest_share": rest / wall if wall else 0.0,
        "images_generated": images,
        "images_per_neuron": images / len(neurons),
        "step_images_per_neuron": sum(s.images_drawn or 0 for s in steps) / len(neurons),
        "pool_steps": sum(1 for s in steps if s.proposal_origin == "pool"),
        "steps": len(steps),
        "finished": sum(1 for r in records if r.status == "finished"),
        "labels": {r.neuron: r.label.concept if r.label else None for r in records},
        "auc": {s.neuron: s.auc for s in scores},
        "mean_auc": sum(s.auc for s in scores) / len(scores) if scores else None,
        "evaluation_s": time.perf_counter() - eval_start,
        "records": records,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base-workspace",
        required=True,
        type=Path,
        help="a workspace whose cached vocabulary and images the arms start from (only read; "
        "an empty or new folder: the vocabulary is scored first, timed apart)",
    )
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/benchmark-layer"))
    parser.add_argument("--neurons", default="0-63")
    parser.add_argument("--layer", default="logits")
    parser.add_argument("--generator", default="compose:tuxpaint+openclipart+art4apps+gcompris")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--batches", default="16", help="lockstep batch sizes, comma-separated")
    parser.add_argument("--pool-batch", type=int, default=16, help="batch of the pool arm")
    parser.add_argument(
        "--pool-bars",
        default="minimum",
        help="pool arms, one per bar a pool concept must beat (minimum, median, best), "
        "comma-separated",
    )
    parser.add_argument(
        "--proposal",
        default="auto",
        choices=["auto", "llm", "guided", "hinted"],
        help="how steps get concepts (llm: the proposer answers every step, batched in lockstep)",
    )
    parser.add_argument("--eval-images", type=int, default=20)
    parser.add_argument("--output", default="docs/benchmark/layer")
    parser.add_argument(
        "--backend",
        action="append",
        default=[],
        metavar="ROLE=SPEC",
        help="another backend spec (e.g. target=..., a test's fakes with --plugin)",
    )
    parser.add_argument("--eval-generator", help="CoSy generator (default: held out)")
    parser.add_argument("--eval-control", help="CoSy control set (default: held out)")
    parser.add_argument("--plugin", action="append", default=[], help="backend plugin module")
    args = parser.parse_args(argv)
    if args.plugin:
        from line_mcp.backends.registry import load_plugins

        load_plugins(args.plugin)
    started = time.perf_counter()
    neurons = parse_neurons(args.neurons)
    specs = dict(item.split("=", 1) for item in args.backend)
    backends = BackendConfig(
        **{"layer": args.layer, "generator": args.generator, "device": "cpu", **specs}
    )
    config = LoopConfig(iterations=args.iterations, proposal=args.proposal)
    evaluation = EvaluationConfig(
        images_per_concept=args.eval_images,
        generator=args.eval_generator,
        control=args.eval_control,
    )
    # The base is only read: models load against a copy of it, which gets the
    # layer's vocabulary when the base has none cached (the first run, timed apart).
    args.base_workspace.mkdir(parents=True, exist_ok=True)
    prepared = _arm_workspace(args.base_workspace, args.scratch, "prepared")
    preparing = LineService(backends, prepared)
    load_backends(preparing, config)
    vocabulary_cached = preparing.vocabulary.ready(config)
    vocabulary_start = time.perf_counter()
    preparing.vocabulary.scores(config)
    vocabulary_s = time.perf_counter() - vocabulary_start
    del preparing  # each arm builds its own models
    arms: dict[str, dict[str, Any]] = {}
    plain_arms: list[tuple[str, int | None, dict[str, Any]]] = [("one-at-a-time", None, {})]
    plain_arms += [(f"lockstep-{b}", int(b), {}) for b in args.batches.split(",")]
    pool_arms = [
        (_pool_arm(args.pool_batch, b), args.pool_batch, {"share_concepts": True, "pool_bar": b})
        for b in args.pool_bars.split(",")
    ]
    for name, batch, changes in [*plain_arms, *pool_arms]:
        root = _arm_workspace(prepared, args.scratch, name)
        arm_config = LoopConfig.model_validate({**config.model_dump(), **changes})
        print(f"[benchmark] {name} ...", file=sys.stderr, flush=True)
        arms[name] = run_arm(backends, root, neurons, arm_config, batch, evaluation)
        print(
            f"[benchmark] {name}: {arms[name]['wall_s']:.1f} s, "
            f"{arms[name]['images_per_neuron']:.1f} images/neuron, "
            f"AUC {_number(arms[name]['mean_auc'])}",
            file=sys.stderr,
            flush=True,
        )
    reference = [schedule_free(r) for r in arms["one-at-a-time"]["records"]]
    for arm in arms.values():
        records = arm.pop("records")
        if not arm["share_concepts"]:
            arm["records_equal_to_one_at_a_time"] = sum(
                schedule_free(r) == ref for r, ref in zip(records, reference, strict=True)
            )
    base_arm = arms["one-at-a-time"]
    for arm in arms.values():
        arm["speedup"] = base_arm["wall_s"] / arm["wall_s"]
    # A schedule that draws the same images and reads them the same way saves at
    # most everything else: its speedup is bounded by 1 / (that work's share).
    per_image = sum(base_arm["parts_s"].get(p, 0.0) for p in ("images", "target"))
    same_images_bound = base_arm["wall_s"] / per_image if per_image else None
    plain = arms.get(f"lockstep-{args.pool_batch}", base_arm)
    tests = {name: _paired_auc(arms[name], plain) for name, _, _ in pool_arms}
    result = {
        "command": "tools/benchmark_layer.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{platform.machine()}, {platform.system()}",
        "backends": backends.to_dict(),
        "config": config.to_dict(),
        "evaluation": evaluation.model_dump(mode="json"),
        "neurons": neurons,
        "vocabulary_cached_in_base": vocabulary_cached,
        "vocabulary_s": vocabulary_s,
        "arms": arms,
        "pool_vs_plain_auc": tests,
        "same_images_speedup_bound": same_images_bound,
        "total_s": time.perf_counter() - started,
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str))
    out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    return 0


def _pool_arm(batch: int, bar: str) -> str:
    return f"pool-{batch}" if bar == "minimum" else f"pool-{batch}-{bar}"


def _paired_auc(pool: dict[str, Any], plain: dict[str, Any]) -> dict[str, Any] | None:
    """The paired test of two arms' held-out AUCs over the neurons labeled in both
    (a run that ends without a label, e.g. a proposer that never answers, has none)."""
    common = sorted(set(pool["auc"]) & set(plain["auc"]))
    if not common:
        return None
    scores = paired_test([pool["auc"][n] for n in common], [plain["auc"][n] for n in common])
    return dataclasses.asdict(scores)


def _number(value: float | None) -> str:
    return "no labels" if value is None else f"{value:.3f}"


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Labeling a layer slice: one at a time, lockstep batches, concept pool",
        "",
        f"Reproduce: `{result['command']}`",
        "",
        f"{len(result['neurons'])} neurons of `{result['backends']['layer']}`, generator "
        f"`{result['backends']['generator']}`, proposer `{result['backends']['proposer']}` "
        f"(proposal {result['config']['proposal']}), N = {result['config']['iterations']}, seed "
        f"{result['config']['seed']}; the layer's vocabulary scored once before the arms "
        f"({'cached in the base workspace' if result['vocabulary_cached_in_base'] else 'first run'}"
        f", {result['vocabulary_s']:.0f} s, not in any arm); "
        "models built afresh for each arm (not timed: "
        + ", ".join(f"{a['model_loading_s']:.0f} s" for a in result["arms"].values())
        + "); held-out CoSy "
        f"with {result['evaluation']['images_per_concept']} images per label. "
        f"Total {result['total_s'] / 60:.1f} min on {result['machine']}.",
        "",
        "| arm | wall s | speedup | LLM s | guided s | drawing s | target s | rest s (share) "
        "| images per neuron | pool steps | mean AUC | records equal to one at a time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, arm in result["arms"].items():
        parts = arm["parts_s"]
        equal = arm.get("records_equal_to_one_at_a_time")
        same = "-" if equal is None else f"{equal} / {len(result['neurons'])}"
        guided = parts.get("candidates", 0) + parts.get("ranking", 0)
        lines.append(
            f"| {name} | {arm['wall_s']:.1f} | {arm['speedup']:.2f}x | {parts.get('llm', 0):.1f} "
            f"| {guided:.1f} | {parts.get('images', 0):.1f} | {parts.get('target', 0):.1f} | "
            f"{arm['rest_s']:.1f} ({arm['rest_share']:.0%}) | {arm['images_per_neuron']:.1f} | "
            f"{arm['pool_steps']} / {arm['steps']} | {_number(arm['mean_auc'])} | "
            f"{same} |"
        )
    lines.append("")
    for name, comparison in result["pool_vs_plain_auc"].items():
        lines += [
            f"{name} vs no pool (same batch), paired held-out AUC: "
            + (
                ", ".join(f"{k} {v}" for k, v in comparison.items())
                if comparison
                else "no neuron has a label in both arms"
            ),
            "",
        ]
    lines += [
        "Images per neuron counts every image generated after the vocabulary pass (the "
        "initial board reads the pass's stored pixels when the base workspace kept them; "
        "one drawn before pixels were kept draws the board's entries again). Guided is "
        "the proposals from offline knowledge: candidate generation, duplicate filtering and "
        "ranking (WordNet, MiniLM, the image source's label matches). The rest is the board "
        "updates, storing images and saving records.",
        "",
    ]
    bound = result.get("same_images_speedup_bound")
    if bound:
        lines += [
            f"Drawing and the target are {1 / bound:.0%} of the one-at-a-time wall time: a "
            f"schedule that draws the same images and reads each concept's images in its own "
            f"target pass is at most {bound:.2f}x faster; beyond that only fewer images (the "
            "pool) help.",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
