#!/usr/bin/env bash
# Drive `line-mcp serve` (stdio, fake backends from tests/fakes.py) with the MCP Inspector
# CLI, a real external MCP client: tools/list, a tools/call, and an error call; then a fresh
# server whose target takes 75 s to load (longer than the client's default 60 s request
# timeout) must answer its first describe_target at once, from metadata, saying what loads.
# Needs node (>= 18); installs @modelcontextprotocol/inspector@0.15 into a local folder
# (LINE_MCP_INSPECTOR_DIR, default $TMPDIR/line-mcp-inspector), never globally.
# Usage: bash tools/inspector_check.sh [python]     (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "inspector: node/npm not found; skipped" >&2
  exit 0
fi
DIR=${LINE_MCP_INSPECTOR_DIR:-${TMPDIR:-/tmp}/line-mcp-inspector}
INSPECTOR="$DIR/node_modules/.bin/mcp-inspector"
if [ ! -x "$INSPECTOR" ]; then
  npm install --silent --no-audit --no-fund --prefix "$DIR" @modelcontextprotocol/inspector@0.15
fi
WS=$(mktemp -d)
trap 'rm -rf "$WS"' EXIT
SERVE=("$PY" -m line_mcp serve --plugin tests.fakes --target fake --layer colours
  --generator fake --proposer fake --embedder fake --control fake --device cpu
  --no-preload --iterations 2 --workspace "$WS")

"$INSPECTOR" --cli "${SERVE[@]}" --method tools/list >"$WS/list.json" 2>"$WS/list.err"
"$INSPECTOR" --cli "${SERVE[@]}" --method tools/call --tool-name score_concept \
  --tool-arg neuron=0 --tool-arg 'concepts=["teal"]' >"$WS/call.json" 2>"$WS/call.err"
"$INSPECTOR" --cli "${SERVE[@]}" --method tools/call --tool-name get_scoreboard \
  --tool-arg neuron=99 >"$WS/error.json" 2>"$WS/error.err" || true
# Cold start: models load in the background from start-up (no --no-preload).
COLD=("$PY" -m line_mcp serve --plugin tests.fakes --target "slow?seconds=75" --layer colours
  --generator fake --proposer fake --embedder fake --control fake --device cpu
  --iterations 2 --workspace "$WS/cold")
START=$(date +%s.%N)
"$INSPECTOR" --cli "${COLD[@]}" --method tools/call --tool-name describe_target \
  >"$WS/cold.json" 2>"$WS/cold.err"
echo "$START $(date +%s.%N)" >"$WS/cold.time"

"$PY" - "$WS" <<'PY'
import json, sys
from pathlib import Path

ws = Path(sys.argv[1])
tools = [t["name"] for t in json.loads((ws / "list.json").read_text())["tools"]]
call = json.loads((ws / "call.json").read_text())
error = json.loads((ws / "error.json").read_text())
kinds = [c["type"] for c in call["content"]]
score = call["structuredContent"]["scores"][0]
assert "score_concept" in tools and "label_neuron" in tools, tools
assert not call.get("isError") and kinds.count("image") == 5, kinds
# Provenance: every image entry says how it was made (the fake generator reports its colour).
assert all(len(i["source"]["colour"]) == 3 and "drawn_from" in i for i in score["images"]), score
assert error.get("isError") and "0..3" in error["content"][0]["text"], error
print(f"inspector: tools/list -> {len(tools)} tools: {', '.join(tools)}")
print(f"inspector: tools/call score_concept(neuron=0, ['teal']) -> score {score['score']:.4f}, "
      f"content blocks {kinds.count('text')} text + {kinds.count('image')} image + "
      f"{kinds.count('resource_link')} resource_link")
print(f"inspector: every image entry of score_concept has its provenance "
      f"(source {score['images'][0]['source']})")
print(f"inspector: tools/call get_scoreboard(neuron=99) -> isError, {error['content'][0]['text']!r}")
cold = json.loads((ws / "cold.json").read_text())
start, end = map(float, (ws / "cold.time").read_text().split())
info = cold["structuredContent"]
assert not cold.get("isError") and info["neurons"] is None, cold
assert info["loading"]["loading"][0].startswith("target (slow"), info["loading"]
assert end - start < 60, f"the first describe_target took {end - start:.1f} s"
print(f"inspector: fresh server, target loading 75 s: first describe_target answered in "
      f"{end - start:.1f} s (CLI start to exit), loading {info['loading']['loading']}")
PY
