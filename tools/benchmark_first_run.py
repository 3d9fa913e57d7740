"""Time the first run on a layer (the vocabulary pass) before and after the screen, and a
second layer of the same model, and check that the screened initial boards keep the top-5.

    flock /tmp/line-heavy.lock .venv/bin/python tools/benchmark_first_run.py \\
        --layer avgpool --second-layer blocks.15 --neurons 0-2 --screen 100 \\
        --output docs/benchmark/first-run.json

Each phase runs in its own process (no in-process cache carries over), in its own
fresh workspace under ``--workspace-root``:

- ``before``: every drawable vocabulary label drawn with |P| images (``init_screen=0``,
  the previous behaviour), the initial boards of ``--neurons``;
- ``after``: ``init_screen=K`` and ``cache_layers=SECOND``: one image per label, then
  |P| images for each neuron's K best, every image read once for both layers; then
  the second layer's boards in the same workspace (``after-second``, its own process);
- ``agreement`` (in the ``before`` workspace, no drawing): over every neuron of the
  layer, how often the top-5 found through a screen of K equals the full pass's.

Times are the initial boards of ``--neurons`` (the first includes the vocabulary
pass), model loading excluded. ``--phase all`` (default) runs the phases in
subprocesses and writes the merged JSON to ``--output``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from line_mcp.config import BackendConfig, LoopConfig
from line_mcp.core.neurons import parse_neurons
from line_mcp.engine.drawing import draw_requests
from line_mcp.progress import stderr_progress
from line_mcp.service import LineService


def _boards(service: LineService, neurons: list[int], config: LoopConfig) -> dict[str, Any]:
    """Initial boards of the neurons, timed (the first one pays for the vocabulary)."""
    service.backends.load()
    seconds, boards = [], {}
    for neuron in neurons:
        start = time.perf_counter()
        init = service.vocabulary.initial_board(neuron, config)
        seconds.append(round(time.perf_counter() - start, 2))
        boards[neuron] = [(e.concept, round(e.score, 6)) for e in init.entries]
    return {"seconds_per_board": seconds, "seconds": round(sum(seconds), 1), "boards": boards}


def _agreement(service: LineService, config: LoopConfig, screens: list[int]) -> dict[str, Any]:
    """The top-5 check over every neuron of the layer, from the cached full pass."""
    full = service.vocabulary.scores(config)
    labels = full.labels
    requests = [draw_requests(label, 1, config) for label in labels]
    first = service.drawing.draw_batches(labels, requests, keep_images=False)  # cached
    screen = np.stack([c.activations[0] for c in first])
    return _top5(full.scores, screen, screens, config.init_top)


def _agreement_from_cache(root: Path, layer: str, screens: list[int], seed: int) -> dict[str, Any]:
    """The top-5 check read straight from a workspace's image index and activation cache.

    For a workspace whose vocabulary pass was stored under other backend
    fingerprints: every concept of the main generator whose |P| = 5 loop images
    (seeds of ``draw_requests``) all have an activation of ``layer`` is a label;
    the screen is its first image. Reads only; draws nothing.
    """
    import sqlite3

    from line_mcp.core.concepts import concept_key
    from line_mcp.core.seeds import derive_seed

    with sqlite3.connect(root / "cache.sqlite") as db:
        (generator,) = db.execute(
            "SELECT generator FROM images GROUP BY generator ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
        rows = db.execute(
            "SELECT i.concept, i.seed, a.vector FROM images i JOIN activations a "
            "ON a.image_id = i.image_id WHERE i.generator = ? AND a.layer = ?",
            (generator, layer),
        ).fetchall()
    by_concept: dict[str, dict[int, np.ndarray]] = {}
    for concept, image_seed, vector in rows:
        by_concept.setdefault(concept, {})[int(image_seed)] = np.frombuffer(vector, np.float32)
    labels, full, screen = [], [], []
    for concept, images in sorted(by_concept.items()):
        seeds = [derive_seed(seed, "image", concept_key(concept), i) for i in range(5)]
        if all(s in images for s in seeds):
            labels.append(concept)
            full.append(np.mean([images[s] for s in seeds], axis=0))
            screen.append(images[seeds[0]])
    return _top5(np.stack(full), np.stack(screen), screens, 5) | {"source": str(root)}


def _top5(full: np.ndarray, screen: np.ndarray, screens: list[int], top: int) -> dict[str, Any]:
    """Per K: share of neurons whose top-5 through a screen of K equals the full top-5."""
    result: dict[str, Any] = {"neurons": int(full.shape[1]), "labels": int(full.shape[0])}
    # Images a screened first run draws for the first n neurons: one per label, then the
    # other |P| - 1 = 4 for each label in the union of their shortlists (random picks aside).
    result["images_full_pass"] = int(full.shape[0]) * 5
    for k in screens:
        union: set[int] = set()
        images = {}
        for neuron in range(full.shape[1]):
            union.update(np.argsort(-screen[:, neuron], kind="stable")[:k].tolist())
            if neuron + 1 in (1, 8, 64, full.shape[1]):
                images[str(neuron + 1)] = int(full.shape[0]) + 4 * len(union)
        result[f"images_screened_{k}_first_n_neurons"] = images
    for k in screens:
        same_order = same_set = overlap = 0.0
        for neuron in range(full.shape[1]):
            scores = full[:, neuron].astype(np.float64)
            want = np.argsort(-scores, kind="stable")[:top]
            shortlist = np.argsort(-screen[:, neuron], kind="stable")[:k]
            masked = np.full(len(scores), -np.inf)
            masked[shortlist] = scores[shortlist]
            got = np.argsort(-masked, kind="stable")[:top]
            same_order += float(np.array_equal(want, got))
            same_set += float(set(want) == set(got))
            overlap += len(set(want) & set(got)) / top
        n = full.shape[1]
        result[str(k)] = {
            "same_top5_in_order": round(same_order / n, 4),
            "same_top5_set": round(same_set / n, 4),
            "mean_top5_overlap": round(overlap / n, 4),
        }
    return result


def _phase(args: argparse.Namespace) -> dict[str, Any]:
    neurons = parse_neurons(args.neurons)
    root = Path(args.workspace_root)
    progress = stderr_progress(args.quiet)
    full = LoopConfig(init_screen=0)
    screened = LoopConfig(init_screen=args.screen)
    first = BackendConfig(layer=args.layer)
    if args.phase == "before":
        return _boards(LineService(first, root / "before", progress), neurons, full)
    cached = first.model_copy(update={"cache_layers": (args.second_layer,)})
    if args.phase == "after":
        return _boards(LineService(cached, root / "after", progress), neurons, screened)
    if args.phase == "after-second":
        second = cached.model_copy(update={"layer": args.second_layer})
        return _boards(LineService(second, root / "after", progress), neurons, screened)
    service = LineService(first, root / "before", progress)
    if not service.vocabulary.ready(full):  # the check reads caches only: never a full pass
        raise SystemExit(f"{root / 'before'} holds no full vocabulary pass of {args.layer}")
    return _agreement(service, full, parse_neurons(args.screens))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layer", default="avgpool")
    parser.add_argument("--second-layer", default="blocks.15")
    parser.add_argument("--neurons", default="0-2")
    parser.add_argument("--screen", type=int, default=100, help="init_screen of the after run")
    parser.add_argument("--screens", default="20,50,100,200", help="K values of the top-5 check")
    parser.add_argument("--workspace-root", default="first-run-benchmark")
    parser.add_argument("--output", default="docs/benchmark/first-run.json")
    parser.add_argument(
        "--phase",
        default="all",
        choices=("all", "before", "after", "after-second", "agreement", "agreement-cache"),
        help="agreement-cache: the top-5 check read from --workspace-root's own cache "
        "(a workspace whose vocabulary pass has other fingerprints); prints JSON",
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    if args.phase == "agreement-cache":
        found = _agreement_from_cache(Path(args.workspace_root), args.layer, parse_neurons(
            args.screens), seed=0)  # fmt: skip
        print(json.dumps(found, indent=1))
        return 0
    if args.phase != "all":
        print(json.dumps(_phase(args)))
        return 0
    root = Path(args.workspace_root)
    if root.exists() and any(root.iterdir()):
        parser.error(f"{root} is not empty: the benchmark needs fresh workspaces")
    phases: dict[str, Any] = {}
    for phase in ("before", "after", "after-second", "agreement"):
        command = [sys.executable, __file__, *sys.argv[1:], "--phase", phase]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        phases[phase] = json.loads(done.stdout.strip().splitlines()[-1])
        print(phase, phases[phase].get("seconds", ""), file=sys.stderr, flush=True)
    neurons = parse_neurons(args.neurons)
    boards = {p: phases[p]["boards"] for p in ("before", "after")}
    result = {
        "command": "tools/benchmark_first_run.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_end": os.getloadavg(),
        "layer": args.layer,
        "second_layer": args.second_layer,
        "neurons": neurons,
        "screen": args.screen,
        **{p: phases[p] for p in ("before", "after", "after-second")},
        "identical_boards": {
            "same": sum(boards["before"][str(n)] == boards["after"][str(n)] for n in neurons),
            "of": len(neurons),
        },
        "top5_agreement_all_neurons": phases["agreement"],
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
