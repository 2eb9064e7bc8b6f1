"""The grader as a library: what scripts, notebooks and the benchmarks call.

    from grader.api import load_course, grade_batch, check_notebook
    course = load_course()
    summary = grade_batch(course.get("week02_autograd"), Path("submissions.zip"), Path("out"))

Everything here is also what the command line uses; the modules behind it may move, these
names will not.
"""
from __future__ import annotations

from .authoring.bundle import bundle
from .authoring.release import check_release, release
from .batch import BatchSummary, grade_batch, resolve_device
from .course import Course, ExerciseSpec, load_course
from .errors import GraderError
from .kernels.doctor import run_checks as doctor
from .pipeline.check import check_notebook
from .results import GradeResult, Status, TestOutcome

__all__ = ["BatchSummary", "Course", "ExerciseSpec", "GradeResult", "GraderError", "Status",
           "TestOutcome", "bundle", "check_notebook", "check_release", "doctor", "grade_batch",
           "load_course", "release", "resolve_device"]
