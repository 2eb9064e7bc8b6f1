"""A whole term in one pool: several exercises' submissions, one scheduler, one gradebook.

``SOURCE`` holds one entry per exercise, named by the exercise's id: a folder laid out as
`grader grade` takes it (``<student>.ipynb`` files or ``<student>/`` folders) or a zip (an LMS
export), e.g. ``SOURCE/week02_autograd/`` and ``SOURCE/week03_water_mlp.zip``. Each exercise's
outputs go to ``OUT/<exercise>/`` exactly as `grader grade` writes them; every result also goes
into one gradebook (``OUT/gradebook.sqlite`` unless ``gradebook_url`` names another).

What it saves over grading the exercises one after another: the worker processes start once
for the term (not once per exercise), and each exercise's reference runs while the workers
grade the previous exercise's submissions, so no core waits for a reference. The submissions
are queued exercise by exercise, so a worker switches exercise (closing the previous one's
kernels) at most once per exercise. Local process pool only: the Ray backend grades one
exercise per `grader grade` run.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from .backends import GradeJob, crashed
from .backends.local import SharedWork, close_grader, worker_started
from .batch import BatchSummary, _with_late_penalty, claim_output, keep_history, resolve_device, unchanged
from .course import Course, ExerciseSpec
from .errors import GradingError
from .kernels import forkserver
from .kernels.gpus import off_gpus
from .kernels.spec import default_sandbox
from .outputs import Outputs
from .outputs.feedback import page_context
from .pipeline.discover import Submission, discover
from .pipeline.fingerprint import exercise_fingerprint
from .pipeline.grader import Grader
from .pipeline.reference import Catalog, Reference, prepare_reference, reference_state_path
from .results import GradeResult, Graded
from .util import private_dir

log = logging.getLogger(__name__)


@dataclass
class TermSummary:
    batches: dict[str, BatchSummary] = field(default_factory=dict)   # by exercise, course order
    warnings: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)   # exercise -> why none of it was graded
    seconds: float = 0.0


def find_exercises(course: Course, source: Path) -> tuple[dict[str, Path], list[str]]:
    """``{exercise id: its folder or zip}`` under ``source``, in course order; warnings for
    entries that name no exercise of the course."""
    source = Path(source)
    if not source.is_dir():
        raise GradingError(f"{source} is not a folder: grader grade-term takes a folder holding one "
                           "folder or zip per exercise, named by the exercise's id")
    found: dict[str, Path] = {}
    warnings: list[str] = []
    for entry in sorted(source.iterdir()):
        if entry.name.startswith("."):
            continue
        name = entry.stem if entry.is_file() and entry.suffix.lower() == ".zip" else entry.name
        if (entry.is_dir() or entry.suffix.lower() == ".zip") and name in course.exercises:
            if name in found:
                raise GradingError(f"{source} holds both {found[name].name} and {entry.name} for {name}")
            found[name] = entry
        else:
            warnings.append(f"skipped {entry.name}: not a folder or zip named after an exercise of the course")
    ordered = {ex: found[ex] for ex in course.exercises if ex in found}
    return ordered, warnings


@dataclass
class _Exercise:
    spec: ExerciseSpec
    device: str
    out: Path
    outputs: Outputs | None
    summary: BatchSummary
    exercise_fp: str
    submissions: dict[str, Submission]
    todo: list[Submission]
    state_path: Path | None = None


@off_gpus  # the graders' own torch stays off the GPUs (see keep_grader_off_gpus)
def grade_term(course: Course, source: Path, out: Path, *, workers: int = 1, device: str | None = None,
               force: bool = False, progress: Callable[[int], Any] | None = None,
               on_total: Callable[[int], Any] | None = None,
               on_result: Callable[[str, str, dict], Any] | None = None,
               gradebook_url: str | None = None,
               extensions: dict[str, datetime] | None = None) -> TermSummary:
    """Grade every exercise's submissions under ``source`` into ``out/<exercise>/``, in one
    process pool (this process and ``workers - 1`` workers)."""
    started = time.monotonic()
    out = Path(out)
    sources, warnings = find_exercises(course, Path(source))
    if not sources:
        raise GradingError(f"no exercise's submissions found in {source}: expected folders or zips "
                           f"named after exercises ({', '.join(list(course.exercises)[:3])}, ...)")
    summary = TermSummary(warnings=warnings)
    workspace = private_dir("term")
    book = gradebook_url or str(out / "gradebook.sqlite")
    hidden = [Path(source).resolve(), out.resolve(), workspace]
    if "://" not in book:
        hidden.append(Path(book).resolve().parent)
    plan: list[_Exercise] = []
    pool: ProcessPoolExecutor | None = None
    graders: dict[str, Grader] = {}
    try:
        for exercise, where in sources.items():   # nothing is written before all are found
            spec = course.get(exercise)
            subs, found_warnings = discover(where, spec.id, workspace / exercise, None)
            summary.warnings += [f"{exercise}: {w}" for w in found_warnings]
            if not subs:
                summary.warnings.append(f"{exercise}: no submissions in {where.name}")
                continue
            plan.append(_Exercise(spec, resolve_device(device, spec), out / exercise, None,
                                  BatchSummary(exercise, out / exercise), "", {s.student: s for s in subs}, []))
        if not plan:
            raise GradingError(f"no submissions found in {source}")
        out.mkdir(parents=True, exist_ok=True)
        for ex in plan:
            claim_output(ex.out, ex.spec.id)
            ex.outputs = Outputs(ex.out, ex.spec.id, book, context=page_context(ex.spec))
            ex.exercise_fp = exercise_fingerprint(ex.spec, ex.device)
            keep_history(ex.out, list(ex.submissions.values()))
            for sub in ex.submissions.values():
                previous = None if force else unchanged(ex.outputs, ex.exercise_fp, sub)
                if previous is not None:
                    _keep(ex, previous)
                    ex.summary.reused += 1
                    ex.outputs.reuse(previous)
                    if progress:
                        progress(1)
                else:
                    ex.todo.append(sub)
        if on_total:
            on_total(sum(len(ex.submissions) for ex in plan))
        by_id = {ex.spec.id: ex for ex in plan}

        def finish(graded: Graded) -> None:
            ex = by_id[graded.result.exercise]
            late = _with_late_penalty(ex.spec, graded.result, ex.submissions.get(graded.result.student),
                                      extensions or {})
            assert ex.outputs is not None
            _keep(ex, ex.outputs.record(graded, late))
            ex.summary.graded += 1
            if on_result:
                on_result(ex.spec.id, graded.result.student, ex.summary.results[graded.result.student])
            if progress:
                progress(1)

        todo_total = sum(len(ex.todo) for ex in plan)
        helpers = min(workers, todo_total) - 1
        if helpers > 0:
            pool = _start_pool(plan, hidden, helpers)
        summary.failed = _schedule(plan, pool, helpers, graders, hidden, finish)
    finally:
        try:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
                forkserver.children_done()  # (as a batch's pool does: its servers may be closed again)
            for grader in graders.values():
                close_grader(grader)
            for ex in plan:
                if ex.outputs is not None:
                    ex.outputs.close()
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
    summary.batches = {ex.spec.id: ex.summary for ex in plan}
    summary.seconds = time.monotonic() - started
    for ex in plan:
        ex.summary.seconds = summary.seconds
    return summary


def _keep(ex: _Exercise, result: GradeResult) -> None:
    ex.summary.grades[result.student] = result
    ex.summary.results[result.student] = result.to_gradescope()


def _start_pool(plan: list[_Exercise], hidden: list[Path], helpers: int) -> ProcessPoolExecutor:
    import multiprocessing
    # the first exercise's fork server and the hidden tests' imports, before forking: the
    # workers inherit both
    first = next(ex for ex in plan if ex.todo)
    Grader(first.spec, first.device, None, Catalog([]), first.exercise_fp, default_sandbox(first.spec, *hidden)).prepare()
    methods = multiprocessing.get_all_start_methods()
    pool = ProcessPoolExecutor(
        max_workers=helpers, mp_context=multiprocessing.get_context("fork" if "fork" in methods else "spawn"),
        initializer=_init_worker,
        initargs=({ex.spec.id: (ex.spec, ex.device, ex.exercise_fp) for ex in plan}, [str(p) for p in hidden]))
    for _ in range(helpers):
        pool.submit(os.getpid)   # start the processes now, not at the first task
    return pool


def _schedule(plan: list[_Exercise], pool: ProcessPoolExecutor | None, helpers: int,
              graders: dict[str, Grader], hidden: list[Path], finish: Callable[[Graded], None]) -> dict[str, str]:
    """References one after another in this process while the workers grade what is ready;
    then this process grades too (from the back of the queue, the workers from the front).
    An exercise whose reference cannot run (or misses full marks) is left ungraded, the others
    go on; returns ``{exercise: why}`` for those."""
    failed: dict[str, str] = {}

    def submit(pool: ProcessPoolExecutor, item: tuple[_Exercise, Submission]) -> Future:
        ex, sub = item
        return pool.submit(_grade_in_worker, ex.spec.id, str(ex.state_path), sub.student,
                           str(sub.path) if sub.path else None, sub.problem)

    work: SharedWork[tuple[_Exercise, Submission]] = SharedWork(
        pool, submit, lambda item, exc: crashed(_job(item[0]), item[1], exc), finish,
        lambda item: f"{item[0].spec.id}/{item[1].student}")
    for ex in plan:
        if not ex.todo:
            continue
        try:
            reference, _ = prepare_reference(ex.spec, ex.device, ex.out, ex.exercise_fp,
                                             sandbox=default_sandbox(ex.spec, *hidden))
        except GradingError as exc:
            log.error("%s is not graded: %s", ex.spec.id, exc)
            failed[ex.spec.id] = str(exc)
            continue
        reference.close()   # its answers are saved; a cache miss starts a reference kernel again
        ex.state_path = reference_state_path(ex.out, ex.exercise_fp)
        work.remaining.extend((ex, sub) for sub in ex.todo)
        # while the next reference runs here, the workers must not run dry: queue all that is ready
        work.collect(0)
        work.top_up(len(work.remaining) + len(work.in_flight))
    # every reference is ready: this process grades too, and takes back what the workers have
    # not started beyond two each, so the tail is shared
    work.take_back(2 * helpers)
    states: dict[str, str] = {}

    def grade_here(item: tuple[_Exercise, Submission]) -> Graded:
        ex, sub = item
        return _grader_for(graders, states, ex.spec, ex.device, ex.exercise_fp, hidden,
                           str(ex.state_path)).grade(sub)

    work.drain(grade_here, 2 * helpers)
    return failed


def _job(ex: _Exercise) -> GradeJob:
    return GradeJob(ex.spec, ex.device, ex.exercise_fp, default_sandbox(ex.spec))


def _grader_for(graders: dict[str, Grader], states: dict[str, str], spec: ExerciseSpec, device: str,
                exercise_fp: str, hidden: list[Path], state_path: str) -> Grader:
    """A process's grader for ``spec``, with the reference's answers saved at ``state_path``;
    one exercise at a time (another exercise's kernels are closed first)."""
    grader = graders.get(spec.id)
    if grader is None:
        for other in list(graders):
            close_grader(graders.pop(other))
            states.pop(other, None)
        grader = graders[spec.id] = Grader(spec, device, None, Catalog([]), exercise_fp,
                                           default_sandbox(spec, *hidden))
    if states.get(spec.id) != state_path:
        state = json.loads(Path(state_path).read_text())
        grader.use_reference(Reference(spec, device, state["answers"], grader.sandbox), Catalog(state["catalog"]))
        states[spec.id] = state_path
    grader.warm()
    return grader


# ------------------------------------------------------------------------------ worker side
_WORKER: dict[str, Any] = {}


def _init_worker(exercises: dict[str, tuple[ExerciseSpec, str, str]], hidden: list[str]) -> None:
    """``exercises``: id -> (the term's spec, device, fingerprint); the specs are the term's own,
    not the course read again from disk."""
    _WORKER.update(graders={}, states={})

    def cleanup() -> None:
        for grader in _WORKER["graders"].values():
            close_grader(grader)

    worker_started(cleanup)
    _WORKER.update(exercises=exercises, hidden=[Path(p) for p in hidden])


def _grade_in_worker(exercise: str, state_path: str, student: str, path: str | None,
                     problem: str | None) -> Graded:
    spec, device, exercise_fp = _WORKER["exercises"][exercise]
    grader = _grader_for(_WORKER["graders"], _WORKER["states"], spec, device, exercise_fp, _WORKER["hidden"],
                         state_path)
    return grader.grade(Submission(student, Path(path) if path else None, problem))


__all__ = ["grade_term", "find_exercises", "TermSummary"]
