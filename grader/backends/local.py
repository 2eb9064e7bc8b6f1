"""The local backend: this process and ``workers - 1`` worker processes grade at once.

The workers are forked after the heavy imports and the kernels' fork server, before any thread
or kernel exists here, so they start at once and share the fork server; they warm up (a spare
kernel each) while this process runs the reference, and read its answers from ``OUT/.grader/``.
This process grades too. A worker killed by the OS loses nothing: what it held becomes an error
result (graded again by the next run) and this process grades the rest.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..course import load_course
from ..errors import GraderError
from ..kernels import forkserver
from ..kernels.spec import default_sandbox
from ..pipeline.discover import Submission
from ..pipeline.grader import Grader
from ..pipeline.reference import Catalog, Reference
from ..results import Graded
from . import GradeJob, crashed

if TYPE_CHECKING:
    from ..kernels.container import Container

log = logging.getLogger(__name__)


class LocalBackend:
    def __init__(self) -> None:
        self.grader: Grader | None = None
        self.pool: ProcessPoolExecutor | None = None
        self.helpers = 0

    def start(self, job: GradeJob, todo: list[Submission]) -> None:
        self.grader = Grader(job.spec, job.device, None, Catalog([]), job.exercise_fp, job.sandbox)
        self.helpers = min(job.workers, len(todo)) - 1
        if self.helpers > 0:
            self.grader.prepare()
            methods = multiprocessing.get_all_start_methods()
            self.pool = ProcessPoolExecutor(
                max_workers=self.helpers,
                mp_context=multiprocessing.get_context("fork" if "fork" in methods else "spawn"),
                initializer=_init_worker,
                initargs=(str(job.spec.course.root), job.spec.id, job.device, job.exercise_fp,
                          [str(p) for p in job.hidden], job.container))
            for _ in range(self.helpers):
                self.pool.submit(_worker_ready)  # start the processes now, not at the first task
        if todo:
            self.grader.warm()

    def run(self, job: GradeJob, todo: list[Submission], finish: Callable[[Graded], None]) -> None:
        assert self.grader is not None and job.reference is not None and job.catalog is not None
        self.grader.use_reference(job.reference, job.catalog)
        if self.pool is None:
            for sub in todo:
                finish(self.grader.grade(sub))
        else:
            assert job.state_path is not None
            _share_work(job, self.grader, self.pool, self.helpers, todo, job.state_path, finish)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        if self.grader is not None:
            self.grader.close()
            self.grader = None


_WORKER: Grader | None = None
_WORKER_STATE: str | None = None


def _init_worker(course_root: str, exercise_id: str, device: str, exercise_fp: str,
                 hidden: list[str], container: "Container | None" = None) -> None:
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
        if _WORKER.reference is not None:
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


def _share_work(job: GradeJob, grader: Grader, pool: ProcessPoolExecutor, helpers: int,
                todo: list[Submission], state_path: Path, finish: Callable[[Graded], Any]) -> None:
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
            except GraderError:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. a worker killed by the OS
                log.warning("grading %s in a worker failed (%s); it gets an error result and "
                            "is graded again by the next run", sub.student, type(exc).__name__)
                broken = broken or isinstance(exc, BrokenProcessPool)
                graded = crashed(job, sub, exc)
            finish(graded)

    top_up()
    while remaining or in_flight:
        collect(0)
        top_up()
        if remaining:
            sub = remaining.pop()
            finish(grader.grade(sub))
        else:
            collect(None)
