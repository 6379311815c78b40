"""The parts' records (gateway.app.PARTS) resolve, claim nothing twice, and the code has no import circle."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
from collections import Counter
from pathlib import Path

from sqlite_utils.migrations import Migrations

from gateway.app import PARTS
from gateway.parts import load_object

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "edge_model", "cloud_sync", "local_ui")


def test_every_entry_of_every_record_imports():
    for part in PARTS:
        for name, dotted in part.sections.items():
            assert dataclasses.is_dataclass(load_object(dotted)), (part.name, name, dotted)
        for dotted in part.migrations:
            assert isinstance(load_object(dotted), Migrations), (part.name, dotted)
        for job in part.jobs:
            assert callable(load_object(job.target)), (part.name, job.target)
        for module in part.commands:
            assert callable(importlib.import_module(module).register), (part.name, module)
        for dotted in (*part.alert_listeners, *part.ledger_listeners, part.dashboard, part.model):
            if dotted is not None:
                assert callable(load_object(dotted)), (part.name, dotted)


def claimed_twice(names: list[str]) -> list[str]:
    return sorted(name for name, n in Counter(names).items() if n > 1)


def subcommands(module: str) -> list[str]:
    sub = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module).register(sub)
    return list(sub.choices)


def test_no_two_parts_claim_the_same_name():
    assert claimed_twice([p.name for p in PARTS]) == []
    assert claimed_twice([name for p in PARTS for name in p.sections]) == []
    assert claimed_twice([job.name for p in PARTS for job in p.jobs]) == []
    assert claimed_twice([load_object(m).name for p in PARTS for m in p.migrations]) == []
    assert claimed_twice([m for p in PARTS for m in p.commands]) == []
    assert claimed_twice([c for p in PARTS for m in p.commands for c in subcommands(m)]) == []
    assert [p.name for p in PARTS if p.dashboard] == ["ui"] and [p.name for p in PARTS if p.model] == ["theft"]


def test_the_theft_tables_migrate_after_the_alerts():
    """The theft part's feedback cursor reads alert_actions, so its migrations run after the alerts'."""
    order = [p.name for p in PARTS if p.migrations]
    assert order.index("alerts") < order.index("theft")


# -- import circles ------------------------------------------------------------------------------


def modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package's __init__) for every module of the four packages."""
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_init = parts[-1] == "__init__"
            out[".".join(parts[:-1] if is_init else parts)] = (path, is_init)
    return out


def _script_only(node: ast.AST) -> bool:
    """An `if __name__ == "__main__":` block: it runs in the module `__main__`, a different module object."""
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"


def imports(tree: ast.AST, name: str, is_init: bool, known: dict) -> dict[str, int]:
    """The modules of `known` that this module imports (at module level or inside a function) -> first line."""
    package = name if is_init else name.rpartition(".")[0]
    found: dict[str, int] = {}

    def known_prefix(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _script_only(child):
                continue
            targets = []
            if isinstance(child, ast.Import):
                targets = [known_prefix(alias.name) for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    source = ".".join(base + ([child.module] if child.module else []))
                else:
                    source = child.module or ""
                for alias in child.names:
                    sub = f"{source}.{alias.name}"
                    targets.append(sub if sub in known else known_prefix(source))
            for target in targets:
                if target and target != name:
                    found.setdefault(target, child.lineno)
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    known = modules()
    return {
        name: imports(ast.parse(path.read_text(encoding="utf-8")), name, is_init, known)
        for name, (path, is_init) in known.items()
    }


def circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One loop of imports, as a path that ends where it starts, for each strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def connect(v: str) -> None:  # Tarjan; the graph is a few hundred modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [shortest_loop(graph, group, min(group)) for group in groups]


def shortest_loop(graph: dict[str, dict[str, int]], group: set[str], start: str) -> list[str]:
    """The shortest path of imports inside `group` from `start` back to it (breadth first)."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    return paths[v] + [start]
                if w in group and w not in paths:
                    paths[w] = paths[v] + [w]
                    following.append(w)
        frontier = following
    raise AssertionError(f"{start} is in a circle but no path leads back to it")


def describe(loop: list[str], graph: dict[str, dict[str, int]]) -> str:
    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(loop, loop[1:], strict=False)) + f" -> {loop[-1]}"


def test_the_circle_finder_finds_a_loop_and_its_path():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert circles(graph) == [["a", "b", "c", "a"]]
    assert describe(["a", "b", "c", "a"], graph) == "a (line 1) -> b (line 2) -> c (line 3) -> a"
    assert circles({"a": {"b": 1}, "b": {}}) == []


def test_the_import_graph_sees_relative_and_function_level_imports():
    graph = import_graph()
    assert "gateway.app" in graph["gateway.billing.ledger_wiring"]  # from ..app import (module level)
    assert "gateway.sdnotify" in graph["gateway.commands"]  # from .sdnotify import (inside a function)
    assert "gateway.app" in graph["gateway.config"] and "gateway.config" not in graph["gateway.app"]


def _loops_in(inside_local_ui: bool) -> list[str]:
    graph = import_graph()
    return [
        describe(loop, graph)
        for loop in circles(graph)
        if all(m.split(".")[0] == "local_ui" for m in loop) == inside_local_ui
    ]


def test_no_import_circle():
    assert _loops_in(inside_local_ui=False) == []


def test_no_import_circle_inside_local_ui():
    assert _loops_in(inside_local_ui=True) == []
