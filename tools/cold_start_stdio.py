"""Cold start per tool over stdio: each tool's first call on a fresh ``line-mcp serve``.

For each tool (describe_target, init_scoreboard, score_concept, generate_images) a new
server process is started over stdio with the default backends (compose generator,
EfficientNet-Lite0, SmolLM2, MiniLM) or the ones given, as a chat client would start it;
the script reports the time to the MCP handshake, the wall time and outcome of the
tool's first call (ok, loading, or an error), and when the same call first answers ok
(it is retried every 2 s, up to ``--wait``). Jobs a call starts (a cold layer's
vocabulary) are stopped with the server. All servers share one fresh workspace, so the
later ones read the load times the first one recorded (their estimates) but no model
or cached result.

Run it under the heavy lock:

    flock /tmp/line-heavy.lock .venv/bin/python tools/cold_start_stdio.py

Usage: python tools/cold_start_stdio.py [--workspace DIR] [--neuron 105] [--concept koala]
       [--wait 300] [-- extra serve options]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

TOOLS = ("describe_target", "init_scoreboard", "score_concept", "generate_images")


def arguments(tool: str, neuron: int, concept: str) -> dict[str, Any]:
    calls: dict[str, dict[str, Any]] = {
        "describe_target": {},
        "init_scoreboard": {"neuron": neuron},
        "score_concept": {"neuron": neuron, "concepts": [concept]},
        "generate_images": {"concept": concept, "n_images": 2},
    }
    return calls[tool]


def outcome(result: Any) -> str:
    data = result.structured_content or {}
    if data.get("status") == "loading":
        return "loading"
    if result.is_error:
        return "error: " + result.content[0].text[:160]
    return "ok" + (f" ({data['status']})" if isinstance(data.get("status"), str) else "")


async def one_tool(tool: str, args: argparse.Namespace) -> dict[str, Any]:
    serve = ["-m", "line_mcp", "serve", "--workspace", args.workspace, *args.serve]
    params = StdioServerParameters(command=sys.executable, args=serve)
    start = time.perf_counter()
    report: dict[str, Any] = {}
    async with Client(params) as client:
        report["handshake_s"] = round(time.perf_counter() - start, 2)
        call = arguments(tool, args.neuron, args.concept)
        sent = time.perf_counter()
        result = await client.call_tool(tool, call)
        report["first_call_s"] = round(time.perf_counter() - sent, 2)
        report["first_outcome"] = outcome(result)
        while outcome(result) == "loading":
            if time.perf_counter() - start > args.wait:
                break
            await anyio.sleep(2)
            result = await client.call_tool(tool, call)
        report["answers_ok_after_start_s"] = round(time.perf_counter() - start, 2)
        report["last_outcome"] = outcome(result)
        if tool == "describe_target":
            loading = (result.structured_content or {}).get("loading")
            report["loading"] = loading and loading.get("loading")
    return report


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"serve_options": args.serve, "neuron": args.neuron}
    for tool in TOOLS:
        report[tool] = await one_tool(tool, args)
        print(tool, json.dumps(report[tool]), file=sys.stderr, flush=True)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default=None, help="default: a new temporary folder")
    parser.add_argument("--neuron", type=int, default=105)
    parser.add_argument("--concept", default="koala")
    parser.add_argument("--wait", type=float, default=300.0, help="seconds per tool")
    parser.add_argument("serve", nargs="*", help="extra `line-mcp serve` options (after --)")
    args = parser.parse_args()
    args.workspace = args.workspace or tempfile.mkdtemp(prefix="line-cold-")
    print(json.dumps(anyio.run(measure, args), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
