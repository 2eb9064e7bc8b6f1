"""The grading engine: sanitize -> parameterize -> execute -> probe -> score -> record.

Student code only ever runs in sandboxed kernels. This process (and the worker processes)
run the hidden pytest suite and compare plain data. The reference solution is executed once
per batch; its answers are cached per probe (in memory and in ``OUT/.grader/``), so workers
normally never start a reference kernel of their own.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import time
import traceback
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import nbformat

from . import __version__
from .course import ExerciseSpec, load_course
from .errors import GradingError
from .data import kernel_files
from .feedback import feedback_html
from .gradebook import Gradebook
from .util import fmt_points, write_atomic, write_json_atomic
from .hidden_tests import SuiteError, TestOutcome, run_suite
from . import forkserver
from .kernel import ExecutionReport, LiveKernel, default_sandbox, fork_server, limits_for, plain_error
from .notebook import (InvalidNotebook, other_exercise, parameterize, preload_modules,
                       public_check_results, read_notebook, restore_locked_cells, sha256_file,
                       test_imports)
from .probe import ProbeError, StudentError, decode_reply
from .gpus import GpuSlot, off_gpus, visible_gpus
from .container import Container, ContainerError
from .sandbox import Sandbox, private_dir
from .submissions import Submission, discover




def resolve_device(requested: str | None, spec: ExerciseSpec) -> str:
    device = requested or spec.device
    if device == "auto":
        device = "cuda" if visible_gpus() else "cpu"
    elif device == "cuda" and not visible_gpus():
        raise GradingError("--device cuda was asked for, but no GPU is visible (nvidia-smi finds "
                           "none; set GRADER_GPUS=0,1,... to name them, or use --device cpu)")
    return device


def exercise_fingerprint(spec: ExerciseSpec, device: str) -> str:
    """Changes whenever anything that could change a grade changes."""
    digest = hashlib.sha256()
    digest.update(f"grader {__version__} device {device}\n".encode())
    digest.update(json.dumps(spec.raw.model_dump(mode="json"), sort_keys=True).encode())
    digest.update(json.dumps(spec.grading_parameters(device), sort_keys=True, default=str).encode())
    for path in (spec.solution, spec.assignment):
        digest.update(path.read_bytes() if path.exists() else b"-")
    for name, path in sorted(kernel_files(spec.datasets).items()):
        digest.update(name.encode())
        digest.update(sha256_file(path).encode())
    if spec.tests_dir.is_dir():
        for path in sorted(spec.tests_dir.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(spec.tests_dir)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def submission_fingerprint(exercise_fp: str, sub: Submission) -> str:
    """Changes whenever the submission or anything that could change its grade changes."""
    digest = hashlib.sha256(exercise_fp.encode())
    if sub.path is not None and sub.path.is_file():
        digest.update(sha256_file(sub.path).encode())
    digest.update((sub.problem or "").encode())
    return digest.hexdigest()


class ReferenceFailure(ProbeError):
    """The reference solution failed on a probe: a problem with the exercise, not the student."""


class Reference:
    """The reference solution's answers: cached per probe, computed by a lazily started
    reference kernel on a miss."""

    def __init__(self, spec: ExerciseSpec, device: str, answers: dict[str, str] | None = None,
                 sandbox: Sandbox | None = None):
        self.spec, self.device = spec, device
        self.sandbox = sandbox or default_sandbox(spec)
        self.answers: dict[str, str] = dict(answers or {})
        self._kernel: LiveKernel | None = None
        self._slot: GpuSlot | None = None
        self._borrowed: str | None = None
        self.execution: ExecutionReport | None = None
        self.executed: nbformat.NotebookNode | None = None

    @contextlib.contextmanager
    def on_gpu_of(self, slot: GpuSlot | None):
        """While a student's kernel holds ``slot``: a reference kernel started for a cache miss
        runs on that GPU, in that slot (the student's kernel only waits for the answer
        meanwhile). Asking for a slot of its own could wait for this very one forever."""
        self._borrowed = slot.device if slot is not None else None
        try:
            yield
        finally:
            self._borrowed = None
            if self.device == "cuda" and self._slot is None:
                self.close()  # a reference kernel started on the student's GPU leaves with it

    def key(self, src: str) -> str:
        return hashlib.sha256(f"{self.spec.kernel_seed}\0{src}".encode()).hexdigest()

    def kernel(self) -> LiveKernel:
        if self._kernel is None:
            nb = parameterize(read_notebook(self.spec.solution),
                              self.spec.grading_parameters(self.device))
            gpu = None
            if self.device == "cuda":
                if self._borrowed is None:
                    self._slot = GpuSlot(per_gpu=self.spec.kernels_per_gpu)
                gpu = self._borrowed or self._slot.device
            kernel = LiveKernel(limits_for(self.spec), device=self.device, seed=self.spec.kernel_seed,
                                files=kernel_files(self.spec.datasets), label="reference",
                                sandbox=self.sandbox, gpu=gpu, preload=preload_modules(nb))
            kernel.start(nb)
            self.execution = kernel.execute(nb)
            self.executed = nb
            self._kernel = kernel
        return self._kernel

    def eval(self, src: str, timeout: float | None = None) -> Any:
        key = self.key(src)
        if key not in self.answers:
            kernel = self.kernel()
            try:
                self.answers[key] = kernel.reply_text(src, timeout or self.spec.test_timeout)
            except ProbeError as exc:
                raise ReferenceFailure(f"the reference solution could not answer this test ({exc}); "
                                       "tell your instructor") from None
        try:
            return decode_reply(self.answers[key])
        except StudentError as exc:
            raise ReferenceFailure(f"the reference solution raised {exc}; tell your instructor") from None

    def close(self) -> None:
        if self._kernel is not None:
            self._kernel.close()
            self._kernel = None
        if self._slot is not None:
            self._slot.release()
            self._slot = None


@dataclass
class Catalog:
    """The hidden tests of an exercise (from the reference run): ids, names, points."""
    tests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def max_score(self) -> float:
        return float(sum(t["max_score"] for t in self.tests))


def _outcomes_from_catalog(catalog: Catalog, message: str) -> list[TestOutcome]:
    return [TestOutcome(id=t["id"], name=t["name"], max_score=t["max_score"], score=0.0,
                        status="failed", message=message, visibility=t["visibility"])
            for t in catalog.tests]


def build_result(spec: ExerciseSpec, student: str, tests: list[TestOutcome], *, status: str,
                 reason: str | None, seconds: float, fingerprint: str, notebook_sha: str | None,
                 notes: list[str] | None = None, public: list[dict] | None = None,
                 execution: ExecutionReport | None = None) -> dict[str, Any]:
    """A Gradescope-schema results.json document (our details go in ``extra_data``)."""
    score = float(sum(t.score for t in tests))
    max_score = float(sum(t.max_score for t in tests))
    failed = [t for t in tests if t.status != "passed"]
    summary = f"{fmt_points(score)} / {fmt_points(max_score)} points"
    if reason:
        summary += f"; {reason}"
    elif failed:
        summary += f"; {len(failed)} of {len(tests)} tests failed"
    cells = []
    if execution is not None:
        cells = [{"index": c.index, "cell": c.label, "status": c.status, "error": c.ename,
                  "message": plain_error(c.evalue)} for c in execution.cells if c.status != "ok"]
    return {
        "score": score,
        "execution_time": round(seconds, 3),
        "output": summary,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {"id": t.id, "name": t.name, "number": str(i + 1), "score": t.score,
             "max_score": t.max_score, "status": t.status, "output": t.message,
             "visibility": t.visibility}
            for i, t in enumerate(tests)],
        "extra_data": {
            "exercise": spec.id, "student": student, "status": status, "reason": reason,
            "max_score": max_score, "fingerprint": fingerprint, "notebook_sha256": notebook_sha,
            "notes": notes or [], "public_checks": public or [], "cells": cells,
            "grader_version": __version__,
            "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    }




@dataclass
class Graded:
    result: dict[str, Any]
    executed: str | None  # executed notebook JSON
    html: str


class Grader:
    """Grades single submissions of one exercise. One per process.

    It keeps one warm spare kernel: while a submission is graded, the next kernel is already
    booting in its sandbox and loading the heavy libraries the reference imports, so kernel
    start-up is off the critical path. The spare holds nothing of any student. On GPU the
    spare is pinned to the GPU of the last slot and has not touched CUDA (importing torch
    creates no CUDA context): it becomes a GPU kernel only once the next slot is held."""

    def __init__(self, spec: ExerciseSpec, device: str, reference: Reference, catalog: Catalog,
                 exercise_fp: str, sandbox: Sandbox | None = None):
        self.spec, self.device, self.reference = spec, device, reference
        self.sandbox = sandbox or default_sandbox(spec)
        self.catalog, self.exercise_fp = catalog, exercise_fp
        self.release = read_notebook(spec.assignment)
        self.files = kernel_files(spec.datasets)
        self.preload = preload_modules(read_notebook(spec.solution))
        self._spare: LiveKernel | None = None
        self._prepared = False

    def use_reference(self, reference: Reference, catalog: Catalog) -> None:
        self.reference, self.catalog = reference, catalog

    def prepare(self) -> None:
        """Import what the hidden tests import and start the kernels' fork server. Starts no
        thread: worker processes forked afterwards inherit both. Does it once."""
        if self._prepared:
            return
        self._prepared = True
        import importlib
        server = None
        if self.device != "cuda" and forkserver.enabled() and self.sandbox.container is None:
            server = fork_server(limits_for(self.spec), self.sandbox, self.preload)  # boots meanwhile
        for module in test_imports(self.spec.tests_dir):
            try:
                importlib.import_module(module)
            except Exception:  # noqa: BLE001 - the suite will report it when it runs
                pass
        if server is not None:
            try:
                server.wait_ready()
            except forkserver.ForkServerError:
                pass  # kernels then start as fresh processes

    def warm(self) -> None:
        """Get ready before the first submission: boot the spare kernel."""
        self.prepare()
        if self._spare is None:
            gpus = visible_gpus() if self.device == "cuda" else []
            self._boot_spare(gpus[os.getpid() % len(gpus)] if gpus else None)

    def _boot_spare(self, gpu: str | None) -> None:
        if os.environ.get("GRADER_WARM_KERNELS") == "0":  # benchmarks compare with cold starts
            return
        try:
            self._spare = self._new_kernel("spare", gpu).launch()
        except Exception:  # noqa: BLE001 - no spare: the next kernel starts cold
            self._spare = None

    def _slot(self) -> GpuSlot | None:
        """On GPU: wait for a free slot, preferring the GPU the spare is pinned to."""
        if self.device != "cuda":
            return None
        return GpuSlot(per_gpu=self.spec.kernels_per_gpu,
                       prefer=self._spare.gpu if self._spare is not None else None)

    def _new_kernel(self, label: str, gpu: str | None = None) -> LiveKernel:
        return LiveKernel(limits_for(self.spec), device=self.device, seed=self.spec.kernel_seed,
                          files=self.files, label=label, sandbox=self.sandbox, gpu=gpu,
                          preload=self.preload)

    def _kernel_for(self, student: str, slot: GpuSlot | None) -> LiveKernel:
        gpu = slot.device if slot is not None else None
        kernel, self._spare = self._spare, None
        if kernel is not None and kernel.gpu != gpu:  # pinned to another GPU than the slot's
            kernel.close()
            kernel = None
        if kernel is None:
            kernel = self._new_kernel(student, gpu).launch()
        self._boot_spare(gpu)
        kernel.label = student
        return kernel

    def close(self) -> None:
        if self._spare is not None:
            self._spare.close()
            self._spare = None

    def submission_fingerprint(self, sub: Submission) -> str:
        return submission_fingerprint(self.exercise_fp, sub)

    def grade(self, sub: Submission) -> Graded:
        started = time.monotonic()
        fingerprint = self.submission_fingerprint(sub)
        notebook_sha = sha256_file(sub.path) if sub.path is not None and sub.path.is_file() else None

        def invalid(reason: str, status: str = "invalid") -> Graded:
            tests = _outcomes_from_catalog(self.catalog, f"not graded: {reason}")
            result = build_result(self.spec, sub.student, tests, status=status, reason=reason,
                                  seconds=time.monotonic() - started, fingerprint=fingerprint,
                                  notebook_sha=notebook_sha)
            return Graded(result, None, feedback_html(None, result))

        if sub.problem or sub.path is None:
            return invalid(sub.problem or "no notebook was handed in")
        try:
            submitted = read_notebook(sub.path)
        except InvalidNotebook as exc:
            return invalid(str(exc))
        problem = other_exercise(submitted, self.spec.id, self.release)
        if problem:
            return invalid(problem)
        try:
            sanitized = restore_locked_cells(submitted, self.release)
            nb = parameterize(sanitized.nb, self.spec.grading_parameters(self.device))
            # on GPU: wait for a free GPU, hold it while this kernel lives (CPU work goes on)
            with (self._slot() or contextlib.nullcontext()) as slot, \
                    self._kernel_for(sub.student, slot) as kernel, self.reference.on_gpu_of(slot):
                kernel.start(nb)
                execution = kernel.execute(nb)
                tests = run_suite(self.spec.tests_dir, kernel, self.reference, self.spec.seed)
        except SuiteError as exc:
            raise GradingError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a grader bug must not stop the batch
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            return invalid(f"internal grader error ({detail[:200]}); please report it", "error")
        status = execution.status if execution.status != "ok" else "graded"
        # the cause first: a cell that failed (a SyntaxError in the first cell makes every test
        # fail with a NameError further down)
        reason = execution.reason or execution.first_failure
        result = build_result(self.spec, sub.student, tests, status=status, reason=reason,
                              seconds=time.monotonic() - started, fingerprint=fingerprint,
                              notebook_sha=notebook_sha, notes=sanitized.notes,
                              public=public_check_results(nb), execution=execution)
        result["extra_data"]["isolation"] = kernel.isolation
        return Graded(result, nbformat.writes(nb), feedback_html(nb, result))


# -------------------------------------------------------------------------------------------
# reference preparation


def check_points(spec: ExerciseSpec, tests_total: float) -> None:
    """course.yaml's ``points`` must be what the hidden tests are worth together."""
    if abs(tests_total - spec.points) > 1e-9:
        raise GradingError(f"course.yaml gives {spec.id} {fmt_points(spec.points)} points, but its hidden "
                           f"tests are worth {fmt_points(tests_total)} together (their "
                           "@pytest.mark.points); make the two agree")


def _reference_state_path(out: Path, exercise_fp: str) -> Path:
    return out / ".grader" / f"reference-{exercise_fp[:16]}.json"


def prepare_reference(spec: ExerciseSpec, device: str, out: Path | None, exercise_fp: str,
                      *, require_full_marks: bool = True,
                      sandbox: Sandbox | None = None) -> tuple[Reference, Catalog]:
    """Execute the reference once, run the hidden suite against it (filling the answer cache),
    and check it earns full marks. Reuses the cache saved by an earlier run of this batch."""
    state_path = _reference_state_path(out, exercise_fp) if out is not None else None
    if state_path is not None and state_path.is_file():
        state = json.loads(state_path.read_text())
        catalog = Catalog(state["catalog"])
        check_points(spec, catalog.max_score)
        return Reference(spec, device, state["answers"], sandbox), catalog
    if not spec.assignment.is_file():
        raise GradingError(f"{spec.assignment} does not exist; run `grader release {spec.id}` first")
    reference = Reference(spec, device, sandbox=sandbox)
    try:
        reference.kernel()
    except Exception as exc:  # noqa: BLE001
        reference.close()
        raise GradingError(f"the reference notebook of {spec.id} could not be executed: {exc}") from None
    failing = [c for c in reference.execution.cells if c.status != "ok"]
    if failing:
        first = failing[0]
        reference.close()
        raise GradingError(f"the reference notebook of {spec.id} fails in cell {first.index}: "
                           f"{first.ename}: {first.evalue}")
    try:
        outcomes = run_suite(spec.tests_dir, reference, reference, spec.seed)
    except SuiteError as exc:
        reference.close()
        raise GradingError(str(exc)) from None
    catalog = Catalog([{"id": t.id, "name": t.name, "max_score": t.max_score,
                        "visibility": t.visibility} for t in outcomes])
    lost = [t for t in outcomes if t.status != "passed"]
    if lost and require_full_marks:
        reference.close()
        detail = "; ".join(f"{t.id}: {t.message}" for t in lost[:3])
        raise GradingError(f"the reference solution of {spec.id} does not earn full marks "
                           f"({len(lost)} tests fail: {detail})")
    try:
        check_points(spec, catalog.max_score)
    except GradingError:
        reference.close()
        raise
    if state_path is not None:
        write_json_atomic(state_path, {"catalog": catalog.tests, "answers": reference.answers})
    return reference, catalog


# -------------------------------------------------------------------------------------------
# worker processes

_WORKER: Grader | None = None
_WORKER_STATE: str | None = None


def _init_worker(course_root: str, exercise_id: str, device: str, exercise_fp: str,
                 hidden: list[str], container: Container | None = None) -> None:
    """Runs when a worker process starts, while the grader is still preparing the reference:
    everything a worker can do without the reference's answers happens here."""
    global _WORKER
    # a worker (and through the launcher's own setting, its kernels) dies with the grader,
    # even when the grader is killed with SIGKILL
    import ctypes
    import signal
    try:
        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    spec = load_course(Path(course_root)).get(exercise_id)
    sandbox = default_sandbox(spec, *map(Path, hidden), container=container)
    _WORKER = Grader(spec, device, Reference(spec, device, {}, sandbox), Catalog([]), exercise_fp, sandbox)
    # when the pool shuts the worker down (multiprocessing runs its finalizers, with either
    # start method): close its kernels and fork server, then skip the interpreter's teardown
    # (a second with torch loaded; the results are already with the grader)
    from multiprocessing.util import Finalize

    def cleanup() -> None:
        _WORKER.close()
        _WORKER.reference.close()
        forkserver.close_all()
        os._exit(0)

    Finalize(None, cleanup, exitpriority=100)
    _WORKER.warm()


def _worker_ready() -> int:
    """A no-op task: submitted once per worker so that the pool starts its processes now."""
    return os.getpid()


def _grade_in_worker(state_path: str, student: str, path: str | None, problem: str | None) -> Graded:
    """Grade one submission; ``state_path``: the reference's answers and the test catalog,
    saved by prepare_reference (read once per worker)."""
    global _WORKER_STATE
    assert _WORKER is not None
    if _WORKER_STATE != state_path:
        state = json.loads(Path(state_path).read_text())
        _WORKER.use_reference(Reference(_WORKER.spec, _WORKER.device, state["answers"], _WORKER.sandbox),
                              Catalog(state["catalog"]))
        _WORKER_STATE = state_path
    return _WORKER.grade(Submission(student, Path(path) if path else None, problem))


# -------------------------------------------------------------------------------------------
# batches


@dataclass
class BatchSummary:
    exercise: str
    out: Path
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    reused: int = 0
    graded: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


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


class Outputs:
    """Everything a batch writes under OUT, each piece atomically."""

    def __init__(self, out: Path, gradebook_url: str | None = None):
        self.out = out
        for sub in ("results", "feedback", "executed"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        self.gradebook = Gradebook(gradebook_url or out / "gradebook.sqlite")

    def result_path(self, student: str) -> Path:
        return self.out / "results" / f"{student}.json"

    def existing(self, student: str) -> dict[str, Any] | None:
        path = self.result_path(student)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def record(self, student: str, graded: Graded) -> None:
        if graded.executed is not None:
            write_atomic(self.out / "executed" / f"{student}.ipynb", graded.executed)
        write_atomic(self.out / "feedback" / f"{student}.html", graded.html)
        # the gradebook first, then results/<student>.json: a result file on disk always has its
        # gradebook rows, so a resumed batch can trust it
        self.gradebook.record(graded.result)
        write_json_atomic(self.result_path(student), graded.result)

    def write_csv(self, exercise: str) -> None:
        write_atomic(self.out / "grades.csv", self.gradebook.grades_csv(exercise))


@off_gpus  # the graders' own torch stays off the GPUs (see keep_grader_off_gpus)
def grade_batch(spec: ExerciseSpec, source: Path, out: Path, *, workers: int = 1,
                device: str | None = None, force: bool = False,
                progress: Callable[[int], Any] | None = None,
                on_result: Callable[[str, dict], Any] | None = None,
                on_total: Callable[[int], Any] | None = None,
                gradebook_url: str | None = None, backend: str = "local",
                ray_address: str | None = None, container: Container | None = None) -> BatchSummary:
    """Grade every submission under ``source`` into ``out``.

    Locally, ``workers`` graders run at once: this process and ``workers - 1`` worker
    processes. The workers start (imports, fork server, a warm kernel) while this process
    prepares the reference, and receive its answers through ``OUT/.grader/``.
    ``container``: run every kernel in a podman/docker container too."""
    started = time.monotonic()
    device = resolve_device(device, spec)
    if container is not None:
        try:
            container.ready(device)
        except ContainerError as exc:
            raise GradingError(str(exc)) from None
    out = Path(out)
    workspace = private_dir("batch")
    try:  # nothing is written under OUT before the submissions are found
        submissions, warnings = discover(source, spec.id, workspace)
        if not submissions:
            skipped = f" ({'; '.join(warnings[:3])})" if warnings else ""
            raise GradingError(f"no submissions found in {source}: expected <student>.ipynb files, "
                               f"<student>/ folders holding a notebook, or zip files{skipped}")
        claim_output(out, spec.id)
    except BaseException:
        shutil.rmtree(workspace, ignore_errors=True)
        raise
    outputs = Outputs(out, gradebook_url)
    summary = BatchSummary(spec.id, out, warnings=warnings)
    reference: Reference | None = None
    grader: Grader | None = None
    pool: ProcessPoolExecutor | None = None
    try:
        if on_total:
            on_total(len(submissions))
        exercise_fp = exercise_fingerprint(spec, device)
        hidden = [Path(source).resolve(), out.resolve(), workspace]
        if gradebook_url and "://" not in gradebook_url:
            hidden.append(Path(gradebook_url).resolve().parent)
        sandbox = default_sandbox(spec, *hidden, container=container)
        todo: list[Submission] = []
        for sub in submissions:
            previous = None if force else outputs.existing(sub.student)
            if (previous is not None
                    and previous.get("extra_data", {}).get("fingerprint") == submission_fingerprint(exercise_fp, sub)
                    and previous["extra_data"].get("status") != "error"):
                summary.results[sub.student] = previous
                summary.reused += 1
                outputs.gradebook.record(previous)  # idempotent; repairs a lost gradebook
                if progress:
                    progress(1)
                continue
            todo.append(sub)
        helpers = min(workers, len(todo)) - 1 if backend == "local" else 0
        grader = Grader(spec, device, None, Catalog([]), exercise_fp, sandbox)
        if helpers > 0:
            # forked after the heavy imports and the fork server, before any thread or kernel
            # exists here: the workers start at once and share the fork server
            grader.prepare()
            methods = multiprocessing.get_all_start_methods()
            pool = ProcessPoolExecutor(
                max_workers=helpers, mp_context=multiprocessing.get_context("fork" if "fork" in methods else "spawn"),
                initializer=_init_worker,
                initargs=(str(spec.course.root), spec.id, device, exercise_fp, [str(p) for p in hidden],
                          container))
            for _ in range(helpers):
                pool.submit(_worker_ready)  # start the processes now, not at the first task
        if todo and backend == "local":
            grader.warm()
        reference, catalog = prepare_reference(spec, device, out, exercise_fp, sandbox=sandbox)
        if device == "cuda":
            reference.close()  # its answers are cached; free the GPU for the students' kernels
        grader.use_reference(reference, catalog)

        def finish(student: str, graded: Graded) -> None:
            outputs.record(student, graded)
            summary.results[student] = graded.result
            summary.graded += 1
            if on_result:
                on_result(student, graded.result)
            if progress:
                progress(1)

        if backend == "ray":
            from . import ray_backend
            reference.close()  # the answers travel with the tasks
            ray_backend.run(spec, todo, device=device, answers=reference.answers,
                            catalog=catalog.tests, exercise_fp=exercise_fp, address=ray_address,
                            workers=workers, finish=finish, container=container,
                            crashed=lambda sub, exc: _crashed(grader, sub, exc))
        elif pool is None:
            for sub in todo:
                finish(sub.student, grader.grade(sub))
        else:
            _share_work(grader, pool, helpers, todo, _reference_state_path(out, exercise_fp), finish)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if grader is not None:
            grader.close()
        if reference is not None:
            reference.close()
        try:
            outputs.write_csv(spec.id)
        finally:
            outputs.gradebook.close()
            shutil.rmtree(workspace, ignore_errors=True)
    summary.seconds = time.monotonic() - started
    return summary


def _share_work(grader: Grader, pool: ProcessPoolExecutor, helpers: int, todo: list[Submission],
                state_path: Path, finish: Callable[[str, Graded], Any]) -> None:
    """This process grades too. The workers take submissions from the front of the list (each
    has one queued behind the one it grades, so none waits while this process is busy); this
    process takes them from the back. If the pool breaks (a worker killed by the OS), the
    submissions it held get an error result and this process grades the rest."""
    from concurrent.futures.process import BrokenProcessPool
    remaining = deque(todo)
    in_flight: dict[Any, Submission] = {}
    broken = False

    def top_up() -> None:
        nonlocal broken
        while not broken and remaining and len(in_flight) < 2 * helpers:
            sub = remaining.popleft()
            try:
                future = pool.submit(_grade_in_worker, str(state_path), sub.student,
                                     str(sub.path) if sub.path else None, sub.problem)
            except (BrokenProcessPool, RuntimeError):
                remaining.appendleft(sub)
                broken = True
                return
            in_flight[future] = sub

    def collect(timeout: float | None) -> None:
        nonlocal broken
        if not in_flight:
            return
        done, _ = wait(list(in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            sub = in_flight.pop(future)
            try:
                graded = future.result()
            except GradingError:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. a worker killed by the OS
                broken = broken or isinstance(exc, BrokenProcessPool)
                graded = _crashed(grader, sub, exc)
            finish(sub.student, graded)

    top_up()
    while remaining or in_flight:
        collect(0)
        top_up()
        if remaining:
            sub = remaining.pop()
            finish(sub.student, grader.grade(sub))
        else:
            collect(None)


def _crashed(grader: Grader, sub: Submission, exc: BaseException) -> Graded:
    reason = f"the grading worker stopped unexpectedly ({type(exc).__name__}); please report it"
    tests = _outcomes_from_catalog(grader.catalog, f"not graded: {reason}")
    result = build_result(grader.spec, sub.student, tests, status="error", reason=reason, seconds=0.0,
                          fingerprint=grader.submission_fingerprint(sub), notebook_sha=None)
    return Graded(result, None, feedback_html(None, result))


__all__ = ["grade_batch", "Grader", "GradingError", "prepare_reference", "Submission",
           "exercise_fingerprint", "resolve_device", "BatchSummary"]
