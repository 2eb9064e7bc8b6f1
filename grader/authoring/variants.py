"""Variants of a solution: mutants (plausible wrong solutions) and alternative correct
solutions, read from ``autograde_tests/<exercise>/variants.yaml``, and the submissions made from
them. Used by `grader demo`, the exercise contract tests and the benchmarks."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import nbformat
import yaml

from ..cells import grade_id, is_solution
from ..course import ExerciseSpec
from ..errors import VariantError




@dataclass
class Mutant:
    name: str
    description: str
    edits: list[dict[str, str]]
    must_fail: list[str] = field(default_factory=list)
    # True when the mutant's own (wrong) results depend on the order in which a set of objects
    # is iterated: graded the same every time (probe.STABLE_ORDER), and its failing tests are
    # run again in the opposite order to tell the student
    order_dependent: bool = False


@dataclass
class Alternative:
    name: str
    description: str
    cells: dict[str, str]


@dataclass
class Variants:
    mutants: list[Mutant]
    alternatives: list[Alternative]


def load_variants(spec: ExerciseSpec) -> Variants:
    path = spec.tests_dir / "variants.yaml"
    if not path.is_file():
        return Variants([], [])
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    mutants = [Mutant(m["name"], m.get("description", ""), list(m["edits"]), list(m.get("must_fail", [])),
                      bool(m.get("order_dependent", False)))
               for m in data.get("mutants", [])]
    alternatives = [Alternative(a["name"], a.get("description", ""), dict(a["cells"]))
                    for a in data.get("alternatives", [])]
    return Variants(mutants, alternatives)


def _cells_by_id(nb: nbformat.NotebookNode) -> dict[str, Any]:
    return {gid: c for c in nb.cells if (gid := grade_id(c))}


def apply_mutant(solution: nbformat.NotebookNode, mutant: Mutant) -> nbformat.NotebookNode:
    nb = copy.deepcopy(solution)
    cells = _cells_by_id(nb)
    for edit in mutant.edits:
        cell = cells.get(edit["cell"])
        if cell is None:
            raise VariantError(f"mutant {mutant.name}: no cell with grade_id {edit['cell']!r}")
        if edit["find"] not in cell.source:
            raise VariantError(f"mutant {mutant.name}: text {edit['find']!r} not found in cell "
                               f"{edit['cell']!r} (update variants.yaml)")
        count = edit.get("count", 1)
        cell.source = cell.source.replace(edit["find"], edit["replace"],
                                          -1 if count == "all" else int(count))
    return nb


def apply_alternative(solution: nbformat.NotebookNode, alt: Alternative) -> nbformat.NotebookNode:
    nb = copy.deepcopy(solution)
    cells = _cells_by_id(nb)
    for gid, source in alt.cells.items():
        if gid not in cells or not is_solution(cells[gid]):
            raise VariantError(f"alternative {alt.name}: {gid!r} is not a solution cell")
        cells[gid].source = source.rstrip("\n")
    return nb


def as_submission(assignment: nbformat.NotebookNode, filled: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What a student hands in: the released notebook with the answer cells taken from
    ``filled`` (a solution, mutant or alternative)."""
    nb = copy.deepcopy(assignment)
    answers = {grade_id(c): c.source for c in filled.cells if is_solution(c)}
    for cell in nb.cells:
        if is_solution(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb
