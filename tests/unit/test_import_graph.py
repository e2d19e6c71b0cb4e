"""The perflab package's imports point one way, with no cycle.

Every import counts: module level, function level and `if TYPE_CHECKING:` alike
(a function-level import that closes a circle is still a circle).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "services" / "perflab"

# Lowest first. A module may import its own layer or lower ones, never higher.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset(
        {
            "catalog",
            "errors",
            "settings",
            "procs",
            "compute",
            "mail",
            "text",
            "machine",
            "paging",
            "shapes",
            "serialise",
            "search",
            "sales_report",
        }
    ),
    frozenset({"telemetry", "technique_metrics", "flags", "memos", "book_catalogue", "upstream"}),
    frozenset({"db"}),
    frozenset({"worker", "api", "django_service", "flask_service", "profile"}),
    frozenset({"experiment", "bench", "dashboards", "console", "lab"}),
)
# The CLI entry wires every tool; nothing imports it.
CLI = "perflab.lab.cli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _imports(path: Path, name: str, known: set[str]) -> Iterator[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` imports the module when it is one.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("perflab") and target != name:
                yield target


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: set(_imports(path, name, known)) for name, path in modules.items()}


def _top(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def _layer(module: str) -> int:
    top = _top(module)
    for level, names in enumerate(LAYERS):
        if top in names:
            return level
    raise AssertionError(f"{module}: package {top!r} has no layer in this test")


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_module_imports_itself_round_a_circle():
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_no_package_cycle_either():
    packages: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        source = "cli" if module == CLI else _top(module)
        for target in targets:
            dest = "cli" if target == CLI else _top(target)
            if dest and dest != source:
                packages.setdefault(source, set()).add(dest)
    cycle = _cycle(packages)
    assert cycle is None, " -> ".join(cycle or [])


def test_layers_point_one_way():
    wrong = [
        f"{module} -> {target}"
        for module, targets in _graph().items()
        if _top(module)
        for target in targets
        if _top(target) and _layer(target) > _layer(module)
    ]
    assert wrong == []


def test_nothing_imports_the_cli_entry():
    assert [m for m, targets in _graph().items() if CLI in targets] == []


def test_the_graph_sees_function_level_and_type_checking_imports(tmp_path: Path):
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from perflab.db import pool\n"
        "def f():\n    from perflab.api import app\n"
        "from . import errors\n"
    )
    path = tmp_path / "x.py"
    path.write_text(source)
    known = {"perflab.db.pool", "perflab.api.app", "perflab.telemetry", "perflab.telemetry.errors"}
    found = set(_imports(path, "perflab.telemetry.x", known))
    assert found == {"perflab.db.pool", "perflab.api.app", "perflab.telemetry.errors"}


@pytest.mark.parametrize("cyclic", [{"a": {"b"}, "b": {"c"}, "c": {"a"}}, {"a": {"a"}}])
def test_the_cycle_finder_finds_cycles(cyclic: dict[str, set[str]]):
    assert _cycle(cyclic) is not None
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
