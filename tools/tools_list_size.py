"""Print the size of the server's ``tools/list`` answer as a client receives it.

The server runs over the test fakes (the schemas and descriptions do not depend on
the backends), reached through the SDK's in-memory client; the answer is measured as
the JSON the wire carries. Prints the total and its parts per tool.

Usage: python tools/tools_list_size.py [--per-tool]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcp import Client

from line_mcp.backends.registry import load_plugins
from line_mcp.config import BackendConfig, LoopConfig
from line_mcp.server import build_server
from line_mcp.service import LineService


def size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON (what a JSON-RPC line carries)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


async def measure(workspace: str) -> dict[str, Any]:
    load_plugins(["tests.fakes"])
    fakes = {role: "fake" for role in ("target", "generator", "proposer", "embedder", "control")}
    service = LineService(BackendConfig(layer="colours", device="cpu", **fakes), workspace)
    async with Client(build_server(service, LoopConfig())) as client:
        listed = await client.list_tools()
    wire = listed.model_dump(mode="json", by_alias=True, exclude_none=True)
    tools = wire["tools"]
    return {
        "bytes": size(wire),
        "tools": len(tools),
        "output_schemas": sum(size(t.get("outputSchema")) for t in tools),
        "input_schemas": sum(size(t.get("inputSchema")) for t in tools),
        "descriptions": sum(size(t.get("description", "")) for t in tools),
        "per_tool": {t["name"]: size(t) for t in tools},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-tool", action="store_true", help="also each tool's bytes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workspace:
        report = anyio.run(measure, workspace)
    if not args.per_tool:
        del report["per_tool"]
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
