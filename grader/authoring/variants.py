"""Variants of a solution: mutants (plausible wrong solutions) and alternative correct
solutions, read from ``autograde_tests/<exercise>/variants.yaml``, and the submissions made from
them. Used by `grader demo`, the exercise contract tests and the benchmarks."""
from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Collection
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any

import nbformat
import yaml

from ..cells import grade_id, is_solution
from ..course import ExerciseSpec
from ..errors import GradingError, VariantError


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
    # tests that must NOT fail: a wrong helper costs its own points once, not again in a test of
    # a function that calls it (graded with fakes)
    must_pass: list[str] = field(default_factory=list)


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
                      bool(m.get("order_dependent", False)), list(m.get("must_pass", [])))
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
        found = cell.source.count(edit["find"])
        if found > 1 and "count" not in edit:
            raise VariantError(f"mutant {mutant.name}: text {edit['find']!r} occurs {found} times in cell "
                               f"{edit['cell']!r}: make `find` unique, or say `count: 1` (the first) or "
                               "`count: all` (update variants.yaml)")
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


def mutant_sample(exercise: str, mutants: list[Mutant], k: int | None) -> list[Mutant]:
    """``k`` of an exercise's hand-written mutants (all of them when ``k`` is None or not
    smaller), in file order. Stable: each mutant is ranked by a hash of the exercise's id and its
    name, so adding or editing one mutant never changes which of the others are drawn. The
    mutants marked ``order_dependent`` are always drawn (the contract's determinism check grades
    one of them twice)."""
    if k is None or k >= len(mutants):
        return list(mutants)
    rank = sorted(mutants, key=lambda m: (not m.order_dependent,
                                          hashlib.sha256(f"{exercise}:{m.name}".encode()).hexdigest()))
    keep = {m.name for m in rank[:max(k, sum(m.order_dependent for m in mutants))]}
    return [m for m in mutants if m.name in keep]


def write_cohort(spec: ExerciseSpec, target: Path, names: list[str] | None = None,
                 mutants: Collection[str] | None = None, *, correct_only: bool = False) -> dict[str, str]:
    """Write the variants cohort of an exercise under ``target``: the reference, the untouched
    student version, every mutant (``mutant_<name>``) and alternative (``alternative_<name>``)
    -- or, with ``names``, only the variants so named; with ``mutants``, only those mutants
    (the rest of the cohort in full); with ``correct_only``, only the versions expected at full
    marks (the reference and the alternatives). Returns student -> what is expected ("full",
    "zero" or "less")."""
    target.mkdir(parents=True, exist_ok=True)
    solution = nbformat.read(spec.solution, as_version=4)
    assignment = nbformat.read(spec.assignment, as_version=4)
    variants = load_variants(spec)
    known = {m.name for m in variants.mutants} | {a.name for a in variants.alternatives}
    unknown = sorted((set(names or ()) | set(mutants or ())) - known)
    if unknown:
        raise VariantError(f"no variant named {', '.join(unknown)} in {spec.tests_dir / 'variants.yaml'}")
    wanted = (lambda name: name in names) if names else (lambda name: True)
    expect: dict[str, str] = {}

    def put(student: str, nb: nbformat.NotebookNode, expected: str) -> None:
        nbformat.write(nb, target / f"{student}.ipynb")
        expect[student] = expected

    if not names:
        put("reference", as_submission(assignment, solution), "full")
        if not correct_only:
            put("student_version", assignment, "zero")
    for mutant in variants.mutants:
        if wanted(mutant.name) and (mutants is None or mutant.name in mutants) and not correct_only:
            put(f"mutant_{mutant.name}", as_submission(assignment, apply_mutant(solution, mutant)), "less")
    for alt in variants.alternatives:
        if wanted(alt.name):
            put(f"alternative_{alt.name}", as_submission(assignment, apply_alternative(solution, alt)), "full")
    return expect


def cohort_problems(spec: ExerciseSpec, expect: dict[str, str], results: dict[str, dict]) -> list[str]:
    """What is wrong with a graded variants cohort: a mutant at full marks, without its
    ``must_fail`` tests failing or with one of its ``must_pass`` tests failing, an alternative or
    the reference below full marks, the student version above zero."""
    mutants = {f"mutant_{m.name}": m for m in load_variants(spec).mutants}
    problems = []
    for student, expected in sorted(expect.items()):
        res = results[student]
        score, top = res["score"], res["extra_data"]["max_score"]
        failing = {t["id"] for t in res["tests"] if t["status"] != "passed"}
        if expected == "full" and score < top:
            problems.append(f"{student}: {score:g}/{top:g}, expected full marks (failed: {', '.join(sorted(failing))})")
        elif expected == "zero" and score > 0:
            problems.append(f"{student}: {score:g}/{top:g}, expected 0")
        elif expected == "less":
            if score >= top:
                problems.append(f"{student}: earned full marks")
            mutant = mutants.get(student)
            missing = [t for t in (mutant.must_fail if mutant else []) if t not in failing]
            if missing:
                problems.append(f"{student}: expected {', '.join(missing)} to fail")
            spilled = [t for t in (mutant.must_pass if mutant else []) if t in failing]
            if spilled:
                problems.append(f"{student}: expected {', '.join(spilled)} to pass (the bug costs its own points once)")
    return problems


def sweep_seeds(count: int, start: int, first: int | None = None) -> list[int]:
    """The ``count`` grading seeds a sweep tries besides ``start`` (the course's): the next ones,
    the same every time (inputs drawn from neighbouring seeds are as unrelated as any); or, with
    ``first``, ``count`` seeds from that one on (to go on past seeds already swept)."""
    begin = start + 1 if first is None else first
    return [begin + k for k in range(count)]


def grade_under_seeds(spec: ExerciseSpec, expect: dict[str, str], submissions: Path, out: Path,
                      seeds: list[int], grade: Callable[[ExerciseSpec, Path, Path], Any]
                      ) -> dict[str, dict[int, dict[str, str]]]:
    """Grade the versions expected at full marks (the reference and the alternatives) once per
    grading seed in ``seeds`` with ``grade(spec, folder, out)`` (a batch; returns its summary),
    and return test -> seed -> version -> the first line of its message, for every test that
    failed a correct version. A hidden test whose inputs come from the grading seed must not
    fail a correct solution for some seeds (a training run that stalls on some data, a
    tolerance one draw exceeds): the course's seed is not the only one a term will use."""
    full = sorted(student for student, expected in expect.items() if expected == "full")
    folder = out / "submissions"
    folder.mkdir(parents=True, exist_ok=True)
    for student in full:
        (folder / f"{student}.ipynb").write_bytes((submissions / f"{student}.ipynb").read_bytes())
    failures: dict[str, dict[int, dict[str, str]]] = {}
    for seed in seeds:
        other = copy.copy(spec)
        other.seed = seed
        try:
            summary = grade(other, folder, out / f"seed-{seed}")
        except GradingError as exc:  # the reference itself lost points (or could not run): nothing graded
            failures.setdefault("(the reference, before grading)", {}).setdefault(seed, {})["reference"] = str(exc)[:300]
            continue
        for student in full:
            for test in summary.results[student]["tests"]:
                if test["status"] != "passed":
                    first = (test.get("output") or test["status"]).strip().splitlines()
                    failures.setdefault(test["id"], {}).setdefault(seed, {})[student] = (first[0] if first else "")[:200]
    return failures
