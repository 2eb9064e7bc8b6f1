"""Stage 5 of the pipeline: the hidden tests' outcomes and the run of the notebook become one
:class:`~grader.results.GradeResult` (DESIGN.md §4)."""
from __future__ import annotations

from typing import Any

from ..course import ExerciseSpec
from ..results import GradeResult, Status, TestOutcome
from .execute import ExecutionReport, plain_error


def grade_result(spec: ExerciseSpec, student: str, tests: list[TestOutcome], *, status: Status,
                 reason: str | None, seconds: float, fingerprint: str, notebook_sha: str | None,
                 notes: list[str] | None = None, public: list[dict[str, Any]] | None = None,
                 execution: ExecutionReport | None = None,
                 isolation: dict[str, Any] | None = None) -> GradeResult:
    cells = []
    if execution is not None:
        cells = [{"index": c.index, "cell": c.label, "status": c.status, "error": c.ename,
                  "message": plain_error(c.evalue)} for c in execution.cells if c.status != "ok"]
    return GradeResult(exercise=spec.id, student=student, status=status, tests=tests, reason=reason,
                       seconds=seconds, fingerprint=fingerprint, notebook_sha256=notebook_sha,
                       notes=list(notes or []), public_checks=list(public or []), cells=cells,
                       isolation=isolation)


def status_of(execution: ExecutionReport) -> Status:
    """How the notebook's run ended, as a result status."""
    return Status.GRADED if execution.status == "ok" else Status(execution.status)
