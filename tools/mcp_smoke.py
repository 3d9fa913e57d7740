"""Drive the MCP server on a real stack through the SDK's in-memory client (a smoke check).

One pass of what a client does with a neuron, each call timed: describe_target,
init_scoreboard, score_concept, ablate_concept on the concept's best image,
evaluate_label (held-out CoSy, a job polled to the end),
propose_concept and update_scoreboard with the proposal. Defaults are the
embedded stack (EfficientNet-Lite0 ``logits``, neuron 105 = koala). The run is
stored in the workspace like any other: a later ``run-loop`` with the same
settings resumes it.

A layer whose vocabulary is not scored in the workspace yet makes init_scoreboard
a background job of many minutes on a CPU; the script waits at most ``--wait-init``
seconds for it. For a quick check on a fresh workspace use a small control set:

    python tools/mcp_smoke.py --workspace /tmp/ws --control "bank:openmoji?limit=60"

With ``--cold`` it measures a fresh server instead: the server starts loading its
models in the background (as ``line-mcp serve`` does), every tool is called once at
start-up, all at the same time, and each first call's wall time and outcome (ok,
loading, or an error such as "no run yet") are reported; then the time until every
model is loaded, the load time of each role, and the same calls again once loaded.
Jobs the calls start are cancelled at once; the second round leaves out the tools
that start jobs.

Usage: python tools/mcp_smoke.py [--workspace DIR] [--layer logits] [--neuron 105]
       [--concept koala] [--control SPEC] [--wait-init 60] [--cold]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcp import Client
from mcp.types import TextContent

from line_mcp.config import BackendConfig, LoopConfig
from line_mcp.server import build_server
from line_mcp.service import LineService


class SmokeError(RuntimeError):
    """A tool call returned an error result."""


async def timed(client: Client, timings: dict[str, float], name: str, **arguments: Any) -> Any:
    """Call a tool, record its wall time, return its structured result (or raise)."""
    start = time.perf_counter()
    result = await client.call_tool(name, arguments)
    timings[name] = round(time.perf_counter() - start, 3)
    if result.is_error:
        texts = (c.text for c in result.content if isinstance(c, TextContent))
        raise SmokeError(f"{name}: {next(texts, '(an error result without text)')}")
    return result.structured_content


async def wait_for_job(
    client: Client, timings: dict[str, float], job_id: str, seconds: float
) -> dict[str, Any]:
    """Poll job_status every 2 s until the job ends or ``seconds`` pass; the last status."""
    deadline = time.perf_counter() + seconds
    while True:
        job = await timed(client, timings, "job_status", job_id=job_id)
        if job["status"] not in ("queued", "running") or time.perf_counter() > deadline:
            return job
        await anyio.sleep(2)


async def smoke(args: argparse.Namespace) -> dict[str, Any]:
    overrides = {"layer": args.layer, **({"control": args.control} if args.control else {})}
    service = LineService(BackendConfig(**overrides), args.workspace)
    server = build_server(service, LoopConfig())
    timings: dict[str, float] = {}
    report: dict[str, Any] = {"timings_s": timings}
    async with Client(server) as client:
        info = await timed(client, timings, "describe_target")
        report["target"] = {
            k: info[k] for k in ("target", "layer", "neurons", "vocabulary_ready", "control")
        }
        board = await timed(client, timings, "init_scoreboard", neuron=args.neuron)
        if board["job_id"]:
            await wait_for_job(client, timings, board["job_id"], args.wait_init)
            board = await timed(client, timings, "get_scoreboard", neuron=args.neuron)
            if board["status"] == "initialising":
                await client.call_tool("cancel_job", {"job_id": board["job_id"]})
                raise SmokeError(
                    f"the vocabulary of layer {args.layer!r} is not scored in "
                    f"{args.workspace}; init did not finish in {args.wait_init} s"
                )
        report["board"] = [(e["concept"], round(e["score"], 3)) for e in board["scoreboard"]]
        report["steps_done"] = board["steps_done"]

        scored = await timed(client, timings, "score_concept", neuron=args.neuron,
                             concepts=[args.concept])  # fmt: skip
        concept = scored["scores"][0]
        report["score_concept"] = {
            "concept": concept["concept"],
            "score": round(concept["score"], 3),
            "board_rank": concept["board_rank"],
            "activations": [round(i["activation"], 3) for i in concept["images"]],
        }
        best = max(concept["images"], key=lambda i: i["activation"])
        ablated = await timed(client, timings, "ablate_concept", neuron=args.neuron,
                              image_id=best["image_id"], concept=args.concept)  # fmt: skip
        report["ablate_concept"] = {
            k: ablated.get(k)
            for k in ("method", "activation_before", "activation_after", "relative_drop", "region")
        }

        started = time.perf_counter()
        job = await timed(client, timings, "evaluate_label", neuron=args.neuron,
                          label=args.concept)  # fmt: skip
        job = await wait_for_job(client, timings, job["job_id"], args.wait_init)
        timings["evaluate_label (job)"] = round(time.perf_counter() - started, 3)
        evaluation = job["evaluation"] or {"error": job["error"], "status": job["status"]}
        report["evaluate_label"] = {
            k: evaluation.get(k)
            for k in ("label", "auc", "mad", "auprc", "images", "controls", "generator",
                      "control", "held_out", "error", "status")
            if k in evaluation
        }  # fmt: skip

        if board["status"] == "finished":
            report["propose_concept"] = "skipped: the run is finished"
            return report
        proposal = await timed(client, timings, "propose_concept", neuron=args.neuron)
        report["propose_concept"] = {
            k: proposal[k] for k in ("step", "concept", "attempts", "rejected", "skipped")
        }
        if proposal["concept"]:
            update = await timed(client, timings, "update_scoreboard", neuron=args.neuron,
                                 concept=proposal["concept"])  # fmt: skip
            report["update_scoreboard"] = {
                "step": update["step"],
                "origin": update["origin"],
                "concept": update["concept"],
                "score": round(update["score"], 3),
                "removed": update["removed"],
                "replaced_minimum": update["replaced_minimum"],
                "next": update["board"]["next"],
            }
    return report


def first_calls(neuron: int, concept: str) -> dict[str, dict[str, Any]]:
    """One call of every tool, with arguments a client could send on a fresh workspace."""
    return {
        "describe_target": {},
        "init_scoreboard": {"neuron": neuron},
        "get_scoreboard": {"neuron": neuron},
        "propose_concept": {"neuron": neuron},
        "summarize_scoreboard": {"neuron": neuron},
        "update_scoreboard": {"neuron": neuron, "concept": concept},
        "generate_images": {"concept": concept, "n_images": 2},
        "get_activations": {"neurons": [neuron], "image_ids": ["no-such-image"]},
        "score_concept": {"neuron": neuron, "concepts": [concept]},
        "ablate_concept": {"neuron": neuron, "image_id": "no-such-image", "concept": concept},
        "label_neuron": {"neuron": neuron},
        "evaluate_label": {"neuron": neuron, "label": concept, "images": 5},
        "job_status": {"job_id": "no-such-job"},
        "job_result": {"job_id": "no-such-job"},
        "cancel_job": {"job_id": "no-such-job"},
    }


async def call_all(client: Client, calls: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every call at once; per tool its wall time and outcome. Started jobs are cancelled."""
    results: dict[str, Any] = {}

    async def one(name: str, arguments: dict[str, Any]) -> None:
        start = time.perf_counter()
        result = await client.call_tool(name, arguments)
        seconds = round(time.perf_counter() - start, 2)
        data = result.structured_content or {}
        text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
        if result.is_error:
            outcome = "loading" if data.get("status") == "loading" else f"error: {text[:70]}"
        else:
            outcome = "ok"
        results[name] = {"seconds": seconds, "outcome": outcome}
        if not result.is_error and data.get("job_id") and name != "cancel_job":
            await client.call_tool("cancel_job", {"job_id": data["job_id"]})

    async with anyio.create_task_group() as group:
        for name, arguments in calls.items():
            group.start_soon(one, name, arguments)
    return {name: results[name] for name in calls}


async def cold(args: argparse.Namespace) -> dict[str, Any]:
    overrides = {"layer": args.layer, **({"control": args.control} if args.control else {})}
    started = time.perf_counter()
    service = LineService(BackendConfig(**overrides), args.workspace)
    server = build_server(service, LoopConfig(), preload=True)
    report: dict[str, Any] = {"backends": service.config.to_dict()}
    calls = first_calls(args.neuron, args.concept)
    async with Client(server) as client:
        report["first_calls"] = await call_all(client, calls)
        while True:  # until the warm-up has built every role
            info = (await client.call_tool("describe_target", {})).structured_content or {}
            if info.get("loading") is None or time.perf_counter() - started > args.wait_init:
                break
            await anyio.sleep(1)
        report["all_loaded_after_s"] = round(time.perf_counter() - started, 1)
        report["still_loading"] = info.get("loading")
        times = Path(args.workspace) / "load-seconds.json"
        report["load_seconds"] = json.loads(times.read_text()) if times.exists() else None
        # Without the tools that start jobs: their jobs would compete for the CPU.
        jobs = ("init_scoreboard", "label_neuron", "evaluate_label")
        again = {name: arguments for name, arguments in calls.items() if name not in jobs}
        report["calls_once_loaded"] = await call_all(client, again)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default="line-workspace")
    parser.add_argument("--layer", default="logits")
    parser.add_argument("--neuron", type=int, default=105)
    parser.add_argument("--concept", default="koala")
    parser.add_argument("--control", default=None, help="control spec (default: the embedded)")
    parser.add_argument("--wait-init", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--cold", action="store_true", help="first calls on a fresh server")
    args = parser.parse_args()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # model libraries print on load
            report = anyio.run(cold if args.cold else smoke, args)
    except SmokeError as err:
        print(f"mcp_smoke: {err}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
