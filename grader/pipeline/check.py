"""`grader check`: what a student runs before handing in a notebook.

The notebook runs as the grader runs it (locked cells restored, parameters injected, a fresh
sandboxed kernel, the exercise's time limits) and the public checks are reported. No hidden test,
reference or grading seed is involved, so this module needs only what the student kit installs:
no gradebook, no feedback pages, no pytest. On macOS and Windows, where the sandbox does not
exist, the notebook runs in a plain kernel and the report says so (nothing is graded here).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..course import Course, ExerciseSpec
from ..data import kernel_files
from ..errors import CourseError
from ..kernels.live import LiveKernel
from ..kernels.spec import default_sandbox, limits_for
from .execute import ExecutionReport, execute, public_check_results
from .parameterize import parameterize
from .sanitize import InvalidNotebook, other_exercise, read_notebook, restore_locked_cells


@dataclass
class CheckReport:
    checks: list[dict] = field(default_factory=list)
    execution: ExecutionReport | None = None
    notes: list[str] = field(default_factory=list)
    invalid: str | None = None      # the file cannot be run as a notebook (why)
    sandboxed: bool = True
    isolation: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (self.invalid is None and self.execution is not None and self.execution.status == "ok"
                and all(c["status"] == "passed" for c in self.checks))


def exercise_for(course: Course, path: Path, exercise: str | None = None) -> tuple[ExerciseSpec | None, str | None]:
    """The exercise a notebook belongs to: ``exercise`` if given, else the id the release wrote
    into its metadata, else its file name. Returns (spec, None), or (None, why the file cannot
    be read as a notebook)."""
    if path.is_dir():
        raise CourseError(f"{path} is a folder; give the notebook file (e.g. {path}/week02_autograd.ipynb)")
    if not path.is_file():
        raise CourseError(f"{path} does not exist")
    try:
        nb = read_notebook(path)
    except InvalidNotebook as exc:
        if exercise is None:
            return None, str(exc)
        nb = None
    if exercise is None:
        exercise = (nb.metadata.get("grader", {}) or {}).get("exercise") if nb is not None else None
    if exercise is None:
        if path.stem not in course.exercises:
            known = ", ".join(course.exercises) or "none"
            raise CourseError(f"cannot tell which exercise {path.name} is (no exercise id in its metadata); "
                              f"pass --exercise ID (course.yaml lists: {known})")
        exercise = path.stem
    return course.get(exercise), None


def shipped_data(spec: ExerciseSpec, notebook: Path) -> dict[str, Path]:
    """The exercise's data files: those shipped next to the notebook (the student bundle puts
    them in ``assignments/data/``), else the grader's own copies."""
    from ..data.datasets import registry
    shipped = {f"data/{registry()[name].filename}": notebook.parent / "data" / registry()[name].filename
               for name in spec.datasets}
    if all(path.is_file() for path in shipped.values()):
        return shipped
    return kernel_files(spec.datasets)


def check_notebook(spec: ExerciseSpec, path: Path, device: str = "cpu") -> CheckReport:
    """Execute the notebook with the grading engine and report its public checks."""
    try:
        submitted = read_notebook(path)
    except InvalidNotebook as exc:
        return CheckReport(invalid=str(exc))
    release = read_notebook(spec.assignment)
    problem = other_exercise(submitted, spec.id, release)
    if problem:
        return CheckReport(invalid=problem)
    sanitized = restore_locked_cells(submitted, release)
    nb = parameterize(sanitized.nb, spec.grading_parameters(device))
    with LiveKernel(limits_for(spec), device=device, seed=spec.kernel_seed,
                    files=shipped_data(spec, path), label="check",
                    sandbox=default_sandbox(spec, path.resolve())) as kernel:
        kernel.start(nb)
        execution = execute(kernel, nb)
        isolation = kernel.isolation
    return CheckReport(public_check_results(nb), execution, sanitized.notes,
                       sandboxed=not kernel.plain, isolation=isolation)
