"""Grading on a Ray cluster: each submission is a Ray task carrying the exercise bundle.

The same :class:`grader.pipeline.grader.Grader` runs inside the task as in a local worker; only the way
work is handed out differs. The bundle (course.yaml, the exercise's reference, release and
hidden tests) goes to the object store once, and so do the reference's answers and the test
catalog; each worker unpacks the bundle once per exercise version. On CPU, one warm-up task per
worker builds its Grader and boots its first kernel while the grader runs the reference.
Nodes need the same environment as the grader (this package, its pinned dependencies) and run
the kernels in the same sandbox; GPUs are scheduled by Ray (``num_gpus=1`` per task), and the
task's ``CUDA_VISIBLE_DEVICES`` becomes the kernel's.
"""
from __future__ import annotations

import contextlib
import io
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable

from ..course import ExerciseSpec, load_course
from ..errors import GradingError
from ..kernels.gpus import environment, keep_grader_off_gpus, visible_gpus
from ..kernels.spec import default_sandbox
from ..pipeline.discover import Submission
from ..pipeline.grader import Grader
from ..pipeline.reference import Catalog, Reference
from ..results import GradeResult, Graded
from ..util import process_tempdir
from . import GradeJob, crashed

_NODE_CACHE: dict[str, Grader] = {}
_NODE_ANSWERED: set[str] = set()


def make_bundle(spec: ExerciseSpec) -> bytes:
    """A tar.gz with what grading one exercise needs, and nothing of other exercises."""
    root = spec.course.root
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(root / "course.yaml", arcname="course.yaml")
        tar.add(spec.solution, arcname=f"solutions/{spec.solution.name}")
        tar.add(spec.assignment, arcname=f"assignments/{spec.assignment.name}")
        tar.add(spec.tests_dir, arcname=f"autograde_tests/{spec.id}",
                filter=lambda info: None if "__pycache__" in info.name else info)
        # course.yaml must load: other exercises' solution files are stubbed out
        for other in spec.course.exercises.values():
            if other.id != spec.id:
                info = tarfile.TarInfo(f"solutions/{other.solution.name}")
                info.size = 2
                tar.addfile(info, io.BytesIO(b"{}"))
    return buffer.getvalue()


def _node_key(exercise_fp: str, container: Any) -> str:
    return f"{exercise_fp} {container}"


def _node_grader(bundle: bytes, exercise_id: str, device: str, exercise_fp: str, container: Any = None,
                 seed: int | None = None) -> Grader:
    """The Grader of this node (worker process) for this exercise version, built once, without
    the reference's answers (:func:`grade_task` hands them over once)."""
    key = _node_key(exercise_fp, container)
    if key not in _NODE_CACHE:
        root = process_tempdir("ray-bundle")
        with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as tar:
            tar.extractall(root, filter="data")
        spec = load_course(root).get(exercise_id)
        if seed is not None:  # the batch's grading seed
            spec.seed = seed
        sandbox = default_sandbox(spec, container=container)
        _NODE_CACHE[key] = Grader(spec, device, Reference(spec, device, {}, sandbox), Catalog([]), exercise_fp,
                                  sandbox)
    return _NODE_CACHE[key]


def warm_node(bundle: bytes, exercise_id: str, device: str, exercise_fp: str, container: Any = None,
              seed: int | None = None) -> int:
    """Body of a warm-up task (CPU only): build this worker's Grader and boot its spare kernel
    (imports, the fork server) while the grader runs the reference; returns the process id."""
    keep_grader_off_gpus([])
    _node_grader(bundle, exercise_id, device, exercise_fp, container, seed).warm()
    return os.getpid()


def grade_task(bundle: bytes, exercise_id: str, device: str, answers: dict, catalog: list,
               exercise_fp: str, student: str, notebook: bytes | None, name: str | None,
               problem: str | None, container: Any = None, seed: int | None = None) -> dict:
    """Body of the Ray task: grade one submission, return plain data."""
    if device == "cuda":  # the GPU(s) Ray gave this task: its slots; the task's own torch stays off them
        import ray
        keep_grader_off_gpus([str(g) for g in ray.get_gpu_ids()])
    else:
        keep_grader_off_gpus([])
    grader = _node_grader(bundle, exercise_id, device, exercise_fp, container, seed)
    key = _node_key(exercise_fp, container)
    if key not in _NODE_ANSWERED:  # the reference's answers: the same for every task of this version
        grader.use_reference(Reference(grader.spec, device, answers, grader.sandbox), Catalog(catalog))
        _NODE_ANSWERED.add(key)
    with tempfile.TemporaryDirectory(prefix="grader-ray-sub-") as tmp:
        path = None
        if notebook is not None:
            path = Path(tmp) / (name or f"{student}.ipynb")
            path.write_bytes(notebook)
        graded = grader.grade(Submission(student, path, problem))
    return {"result": graded.result.to_gradescope(), "executed": graded.executed, "html": graded.html}


class RayBackend:
    """``--backend ray``: each submission a Ray task (local Ray instance or ``--address``)."""

    def __init__(self) -> None:
        self.started_here = False
        self.bundle: Any = None
        self.warming: list[Any] = []

    def start(self, job: GradeJob, todo: list[Submission]) -> None:
        """Connect to Ray (or start a local instance) and, on CPU, have each of ``workers`` Ray
        workers build its Grader and boot a kernel while this process runs the reference."""
        try:
            import ray
        except ImportError:
            raise GradingError("--backend ray needs Ray: pip install -e '.[ray]'") from None
        if not todo:
            return
        self.started_here = _connect(job)
        self.bundle = ray.put(make_bundle(job.spec))
        if job.device != "cuda":  # (a GPU task waits for its slot; warming one would hold it)
            warm = ray.remote(num_cpus=1, max_retries=0)(warm_node)
            self.warming = [warm.remote(self.bundle, job.spec.id, job.device, job.exercise_fp,
                                        job.container, job.spec.seed) for _ in range(max(1, job.workers))]

    def run(self, job: GradeJob, todo: list[Submission], finish: Callable[[Graded], None]) -> None:
        assert job.reference is not None and job.catalog is not None
        job.reference.close()  # the answers travel with the tasks
        if todo:
            run(job, todo, finish, self.bundle)

    def close(self) -> None:
        if not self.started_here and not self.warming:
            return
        import ray
        try:
            # only a speed-up: a worker that could not warm up grades cold; one still warming up
            # (the reference failed before any task ran) is not waited for
            done, running = ray.wait(self.warming, num_returns=len(self.warming), timeout=0)
            for ref in done:
                with contextlib.suppress(Exception):
                    ray.get(ref)
            for ref in running:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
        finally:
            self.warming = []
            if self.started_here:
                ray.shutdown()
                self.started_here = False


def _connect(job: GradeJob) -> bool:
    """ray.init for this batch unless Ray is running already; whether it was started here."""
    import ray
    if ray.is_initialized():
        return False
    if job.address:
        ray.init(address=job.address, log_to_driver=False)
    else:
        # the GPUs by the grader's list: this process hides them from its own CUDA
        # (keep_grader_off_gpus), so Ray's own detection would find none; Ray's processes
        # start with them visible (each task is then given its own)
        gpus = visible_gpus() if job.device == "cuda" else []
        with environment(CUDA_VISIBLE_DEVICES=",".join(gpus)) if gpus else contextlib.nullcontext():
            ray.init(num_cpus=max(1, job.workers), num_gpus=len(gpus), include_dashboard=False, log_to_driver=False)
    return True


def run(job: GradeJob, todo: Iterable[Submission], finish: Callable[[Graded], None], bundle: Any) -> None:
    """Submit one task per submission (Ray connected, the bundle in the object store) and hand
    each result to ``finish`` as it comes."""
    import ray
    assert job.reference is not None and job.catalog is not None
    spec, device = job.spec, job.device
    # a fraction of a GPU when kernels share one (Ray packs that many tasks per GPU)
    remote = ray.remote(num_cpus=1, num_gpus=1 / spec.kernels_per_gpu if device == "cuda" else 0,
                        max_retries=1)(grade_task)
    # the reference's answers (up to megabytes) and the test catalog go to the object store once,
    # not once per task
    answers, catalog = ray.put(job.reference.answers), ray.put(job.catalog.tests)
    pending = {}
    for sub in todo:
        notebook = sub.path.read_bytes() if sub.path is not None and sub.path.is_file() else None
        ref = remote.remote(bundle, spec.id, device, answers, catalog, job.exercise_fp, sub.student,  # type: ignore[call-arg]
                            notebook, sub.path.name if sub.path else None, sub.problem, job.container, spec.seed)
        pending[ref] = sub
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            sub = pending.pop(ref)
            try:
                data = ray.get(ref)
                graded = Graded(GradeResult.from_gradescope(data["result"]), data["executed"], data["html"])
            except Exception as exc:  # noqa: BLE001 - a task lost with its node
                graded = crashed(job, sub, exc)
            finish(graded)
