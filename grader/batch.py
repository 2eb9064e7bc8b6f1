"""A batch: discover -> resume -> reference -> backend -> outputs.

:func:`grade_batch` finds the submissions (nothing is written under OUT before there are some),
claims the output folder for the exercise, reuses every result whose notebook and settings are
unchanged, runs the reference once, hands the rest to a backend (:mod:`grader.backends`) and
writes every result through the outputs (:mod:`grader.outputs`) as it comes. Student code only
ever runs in sandboxed kernels; this process and the workers run the hidden tests and compare
plain data.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from . import backends
from .course import ExerciseSpec
from .errors import ContainerError, GradingError
from .kernels.container import Container
from .kernels.gpus import off_gpus, visible_gpus
from .kernels.spec import default_sandbox
from .outputs import Outputs
from .outputs.feedback import page_context
from .pipeline.discover import Submission, discover
from .pipeline.fingerprint import exercise_fingerprint, submission_fingerprint
from .pipeline.reference import Reference, prepare_reference, reference_state_path
from .results import GradeResult, Graded, Status, TestOutcome
from .util import private_dir, write_atomic

log = logging.getLogger(__name__)


def resolve_device(requested: str | None, spec: ExerciseSpec) -> str:
    device = requested or spec.device
    if device == "auto":
        device = "cuda" if visible_gpus() else "cpu"
    elif device == "cuda" and not visible_gpus():
        raise GradingError("--device cuda was asked for, but no GPU is visible (nvidia-smi finds "
                           "none; set GRADER_GPUS=0,1,... to name them, or use --device cpu)")
    return device


@dataclass
class BatchSummary:
    exercise: str
    out: Path
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # as in results/<student>.json
    grades: dict[str, GradeResult] = field(default_factory=dict)
    reused: int = 0
    graded: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    writing_seconds: float = 0.0  # results, gradebook, CSV and feedback files, all submissions


OWNER_FILE = ".grader/exercise"  # under OUT: the one exercise whose grades the folder holds


def claim_output(out: Path, exercise: str) -> None:
    """An output folder holds the grades of one exercise: grading another exercise into it is
    refused (it would replace every student's grade). Folders from before the marker existed
    are recognised by their results."""
    marker = out / OWNER_FILE
    owner = marker.read_text(encoding="utf-8").strip() if marker.is_file() else None
    if owner is None:
        for path in sorted((out / "results").glob("*.json"))[:50] if (out / "results").is_dir() else []:
            try:
                owner = json.loads(path.read_text(encoding="utf-8"))["extra_data"]["exercise"]
                break
            except (OSError, ValueError, KeyError, TypeError):
                continue
    if owner is not None and owner != exercise:
        raise GradingError(f"{out} holds the grades of {owner}; grading {exercise} into it would "
                           f"replace them: give another --out folder (e.g. grading/{exercise})")
    if owner is None or not marker.is_file():
        write_atomic(marker, f"{exercise}\n")


@off_gpus  # the graders' own torch stays off the GPUs (see keep_grader_off_gpus)
def grade_batch(spec: ExerciseSpec, source: Path, out: Path, *, workers: int = 1,
                device: str | None = None, force: bool = False,
                progress: Callable[[int], Any] | None = None,
                on_result: Callable[[str, dict], Any] | None = None,
                on_total: Callable[[int], Any] | None = None,
                gradebook_url: str | None = None, backend: str = "local",
                ray_address: str | None = None, container: Container | None = None,
                roster: dict[str, str] | None = None,
                extensions: dict[str, datetime] | None = None) -> BatchSummary:
    """Grade every submission under ``source`` into ``out``.

    ``workers`` graders run at once (``backend="local"``: this process and ``workers - 1``
    worker processes, which warm up while this process runs the reference). ``container``: run
    every kernel in a podman/docker container too. ``roster`` maps LMS ids to student ids and
    ``extensions`` gives students their own deadlines (:mod:`grader.lms`)."""
    started = time.monotonic()
    device = resolve_device(device, spec)
    if container is not None:
        try:
            container.ready(device)
        except ContainerError as exc:
            raise GradingError(str(exc)) from None
    runner = backends.get(backend)
    out = Path(out)
    workspace = private_dir("batch")
    try:  # nothing is written under OUT before the submissions are found
        submissions, warnings = discover(source, spec.id, workspace, roster)
        if not submissions:
            skipped = f" ({'; '.join(warnings[:3])})" if warnings else ""
            raise GradingError(f"no submissions found in {source}: expected <student>.ipynb files, "
                               f"<student>/ folders holding a notebook, or zip files{skipped}")
        claim_output(out, spec.id)
        keep_history(out, submissions)
    except BaseException:
        shutil.rmtree(workspace, ignore_errors=True)
        raise
    outputs = Outputs(out, spec.id, gradebook_url, context=page_context(spec))
    summary = BatchSummary(spec.id, out, warnings=warnings)
    reference: Reference | None = None
    try:
        if on_total:
            on_total(len(submissions))
        exercise_fp = exercise_fingerprint(spec, device)
        hidden = [Path(source).resolve(), out.resolve(), workspace]
        if gradebook_url and "://" not in gradebook_url:
            hidden.append(Path(gradebook_url).resolve().parent)
        job = backends.GradeJob(spec, device, exercise_fp, default_sandbox(spec, *hidden, container=container),
                                hidden, container, workers, ray_address)

        def keep(result: GradeResult) -> None:
            summary.grades[result.student] = result
            summary.results[result.student] = result.to_gradescope()

        todo: list[Submission] = []
        for sub in submissions:
            previous = None if force else unchanged(outputs, exercise_fp, sub)
            if previous is not None:
                keep(previous)
                summary.reused += 1
                outputs.reuse(previous)
                if progress:
                    progress(1)
                continue
            todo.append(sub)
        log.info("%s: %d submissions, %d to grade, %d unchanged", spec.id, len(submissions),
                 len(todo), summary.reused)
        runner.start(job, todo)
        reference, job.catalog = prepare_reference(spec, device, out, exercise_fp, sandbox=job.sandbox)
        if device == "cuda":
            reference.close()  # its answers are cached; free the GPU for the students' kernels
        job.reference, job.state_path = reference, reference_state_path(out, exercise_fp)

        by_student = {sub.student: sub for sub in submissions}

        def finish(graded: Graded) -> None:
            late = _with_late_penalty(spec, graded.result, by_student.get(graded.result.student), extensions or {})
            writing = time.monotonic()
            keep(outputs.record(graded, late))
            summary.writing_seconds += time.monotonic() - writing
            summary.graded += 1
            if on_result:
                on_result(graded.result.student, summary.results[graded.result.student])
            if progress:
                progress(1)

        runner.run(job, todo, finish)
    finally:
        try:
            runner.close()
            if reference is not None:
                reference.close()
            outputs.close()
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
    summary.seconds = time.monotonic() - started
    return summary


def keep_history(out: Path, submissions: list[Submission]) -> None:
    """A student's earlier submissions (an LMS keeps them) are kept under OUT/history/, not graded."""
    for sub in submissions:
        for i, path in enumerate(sub.superseded or []):
            keep_as = out / "history" / sub.student / f"{i + 1}-{path.name}"
            keep_as.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, keep_as)


def unchanged(outputs: Outputs, exercise_fp: str, sub: Submission) -> GradeResult | None:
    """The result an earlier run wrote for ``sub`` when it still stands: the same notebook and
    settings, and not an internal error."""
    previous = outputs.existing(sub.student)
    if (previous is not None and previous.status != Status.ERROR
            and previous.fingerprint == submission_fingerprint(exercise_fp, sub)):
        return previous
    return None


def _with_late_penalty(spec: ExerciseSpec, result: GradeResult, sub: Submission | None,
                       extensions: dict[str, datetime]) -> GradeResult:
    """The exercise's late policy applied: a row "Late penalty" that takes its points off."""
    from dataclasses import replace

    from .lms import late_penalty
    if spec.late is None or sub is None or result.status == Status.INVALID:
        return result
    penalty = late_penalty(spec.late, sub.handed_in, extensions.get(result.student), sub.lms_late)
    if penalty is None:
        return result
    earned = sum(t.score for t in result.tests if t.id != "late_penalty")
    row = TestOutcome(id="late_penalty", name="Late penalty", max_score=0.0, score=-round(penalty.fraction * earned, 4),
                      status="passed", message=penalty.text)
    return replace(result, tests=[t for t in result.tests if t.id != "late_penalty"] + [row],
                   notes=[*result.notes, penalty.text])


__all__ = ["grade_batch", "GradingError", "BatchSummary", "resolve_device", "claim_output", "keep_history",
           "unchanged"]
