"""Grades changed by hand: ``grader override`` (a written answer graded, a regrade request).

An override is kept in the gradebook with who, when and why (table ``overrides``), and applied
to the student's result everywhere the result goes: ``results/<student>.json``, the gradebook
row, the feedback page, ``grades.csv``, the class report and every export. A later re-grade of
the student applies it again (:class:`grader.outputs.Outputs`), so grading never silently undoes
a TA's decision; the grade it replaces goes to the gradebook's history as usual.
"""
from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

from ..errors import GraderError
from ..results import GradeResult, Graded
from ..util import fmt_points


def who() -> str:
    try:
        return os.environ.get("GRADER_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _result(out: Path, student: str) -> GradeResult:
    path = out / "results" / f"{student}.json"
    if not path.is_file():
        known = sorted(p.stem for p in (out / "results").glob("*.json")) if (out / "results").is_dir() else []
        raise GraderError(f"{out} has no result for {student!r}"
                          + (f" (it has: {', '.join(known[:8])}{' ...' if len(known) > 8 else ''})" if known else
                             " (no results/ folder: grade into it first)"))
    return GradeResult.from_gradescope(json.loads(path.read_text(encoding="utf-8")))


def override(out: Path, student: str, test: str | None, points: float, reason: str, *,
             gradebook_url: str | None = None, by: str | None = None,
             context: dict[str, str] | None = None) -> GradeResult:
    """Record an override and apply it to every output of ``out``; returns the new result."""
    out = Path(out)
    result = _result(out, student)
    if not reason.strip():
        raise GraderError("--reason is required: say why the grade changes (the student sees it)")
    if test:
        match = next((t for t in result.tests if t.id == test), None)
        if match is None:
            raise GraderError(f"{result.exercise} has no test {test!r} (its tests: "
                              f"{', '.join(t.id for t in result.tests if t.id != 'manual_adjustment')})")
        if not 0 <= points <= match.max_score:
            raise GraderError(f"{test} is worth {fmt_points(match.max_score)} points: --points must be between 0 "
                              f"and {fmt_points(match.max_score)}, got {fmt_points(points)}")
    from . import Outputs, report
    outputs = Outputs(out, result.exercise, gradebook_url, names=["feedback", "gradebook", "results", "csv"],
                      context=context)
    try:
        outputs.gradebook.add_override(result.exercise, student, test or "", points, reason.strip(), by or who())
        executed = out / "executed" / f"{student}.ipynb"
        text = executed.read_text(encoding="utf-8") if executed.is_file() else None
        result = outputs.record(Graded(result, text, html=""))   # the override applied, every output written
    finally:
        outputs.close()
    if (out / "report.html").is_file():
        report.write(out)
    return result
