"""The package reads as the pipeline it is: folders are stages, imports go one way.

Every import in ``grader/`` (at the top of a module or inside a function) may only reach a
module of the same or a lower layer; within a layer, packages do not import each other in a
circle. A module not listed in LAYERS fails the test until it is placed.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

from .helpers import ROOT

PACKAGE = ROOT / "grader"

# lower layers first; a module may import its own layer and those below
LAYERS = [
    ["errors", "util"],
    ["course", "cells", "results", "testing", "data", "lms"],
    ["kernels"],
    ["outputs"],
    ["pipeline"],
    ["backends"],
    ["batch"],
    ["term"],
    ["authoring"],
    ["api", "cli", "__main__"],
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def _unit(module: str) -> str:
    """``grader.kernels.live`` -> ``kernels``; ``grader`` itself -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


MODULES = {_module(p) for p in PACKAGE.rglob("*.py")}


@functools.lru_cache(maxsize=None)
def _imports() -> dict[str, set[str]]:
    """grader module -> grader modules it imports (absolute names)."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        package = module if rel.name == "__init__" else module.rsplit(".", 1)[0]
        targets: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and getattr(block.test, "id", "") == "TYPE_CHECKING"
                       for stmt in block.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in typing_only:  # annotations only: no import at run time
                continue
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.split(".")[0] == "grader"}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    name = ".".join(base + ([node.module] if node.module else []))
                else:
                    name = node.module or ""
                if name.split(".")[0] == "grader":
                    # `from grader.kernels import forkserver` imports grader.kernels.forkserver
                    targets |= {f"{name}.{a.name}" if f"{name}.{a.name}" in MODULES else name
                                for a in node.names}
        found[module] = targets
    return found


def test_every_module_has_a_layer():
    units = {_unit(m) for m in _imports()} - {"__init__"}
    assert not units - set(LAYER_OF), f"place these in LAYERS: {sorted(units - set(LAYER_OF))}"


def test_imports_only_go_down():
    wrong = []
    for module, targets in _imports().items():
        here = _unit(module)
        for target in targets:
            there = _unit(target)
            if there in ("__init__",) or there == here:
                continue
            if LAYER_OF.get(there, -1) > LAYER_OF.get(here, 99):
                wrong.append(f"{module} imports {target}")
    assert not wrong, wrong


def test_no_import_circles_between_units():
    edges: dict[str, set[str]] = {}
    for module, targets in _imports().items():
        for target in targets:
            if _unit(target) not in (_unit(module), "__init__"):
                edges.setdefault(_unit(module), set()).add(_unit(target))

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in edges.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False
    circles = sorted(u for u in edges if reaches(u, u, {u}))
    assert not circles, circles


def test_no_import_circles_between_modules():
    graph = {m: {t for t in targets if t in _imports()} for m, targets in _imports().items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False
    circles = sorted(m for m in graph if reaches(m, m, {m}) and not m.endswith("__init__"))
    assert not circles, circles
