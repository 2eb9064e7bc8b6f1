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
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from ..course import ExerciseSpec
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
T = TypeVar("T")


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
                initargs=(job.spec, job.device, job.exercise_fp, [str(p) for p in job.hidden], job.container))
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
            forkserver.children_done()
        if self.grader is not None:
            self.grader.close()
            self.grader = None


_WORKER: Grader | None = None
_WORKER_STATE: str | None = None


def _init_worker(spec: ExerciseSpec, device: str, exercise_fp: str, hidden: list[str],
                 container: "Container | None" = None) -> None:
    """Runs when a worker process starts, while the grader is still preparing the reference:
    everything a worker can do without the reference's answers happens here. ``spec`` is the
    batch's own (inherited through fork, or pickled), not the course read again from disk: a
    worker grades under the batch's grading seed (`grader variants --seeds`) and settings even
    when course.yaml has changed since the batch started."""
    global _WORKER
    worker_started(lambda: close_grader(_WORKER) if _WORKER is not None else None)
    sandbox = default_sandbox(spec, *map(Path, hidden), container=container)
    _WORKER = Grader(spec, device, Reference(spec, device, {}, sandbox), Catalog([]), exercise_fp, sandbox)
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


class SharedWork(Generic[T]):
    """Work shared between this process and a pool's workers. The workers take items from the
    front of the queue (``top_up`` keeps up to ``window`` of them submitted, so none waits while
    this process is busy); this process takes them from the back (``drain``). If the pool breaks
    (a worker killed by the OS), the items it held get ``lost(item, exc)`` results and this
    process does the rest."""

    def __init__(self, pool: ProcessPoolExecutor | None, submit: Callable[[ProcessPoolExecutor, T], Future],
                 lost: Callable[[T, BaseException], Graded], finish: Callable[[Graded], Any],
                 describe: Callable[[T], str] = str):
        self.pool, self.submit, self.lost, self.finish, self.describe = pool, submit, lost, finish, describe
        self.remaining: deque[T] = deque()
        self.in_flight: dict[Future, T] = {}
        self.broken = False

    def top_up(self, window: int) -> None:
        from concurrent.futures.process import BrokenProcessPool
        while self.pool is not None and not self.broken and self.remaining and len(self.in_flight) < window:
            item = self.remaining.popleft()
            try:
                future = self.submit(self.pool, item)
            except (BrokenProcessPool, RuntimeError):
                self.remaining.appendleft(item)
                self.broken = True
                return
            self.in_flight[future] = item

    def collect(self, timeout: float | None) -> None:
        from concurrent.futures.process import BrokenProcessPool
        if not self.in_flight:
            return
        done, _ = wait(list(self.in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            item = self.in_flight.pop(future)
            if future.cancelled():
                continue
            try:
                graded = future.result()
            except GraderError:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. a worker killed by the OS
                log.warning("grading %s in a worker failed (%s); it gets an error result and "
                            "is graded again by the next run", self.describe(item), type(exc).__name__)
                self.broken = self.broken or isinstance(exc, BrokenProcessPool)
                graded = self.lost(item, exc)
            self.finish(graded)

    def take_back(self, keep: int) -> None:
        """Items submitted beyond the first ``keep`` that no worker has started come back to
        the queue (so that this process can share the tail)."""
        for future in list(self.in_flight)[keep:]:
            if future.cancel():
                self.remaining.append(self.in_flight.pop(future))

    def drain(self, grade_here: Callable[[T], Graded], window: int) -> None:
        """Until everything is graded: keep the workers fed, and grade here from the back."""
        while self.remaining or self.in_flight:
            self.collect(0)
            self.top_up(window)
            if self.remaining:
                self.finish(grade_here(self.remaining.pop()))
            else:
                self.collect(None)


def _share_work(job: GradeJob, grader: Grader, pool: ProcessPoolExecutor, helpers: int,
                todo: list[Submission], state_path: Path, finish: Callable[[Graded], Any]) -> None:
    """This process grades too, from the back of the list; the workers from the front."""
    def submit(pool: ProcessPoolExecutor, sub: Submission) -> Future:
        return pool.submit(_grade_in_worker, str(state_path), sub.student,
                           str(sub.path) if sub.path else None, sub.problem)

    work: SharedWork[Submission] = SharedWork(pool, submit, lambda sub, exc: crashed(job, sub, exc), finish,
                                              lambda sub: sub.student)
    work.remaining.extend(todo)
    work.top_up(2 * helpers)
    work.drain(grader.grade, 2 * helpers)


def worker_started(cleanup: Callable[[], None]) -> None:
    """In a pool's worker process, when it starts: die with the grader (even when the grader is
    killed with SIGKILL), and when the pool shuts the worker down (multiprocessing runs its
    finalizers, with either start method) run ``cleanup`` (close its kernels), close its fork
    servers and skip the interpreter's teardown (a second with torch loaded; the results are
    already with the grader)."""
    import ctypes
    import signal
    from multiprocessing.util import Finalize
    try:
        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def finalize() -> None:
        cleanup()
        forkserver.close_all()
        os._exit(0)

    Finalize(None, finalize, exitpriority=100)


def close_grader(grader: Grader) -> None:
    """Close a grader's kernels: its spare and its reference kernel (if one was started)."""
    grader.close()
    if grader.reference is not None:
        grader.reference.close()
