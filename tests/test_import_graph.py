"""The house has no import circle: no module of `harness` imports (at the top or inside a function) a module
that imports it back, directly or through others."""

from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent / "harness"
RUN_LOOP = ("harness.runner", "harness.generation", "harness.runoptions", "harness.rundir", "harness.predictions",
            "harness.jsonl", "harness.paths", "harness.distributed", "harness.taskdata", "harness.task",
            "harness.scoring.judging", "harness.scoring.green", "harness.data.images", "harness.cli.run",
            "harness.cli.score", "harness.cli.data", "harness.cli.preprocess", "harness.testing")


def modules() -> dict[str, Path]:
    found = {}
    for path in HARNESS.rglob("*.py"):
        parts = list(path.relative_to(HARNESS.parent).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the harness modules it imports. ``from harness import plugins`` imports the module
    ``harness.plugins``; ``from harness.x import name`` imports ``harness.x`` (the nearest module)."""
    known = modules()

    def nearest(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(nearest(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in known else nearest(base))
        graph[module] = {t for t in targets if t and t != module and t.startswith("harness")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_lazy_imports_and_finds_a_planted_circle():
    graph = import_graph()
    assert "harness.generation" in graph["harness.runner"], "runner imports generation inside a function"
    assert cycles({**graph, "harness.generation": graph["harness.generation"] | {"harness.runner"}})


def test_the_run_loop_imports_one_way():
    inside = [c for c in cycles(import_graph()) if set(c) & set(RUN_LOOP)]
    assert inside == [], f"import circles through the run loop: {inside}"


def test_no_module_of_harness_imports_one_that_imports_it_back():
    assert cycles(import_graph()) == []
