"""The import graph between line_mcp's packages: no cycles, and the layering the design keeps.

Every ``import`` in every module counts, also the lazy ones inside functions:
a cycle through a lazy import is still two packages that need each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import line_mcp

ROOT = Path(line_mcp.__file__).parent


def _node(module: str) -> str:
    """``line_mcp.core.records`` -> ``core``; a top-level module is its own node."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "line_mcp"


def package_graph() -> dict[str, set[str]]:
    """Package -> the packages its modules import (itself left out)."""
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        source = _node(module)
        edges = graph.setdefault(source, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            edges.update(
                _node(n) for n in names if n.startswith("line_mcp.") and _node(n) != source
            )
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_graph_has_no_cycle():
    graph = package_graph()
    assert {"core", "data", "backends", "engine", "store", "server"} <= set(graph)
    assert find_cycle(graph) is None, find_cycle(graph)


def test_lower_packages_do_not_import_higher_ones():
    graph = package_graph()
    assert "backends" not in graph["data"]  # data is below backends
    assert graph["core"] <= {"errors"}  # pure: no models, no disk
    for low in ("core", "data", "backends", "store", "knowledge"):
        assert not graph[low] & {"engine", "server", "evaluation", "service", "loop", "cli"}, low
    assert not graph["engine"] & {"server", "evaluation", "loop", "cli", "service"}


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_registry_does_not_know_the_builtin_backends():
    # builtin.py registers through the registry; the registry finds it by entry point only.
    registry = (ROOT / "backends" / "registry.py").read_text()
    assert "builtin" not in "".join(
        ast.unparse(n)
        for n in ast.walk(ast.parse(registry))
        if isinstance(n, ast.Import | ast.ImportFrom)
    )
