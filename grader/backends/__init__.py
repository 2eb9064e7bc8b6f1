"""Where the submissions of a batch are graded: a registry of backends.

Every backend gets the same :class:`GradeJob` (the exercise, the device, the sandbox, and once
the reference is ready its answers) and calls ``finish`` with each :class:`~grader.results.Graded`
submission; the grading itself is always :class:`grader.pipeline.grader.Grader`. Built in:

- ``local``: this process and ``workers - 1`` forked worker processes (:mod:`.local`);
- ``ray``: one Ray task per submission on a cluster (:mod:`.ray`).

A new backend is a module with a class that has ``start``, ``run`` and ``close`` and one
:func:`register` call; the command line offers every registered name for ``--backend``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

from ..errors import GradingError

if TYPE_CHECKING:
    from ..course import ExerciseSpec
    from ..kernels.container import Container
    from ..kernels.sandbox import Sandbox
    from ..pipeline.discover import Submission
    from ..pipeline.reference import Catalog, Reference
    from ..results import Graded


@dataclass
class GradeJob:
    """What a backend needs to grade one batch's submissions."""
    spec: "ExerciseSpec"
    device: str
    exercise_fp: str
    sandbox: "Sandbox"                      # every kernel's (the batch's folders hidden too)
    hidden: list[Path] = field(default_factory=list)
    container: "Container | None" = None
    workers: int = 1
    address: str | None = None              # a cluster to join (ray)
    # set once the reference has run (before ``run``)
    reference: "Reference | None" = None
    catalog: "Catalog | None" = None
    state_path: Path | None = None          # the reference's answers on disk (OUT/.grader/)


class Backend(Protocol):
    def start(self, job: GradeJob, todo: list["Submission"]) -> None:
        """Get ready while the reference runs (no answers yet)."""

    def run(self, job: GradeJob, todo: list["Submission"],
            finish: Callable[["Graded"], None]) -> None:
        """Grade every submission of ``todo``; ``finish`` each as it comes."""

    def close(self) -> None: ...


_BACKENDS: dict[str, str] = {}  # name -> "module:Class", imported when used


def register(name: str, target: str) -> None:
    """``target``: ``"package.module:Class"`` (imported only when the backend is used)."""
    _BACKENDS[name] = target


def names() -> list[str]:
    return list(_BACKENDS)


def get(name: str) -> Backend:
    try:
        module, cls = _BACKENDS[name].split(":")
    except KeyError:
        raise GradingError(f"unknown backend {name!r} (known: {', '.join(_BACKENDS)})") from None
    return getattr(importlib.import_module(module), cls)()


register("local", "grader.backends.local:LocalBackend")
register("ray", "grader.backends.ray:RayBackend")


def crashed(job: GradeJob, sub: "Submission", exc: BaseException) -> "Graded":
    """The result of a submission whose grading process was lost (a worker killed by the OS, a
    Ray node gone): an error result, which the next run grades again."""
    from ..outputs.feedback import feedback_html, page_context
    from ..pipeline.fingerprint import submission_fingerprint
    from ..pipeline.reference import Catalog, outcomes_from_catalog
    from ..pipeline.score import grade_result
    from ..results import Graded, Status
    reason = f"the grading worker stopped unexpectedly ({type(exc).__name__}); please report it"
    tests = outcomes_from_catalog(job.catalog or Catalog([]), f"not graded: {reason}")
    result = grade_result(job.spec, sub.student, tests, status=Status.ERROR, reason=reason,
                          seconds=0.0, fingerprint=submission_fingerprint(job.exercise_fp, sub),
                          notebook_sha=None)
    return Graded(result, None, feedback_html(None, result, page_context(job.spec)))
