"""The package layout keeps its promises: layers point one way, no import cycles, configured services never skip."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
#: Lowest first: a package may import itself and the packages before it, never one after it.
LAYERS = ("classifiers", "storage", "reports", "monitor")


def _modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in (PROJECT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[".".join(path.relative_to(PROJECT).with_suffix("").parts).removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules that ``name`` imports anywhere in its file (inside functions too)."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            targets |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    resolved = set()
    for target in targets:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        # A package's __init__ is loaded before its modules anyway: importing it is not a dependency.
        if target and target != name and not name.startswith(target + "."):
            resolved.add(target)
    return resolved


def test_layers_point_one_way_and_nothing_imports_in_a_cycle():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    upward = [f"{a} -> {b}" for a, deps in graph.items() for b in deps
              if LAYERS.index(b.split(".")[0]) > LAYERS.index(a.split(".")[0])]
    assert upward == []
    # Tarjan's strongly connected components: any with more than one module is a cycle.
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for dep in graph[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    # Restored afterwards: a raised limit would let later tests parse JSON nested deeper than the importer expects.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for name in graph:
            if name not in index:
                visit(name)
    finally:
        sys.setrecursionlimit(limit)
    assert cycles == []


def test_a_configured_but_unreachable_postgresql_fails_the_tests():
    env = {**os.environ, "STANCE_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:9/test"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(PROJECT / "tests" / "test_storage.py"),
         "-k", "postgresql and migrations_create"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0, result.stdout
    assert "configured but unreachable" in result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]
