"""Time the first run on a layer (the vocabulary pass) before and after the screen, and a
second layer of the same model, and check that the screened initial boards keep the top-5.

    flock /tmp/line-heavy.lock .venv/bin/python tools/benchmark_first_run.py \\
        --layer avgpool --second-layer blocks.15 --neurons 0-4 --screen 100 \\
        --output docs/benchmark/first-run.json

"before": a fresh workspace, every drawable vocabulary label drawn with |P| images
(``init_screen=0``), then the second layer in the same workspace (the vocabulary
pass keeps no pixels, so its images are drawn and read again). "after": another
fresh workspace, ``init_screen=K`` and ``cache_layers=SECOND``: one image per label,
then |P| images for each neuron's K best, every image read once for both layers.
Times are the initial boards of ``--neurons`` (the first includes the vocabulary
pass), model loading excluded. The top-5 check uses every neuron of the layer: the
screen's scores are the first image of each label (cached by the "before" pass).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from line_mcp.cli import parse_neurons
from line_mcp.config import BackendConfig, LoopConfig
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
    """Per K: share of all neurons whose top-5 by the screen + full score equals the full top-5."""
    full = service.vocabulary.scores(config)
    labels = full.labels
    requests = [draw_requests(label, 1, config) for label in labels]
    first = service.drawing.draw_batches(labels, requests, keep_images=False)  # cached
    screen = np.stack([c.activations[0] for c in first])
    top = config.init_top
    result: dict[str, Any] = {"neurons": int(full.scores.shape[1]), "labels": len(labels)}
    for k in screens:
        same_order = same_set = overlap = 0.0
        for neuron in range(full.scores.shape[1]):
            scores = full.scores[:, neuron].astype(np.float64)
            want = np.argsort(-scores, kind="stable")[:top]
            shortlist = np.argsort(-screen[:, neuron], kind="stable")[:k]
            masked = np.full(len(labels), -np.inf)
            masked[shortlist] = scores[shortlist]
            got = np.argsort(-masked, kind="stable")[:top]
            same_order += float(np.array_equal(want, got))
            same_set += float(set(want) == set(got))
            overlap += len(set(want) & set(got)) / top
        n = full.scores.shape[1]
        result[str(k)] = {
            "same_top5_in_order": round(same_order / n, 4),
            "same_top5_set": round(same_set / n, 4),
            "mean_top5_overlap": round(overlap / n, 4),
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layer", default="avgpool")
    parser.add_argument("--second-layer", default="blocks.15")
    parser.add_argument("--neurons", default="0-4")
    parser.add_argument("--screen", type=int, default=100, help="init_screen of the after run")
    parser.add_argument("--screens", default="20,50,100,200", help="K values of the top-5 check")
    parser.add_argument("--workspace-root", default="first-run-benchmark")
    parser.add_argument("--output", default="docs/benchmark/first-run.json")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    neurons = parse_neurons(args.neurons)
    root = Path(args.workspace_root)
    if root.exists() and any(root.iterdir()):
        parser.error(f"{root} is not empty: the benchmark needs fresh workspaces")
    progress = stderr_progress(args.quiet)
    full = LoopConfig(init_screen=0)
    screened = LoopConfig(init_screen=args.screen)
    first = BackendConfig(layer=args.layer)

    before_ws = root / "before"
    before = LineService(first, before_ws, progress)
    before_first = _boards(before, neurons, full)
    before_second = _boards(before.with_backends(layer=args.second_layer), neurons, full)

    after_ws = root / "after"
    cached = first.model_copy(update={"cache_layers": (args.second_layer,)})
    after = LineService(cached, after_ws, progress)
    after_first = _boards(after, neurons, screened)
    after_second = _boards(after.with_backends(layer=args.second_layer), neurons, screened)

    same = {
        "first_layer": sum(before_first["boards"][n] == after_first["boards"][n] for n in neurons),
        "second_layer": sum(
            before_second["boards"][n] == after_second["boards"][n] for n in neurons
        ),
        "of": len(neurons),
    }
    result = {
        "command": "tools/benchmark_first_run.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_end": os.getloadavg(),
        "layer": args.layer,
        "second_layer": args.second_layer,
        "neurons": neurons,
        "screen": args.screen,
        "before": {"first_layer": before_first, "second_layer": before_second},
        "after": {"first_layer": after_first, "second_layer": after_second},
        "identical_boards": same,
        "top5_agreement_all_neurons": _agreement(before, full, parse_neurons(args.screens)),
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1))
    summary = {k: result[k] for k in ("identical_boards", "top5_agreement_all_neurons")}
    print(json.dumps(summary, indent=1))
    for phase in ("before", "after"):
        for layer in ("first_layer", "second_layer"):
            print(phase, layer, result[phase][layer]["seconds"], "s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
