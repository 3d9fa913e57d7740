"""Wall time of ``--engine ray`` with 1 and 2 workers on the same neurons, each in a fresh
workspace, on a local Ray cluster.

    flock /tmp/line-heavy.lock .venv/bin/python tools/benchmark_ray.py --neurons 0-3 \\
        --iterations 2 --output docs/benchmark/ray.json

Backend specs are options (default: the embedded stack); a plugin stack runs with
``LINE_MCP_PLUGINS=module``. The vocabulary is scored once in ``--vocabulary-workspace``
(not timed) and copied into each run's workspace, so the times are the neurons only:
actor start-up (model loading) plus labeling.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from line_mcp.config import BackendConfig, LoopConfig
from line_mcp.core.neurons import parse_neurons
from line_mcp.distributed import NAMESPACE, label_with_ray
from line_mcp.service import LineService
from line_mcp.store.workspace import Workspace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", default="0-3")
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--batch-neurons", type=int, default=1, help="neurons per shard")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    parser.add_argument("--workspace-root", default="ray-benchmark")
    parser.add_argument("--output", default="docs/benchmark/ray.json")
    for role in ("target", "layer", "generator", "proposer", "embedder", "control", "device"):
        parser.add_argument(f"--{role}", default=getattr(BackendConfig(), role))
    args = parser.parse_args()

    import ray

    backends = BackendConfig(**{r: getattr(args, r) for r in (
        "target", "layer", "generator", "proposer", "embedder", "control", "device")})  # fmt: skip
    config = LoopConfig(iterations=args.iterations)
    neurons = parse_neurons(args.neurons)
    root = Path(args.workspace_root)
    vocabulary = root / "vocabulary"
    LineService(backends, vocabulary).vocabulary.prepare(config)  # not timed
    env = {"PYTHONPATH": os.pathsep.join(sys.path)}
    if os.environ.get("LINE_MCP_PLUGINS"):
        env["LINE_MCP_PLUGINS"] = os.environ["LINE_MCP_PLUGINS"]
    ray.init(
        num_cpus=args.cpus,
        include_dashboard=False,
        namespace=NAMESPACE,
        runtime_env={"env_vars": env},
    )
    runs = []
    labels: dict[str, list[str]] = {}
    for workers in parse_neurons(args.workers):
        folder = root / f"workers-{workers}"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(vocabulary, folder)
        shutil.rmtree(folder / "runs", ignore_errors=True)
        start = time.perf_counter()
        results = label_with_ray(
            backends, Workspace(folder), config, neurons, workers=workers,
            batch_neurons=args.batch_neurons,
        )  # fmt: skip
        wall = time.perf_counter() - start
        labels[str(workers)] = [r.record.label.concept for r in results if r.record.label]
        runs.append({"workers": workers, "seconds": round(wall, 1)})
        print(runs[-1], file=sys.stderr, flush=True)
    ray.shutdown()
    result = {
        "command": "tools/benchmark_ray.py " + " ".join(sys.argv[1:]),
        "backends": backends.to_dict(),
        "neurons": neurons,
        "iterations": args.iterations,
        "batch_neurons": args.batch_neurons,
        "cpus": args.cpus,
        "machine_cores": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "runs": runs,
        "same_labels": len({tuple(v) for v in labels.values()}) == 1,
        "labels": labels,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
