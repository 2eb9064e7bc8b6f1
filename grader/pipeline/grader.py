"""One submission through the pipeline: sanitize -> parameterize -> execute -> probe -> score.

:class:`Grader` grades the submissions of one exercise in one process, keeping a warm spare
kernel; backends (:mod:`grader.backends`) run one per worker.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
import nbformat

from ..cells import preload_modules, test_imports
from ..course import ExerciseSpec
from ..data import kernel_files
from ..errors import GraderError, GradingError
from ..kernels import forkserver
from ..kernels.gpus import GpuSlot, visible_gpus
from ..kernels.launchers import fork_server
from ..kernels.live import LiveKernel
from ..kernels.sandbox import Sandbox
from ..kernels.spec import default_sandbox, limits_for
from ..outputs.feedback import feedback_html, page_context
from ..outputs.feedback import warm as warm_feedback
from ..results import Graded, Status
from ..util import loading_for_long, sha256_file
from .discover import Submission
from .execute import execute, public_check_results
from .fingerprint import submission_fingerprint
from .parameterize import parameterize
from .reference import Catalog, Reference, outcomes_from_catalog
from .sanitize import InvalidNotebook, other_exercise, read_notebook, restore_locked_cells
from .score import grade_result, status_of
from .suite import SuiteError, run_suite

log = logging.getLogger(__name__)


class Grader:
    """Grades single submissions of one exercise. One per process.

    It keeps one warm spare kernel: while a submission is graded, the next kernel is already
    booting in its sandbox and loading the heavy libraries the reference imports, so kernel
    start-up is off the critical path. The spare holds nothing of any student. On GPU the
    spare is pinned to the GPU of the last slot and has not touched CUDA (importing torch
    creates no CUDA context): it becomes a GPU kernel only once the next slot is held."""

    def __init__(self, spec: ExerciseSpec, device: str, reference: Reference | None, catalog: Catalog,
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
        """Import what the hidden tests import, compile the feedback page's templates and start
        the kernels' fork server. Starts no thread: worker processes forked afterwards inherit
        all of it. Does it once."""
        if self._prepared:
            return
        self._prepared = True
        with loading_for_long():
            self._prepare()

    def _prepare(self) -> None:
        import importlib
        server = None
        if self.device != "cuda" and forkserver.enabled() and self.sandbox.container is None:
            server = fork_server(limits_for(self.spec), self.sandbox, self.preload)  # boots meanwhile
        for module in test_imports(self.spec.tests_dir):
            try:
                importlib.import_module(module)
            except Exception:  # noqa: BLE001 - the suite will report it when it runs
                log.info("could not preload %s for the hidden tests", module, exc_info=True)
        try:
            warm_feedback()  # nbconvert and the page's templates, before workers fork
        except Exception:  # noqa: BLE001 - the first page then pays for it
            log.info("could not warm the feedback page's templates", exc_info=True)
        if server is not None:
            try:
                server.wait_ready()
            except forkserver.ForkServerError as exc:
                log.warning("%s; kernels start as fresh processes", exc)

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
            log.warning("could not boot a spare kernel; the next one starts cold", exc_info=True)
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
        assert self.reference is not None, "use_reference() first"
        reference = self.reference
        started = time.monotonic()
        fingerprint = self.submission_fingerprint(sub)
        notebook_sha = sha256_file(sub.path) if sub.path is not None and sub.path.is_file() else None

        def invalid(reason: str, status: Status = Status.INVALID) -> Graded:
            tests = outcomes_from_catalog(self.catalog, f"not graded: {reason}")
            result = grade_result(self.spec, sub.student, tests, status=status, reason=reason,
                                  seconds=time.monotonic() - started, fingerprint=fingerprint,
                                  notebook_sha=notebook_sha)
            return Graded(result, None, feedback_html(None, result, page_context(self.spec)))

        if sub.problem or sub.path is None:
            return invalid(sub.problem or "no notebook was handed in")
        try:
            submitted = read_notebook(sub.path)
        except InvalidNotebook as exc:
            return invalid(str(exc))
        problem = other_exercise(submitted, self.spec.id, self.release)
        if problem:
            return invalid(problem)
        phases = Phases(started)
        try:
            sanitized = restore_locked_cells(submitted, self.release)
            nb = parameterize(sanitized.nb, self.spec.grading_parameters(self.device))
            phases.lap("read")
            # on GPU: wait for a free GPU, hold it while this kernel lives (CPU work goes on)
            with (self._slot() or contextlib.nullcontext()) as slot, \
                    self._kernel_for(sub.student, slot) as kernel, reference.on_gpu_of(slot):
                kernel.start(nb)
                phases.lap("kernel")
                execution = execute(kernel, nb)
                phases.lap("cells")
                tests = run_suite(self.spec.tests_dir, kernel, reference, self.spec.seed)
                phases.lap("tests", within=("probes", kernel.probe_seconds))
            phases.lap("kernel close")
        except SuiteError as exc:
            raise GradingError(str(exc)) from None
        except GraderError:
            raise  # the machine cannot grade as asked (no GPU, no uid left...): stop the batch
        except Exception as exc:  # noqa: BLE001 - a grader bug must not stop the batch
            log.exception("grading %s failed", sub.student)
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            return invalid(f"internal grader error ({detail[:200]}); please report it", Status.ERROR)
        # the cause first: a cell that failed (a SyntaxError in the first cell makes every test
        # fail with a NameError further down)
        reason = execution.reason or execution.first_failure
        result = grade_result(self.spec, sub.student, tests, status=status_of(execution),
                              reason=reason, seconds=time.monotonic() - started,
                              fingerprint=fingerprint, notebook_sha=notebook_sha,
                              notes=sanitized.notes, public=public_check_results(nb),
                              execution=execution, isolation=kernel.isolation)
        graded = Graded(result, nbformat.writes(nb), feedback_html(nb, result, page_context(self.spec)))
        phases.lap("feedback")
        result.phases, result.seconds = phases.seconds, time.monotonic() - started
        return graded


# What each phase of Phases covers (``grader profile`` and benchmarks/bench_grading.py print it).
PHASE_WHAT = {
    "read": "read, sanitize and parameterize the notebook",
    "kernel": "take the warm kernel, send it the notebook's set-up (files, seed, limits)",
    "cells": "execute the notebook's cells (the student's own code, and the round trips)",
    "probes": "the hidden tests waiting for the student's kernel to answer their probes",
    "tests": "the rest of the hidden tests: oracles, pytest's bookkeeping",
    "kernel close": "stop the kernel (the next one is already warm)",
    "feedback": "score the tests and render the feedback page",
    "write": "write the results JSON, gradebook row, CSV row and feedback page",
}


class Phases:
    """Where one submission's grading time went: seconds per phase, in order (read and
    sanitize, kernel start, the notebook's cells, the hidden tests' probes -- waiting for the
    student's kernel to answer -- and the rest of the hidden tests -- oracles, pytest --,
    closing the kernel, scoring and the feedback page). Kept in the result (``extra_data.phases``) so a profile of
    a batch is a median over its results (benchmarks/bench_grading.py)."""

    def __init__(self, started: float):
        self._last = started
        self.seconds: dict[str, float] = {}

    def lap(self, phase: str, within: tuple[str, float] | None = None) -> None:
        """Close ``phase``; ``within`` = (part, seconds): that much of it is recorded as ``part``,
        just before it, and the rest as ``phase``."""
        now = time.monotonic()
        elapsed = now - self._last
        if within is not None:
            part = min(within[1], elapsed)
            self.seconds[within[0]] = round(part, 4)
            elapsed -= part
        self.seconds[phase] = round(elapsed, 4)
        self._last = now
