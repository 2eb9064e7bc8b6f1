"""`grader release`: student notebooks from the reference notebooks, with nbgrader's
preprocessors (ClearSolutions, ClearHiddenTests, ClearOutput, LockCells, ComputeChecksums,
CheckCellMetadata), and the consistency check CI runs (`grader release --check`)."""
from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path
from typing import Any, Iterator

import nbformat

from ..course import ExerciseSpec
from ..errors import ReleaseError
from ..util import write_atomic

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"




def _preprocessors():
    from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearOutput,
                                        ClearSolutions, ComputeChecksums, LockCells)
    return [ClearSolutions(), ClearHiddenTests(), ClearOutput(), LockCells(), ComputeChecksums(),
            CheckCellMetadata()]


def student_version(solution: nbformat.NotebookNode, exercise_id: str) -> nbformat.NotebookNode:
    """The student notebook: solution regions become stubs (signatures and docstrings kept),
    hidden tests removed, outputs cleared, non-answer cells locked, checksums set."""
    nb = copy.deepcopy(solution)
    resources: dict = {}
    for pre in _preprocessors():
        try:
            nb, resources = pre.preprocess(nb, resources)
        except Exception as exc:  # noqa: BLE001 - nbgrader raises plain RuntimeError/ValueError
            raise ReleaseError(f"{exercise_id}: {type(pre).__name__}: {exc}") from None
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.execution_count = None
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("jupytext", None)  # the pairing is the instructor's: no .py beside students' notebooks
    nb.metadata["grader"] = {"exercise": exercise_id}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def expected_assignment(spec: ExerciseSpec) -> str:
    solution = nbformat.read(spec.solution, as_version=4)
    _check_solution(spec, solution)
    return render(student_version(solution, spec.id))


def _check_solution(spec: ExerciseSpec, nb: nbformat.NotebookNode) -> None:
    params = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(params) != 1:
        raise ReleaseError(f"{spec.solution.name}: needs exactly one cell tagged 'parameters' "
                           f"(found {len(params)})")
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    missing = [i for i, g in enumerate(ids) if not g]
    if missing:
        raise ReleaseError(f"{spec.solution.name}: cell {missing[0]} has no nbgrader grade_id "
                           "(every cell needs one)")
    dupes = {g for g in ids if ids.count(g) > 1}
    if dupes:
        raise ReleaseError(f"{spec.solution.name}: duplicate grade_id {sorted(dupes)[0]!r}")
    if not any(BEGIN_SOLUTION in c.source for c in nb.cells):
        raise ReleaseError(f"{spec.solution.name}: no '{BEGIN_SOLUTION}' region; nothing for students to do")


def release(spec: ExerciseSpec) -> bool:
    """Write assignments/<id>.ipynb; True when it changed."""
    text = expected_assignment(spec)
    if spec.assignment.is_file() and spec.assignment.read_text(encoding="utf-8") == text:
        return False
    write_atomic(spec.assignment, text)
    return True


def _solution_lines(nb: nbformat.NotebookNode) -> tuple[set[str], set[str]]:
    """(lines inside solution regions, lines everywhere else) of a solution notebook."""
    inside: set[str] = set()
    outside: set[str] = set()
    for cell in nb.cells:
        in_region = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if BEGIN_SOLUTION in stripped:
                in_region = True
                continue
            if END_SOLUTION in stripped:
                in_region = False
                continue
            (inside if in_region else outside).add(stripped)
    return inside, outside


def _meaningful(line: str, minimum: int) -> bool:
    return len(line) >= minimum and not line.startswith("#") and not re.fullmatch(r"[\W_]+", line)


def _code_key(line: str) -> str:
    """A code line compared by what it computes: probe code's ``_``-prefixed names are read
    without the prefix, and an assignment's target or a ``return`` is left out."""
    line = re.sub(r"(?<![\w.])_+(?=[A-Za-z])", "", line.strip())
    line = re.sub(r"^return\s+", "", line)
    return re.sub(r"^[A-Za-z]\w*(\s*,\s*[A-Za-z]\w*)*\s*=(?!=)\s*", "", line)


def _strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal of a module, f-strings by their literal parts."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            yield node.lineno, "".join(v.value for v in node.values
                                       if isinstance(v, ast.Constant) and isinstance(v.value, str))


def suite_leaks(spec: ExerciseSpec) -> list[str]:
    """Solution code the hidden suite would send into a student's kernel (DESIGN.md section 4):
    a string literal of the suite (probe code) with two or more lines, or one long line, that
    compute what lines of the solution regions compute. A test that isolates a function uses
    fakes that behave differently (grader.testing.with_fakes), never the reference's code.

    A tripwire for copied code, not a proof: a rewritten solution passes it. One short common
    line (``out._backward = _backward``, an ``itos`` inversion) is not a leak."""
    inside, outside = _solution_lines(nbformat.read(spec.solution, as_version=4))
    keys = {_code_key(line): line for line in inside - outside}
    keys = {k: v for k, v in keys.items() if _meaningful(k, 16)}
    problems = []
    for path in sorted(spec.tests_dir.rglob("*.py")) if spec.tests_dir.is_dir() else []:
        rel = path.relative_to(spec.course.root)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError as exc:
            problems.append(f"{rel} is not valid Python: {exc}")
            continue
        for lineno, text in _strings(tree):
            found = sorted({keys[k] for k in map(_code_key, text.splitlines()) if k in keys})
            if len(found) >= 2 or any(len(_code_key(line)) >= 40 for line in found):
                problems.append(f"{rel}:{lineno}: a string the suite may send to the student's kernel holds "
                                f"solution code: {'; '.join(repr(line) for line in found[:3])} (isolate the "
                                "function with fakes, grader.testing.with_fakes)")
    return problems


def paired_text(spec: ExerciseSpec) -> Path:
    """The solution as reviewable text: ``solutions/<id>.py`` in jupytext's percent format,
    paired with the notebook (edit either in Jupyter with jupytext, or run
    ``jupytext --sync solutions/<id>.ipynb``)."""
    return spec.solution.with_suffix(".py")


def _cell_key(cell: Any) -> tuple:
    meta = cell.get("metadata", {})
    return (cell.cell_type, cell.source.strip(), json.dumps(meta.get("nbgrader", {}), sort_keys=True),
            tuple(meta.get("tags", [])))


def check_pairing(spec: ExerciseSpec) -> list[str]:
    """The notebook and its text form say the same: every cell's type, source, nbgrader
    metadata and tags (empty list: they agree, or there is no text form)."""
    text = paired_text(spec)
    if not text.is_file():
        return []
    import jupytext
    rel = text.relative_to(spec.course.root)
    try:
        paired = jupytext.read(text, fmt="py:percent")
    except Exception as exc:  # noqa: BLE001 - jupytext raises several kinds
        return [f"{rel} cannot be read by jupytext ({exc})"]
    notebook = nbformat.read(spec.solution, as_version=4)
    ours, theirs = [_cell_key(c) for c in notebook.cells], [_cell_key(c) for c in paired.cells]
    if ours == theirs:
        return []
    where = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    gid = notebook.cells[where].metadata.get("nbgrader", {}).get("grade_id") if where < len(ours) else None
    return [f"{rel} and {spec.solution.relative_to(spec.course.root)} disagree (cell {where}"
            f"{f', {gid!r}' if gid else ''}); run `jupytext --sync {spec.solution.relative_to(spec.course.root)}`"]


def check_release(spec: ExerciseSpec) -> list[str]:
    """Problems that make assignments/<id>.ipynb unfit to hand out (empty list: all good)."""
    problems: list[str] = list(check_pairing(spec))
    rel = spec.assignment.relative_to(spec.course.root)
    if not spec.assignment.is_file():
        return [f"{rel} is missing (run `grader release {spec.id}`)"]
    text = spec.assignment.read_text(encoding="utf-8")
    try:
        if text != expected_assignment(spec):
            problems.append(f"{rel} is out of date with solutions/ (run `grader release {spec.id}`)")
    except ReleaseError as exc:
        problems.append(str(exc))
    released = nbformat.reads(text, as_version=4)
    released_lines = {line.strip() for c in released.cells for line in c.source.splitlines()}
    for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN):
        if marker in text:
            problems.append(f"{rel} contains the marker '{marker}'")
    solution = nbformat.read(spec.solution, as_version=4)
    inside, outside = _solution_lines(solution)
    leaked = sorted(line for line in inside - outside
                    if _meaningful(line, 12) and line in released_lines)
    if leaked:
        problems.append(f"{rel} contains solution text, e.g. {leaked[0]!r}")
    hidden: set[str] = set()
    for path in sorted(spec.tests_dir.rglob("*.py")) if spec.tests_dir.is_dir() else []:
        hidden.update(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    public = outside | inside
    leaked_tests = sorted(line for line in hidden - public
                          if _meaningful(line, 25) and line in released_lines)
    if leaked_tests:
        problems.append(f"{rel} contains hidden-test text, e.g. {leaked_tests[0]!r}")
    return problems + suite_leaks(spec)
