"""Overhead of one MCP tool call over the in-memory client vs calling the service directly.

Scores an already-cached concept (no drawing, no forward pass: pure bookkeeping), so the
ratio shows what the protocol layer adds: JSON-RPC over memory streams, argument
validation, a worker-thread hop, the structured result and its thumbnails.

Usage: python tools/bench_tool_overhead.py [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcp import Client

from line_mcp.config import BackendConfig, LoopConfig
from line_mcp.server import build_server
from line_mcp.service import LineService


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    import tests.fakes  # noqa: F401  (registers the fake backends)

    backends = BackendConfig(
        target="fake", layer="colours", generator="fake", proposer="fake",
        embedder="fake", control="fake", device="cpu",
    )  # fmt: skip
    config = LoopConfig(seed=0)
    with tempfile.TemporaryDirectory() as folder:
        service = LineService(backends, folder)
        server = build_server(service, config)
        # Draw once: every call below hits the cache.
        service.drawing.score_concept(0, "teal", config)

        direct = []
        for _ in range(args.calls):
            start = time.perf_counter()
            service.drawing.score_concept(0, "teal", config)
            direct.append(time.perf_counter() - start)

        async def over_mcp() -> list[float]:
            times = []
            async with Client(server) as client:
                await client.call_tool("score_concept", {"neuron": 0, "concepts": ["teal"]})
                for _ in range(args.calls):
                    start = time.perf_counter()
                    result = await client.call_tool(
                        "score_concept", {"neuron": 0, "concepts": ["teal"]}
                    )
                    times.append(time.perf_counter() - start)
                    assert not result.is_error
            return times

        mcp_times = anyio.run(over_mcp)
    d, m = statistics.median(direct), statistics.median(mcp_times)
    print(f"direct service.drawing.score_concept: median {d * 1e3:.2f} ms over {args.calls} calls")
    print(f"tool call over in-memory MCP:  median {m * 1e3:.2f} ms over {args.calls} calls")
    print(f"ratio: {m / d:.1f}x  (overhead {(m - d) * 1e3:.2f} ms per call)")


if __name__ == "__main__":
    main()
