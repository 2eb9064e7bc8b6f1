"""`grader demo`: a small cohort of submissions built from an exercise's variants."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat

from ..course import ExerciseSpec
from .variants import apply_alternative, apply_mutant, as_submission, load_variants


def build_demo_cohort(spec: ExerciseSpec, target: Path, mutants: int = 4) -> dict[str, str]:
    """Write a small cohort of submissions for `grader demo`; returns student -> description."""
    target.mkdir(parents=True, exist_ok=True)
    solution = nbformat.read(spec.solution, as_version=4)
    assignment = nbformat.read(spec.assignment, as_version=4)
    variants = load_variants(spec)
    cohort: dict[str, str] = {}

    def put(student: str, nb: nbformat.NotebookNode, what: str) -> None:
        nbformat.write(nb, target / f"{student}.ipynb")
        cohort[student] = what

    put("ada", as_submission(assignment, solution), "correct (the reference answers)")
    for alt in variants.alternatives[:1]:
        put("grace", as_submission(assignment, apply_alternative(solution, alt)),
            f"correct, written differently ({alt.name})")
    names = ["alan", "edsger", "barbara", "donald", "john", "ken"]
    for name, mutant in zip(names, variants.mutants[:mutants]):
        put(name, as_submission(assignment, apply_mutant(solution, mutant)),
            f"partly wrong: {mutant.description or mutant.name}")
    put("linus", assignment, "handed in the untouched stub notebook")
    tampered = as_submission(assignment, solution)
    for cell in tampered.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source += "\nFAST = 'tampered'"
    put("margaret", tampered, "correct, but edited a locked cell (restored by the grader)")
    (target / "tim.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code"}]})[:-3],
                                      encoding="utf-8")
    cohort["tim"] = "broken: the file is not valid JSON"
    return cohort
