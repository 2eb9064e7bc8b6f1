"""Grading on a Ray cluster: each submission is a Ray task carrying the exercise bundle.

The same :class:`grader.pipeline.grader.Grader` runs inside the task as in a local worker; only the way
work is handed out differs. The bundle (course.yaml, the exercise's reference, release and
hidden tests) goes to the object store once; each node unpacks it once per exercise version.
Nodes need the same environment as the grader (this package, its pinned dependencies) and run
the kernels in the same sandbox; GPUs are scheduled by Ray (``num_gpus=1`` per task), and the
task's ``CUDA_VISIBLE_DEVICES`` becomes the kernel's.
"""
from __future__ import annotations

import contextlib
import io
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

_NODE_CACHE: dict[str, Any] = {}


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


def _node_grader(bundle: bytes, exercise_id: str, device: str, answers: dict, catalog: list,
                 exercise_fp: str, container: Any = None, seed: int | None = None):
    """The Grader of this node (worker process) for this exercise version, built once."""
    key = f"{exercise_fp} {container}"
    if key not in _NODE_CACHE:
        root = process_tempdir("ray-bundle")
        with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as tar:
            tar.extractall(root, filter="data")
        spec = load_course(root).get(exercise_id)
        if seed is not None:  # the batch's grading seed
            spec.seed = seed
        sandbox = default_sandbox(spec, container=container)
        _NODE_CACHE[key] = Grader(spec, device, Reference(spec, device, answers, sandbox),
                                  Catalog(catalog), exercise_fp, sandbox)
    return _NODE_CACHE[key]


def grade_task(bundle: bytes, exercise_id: str, device: str, answers: dict, catalog: list,
               exercise_fp: str, student: str, notebook: bytes | None, name: str | None,
               problem: str | None, container: Any = None, seed: int | None = None) -> dict:
    """Body of the Ray task: grade one submission, return plain data."""
    if device == "cuda":  # the GPU(s) Ray gave this task: its slots; the task's own torch stays off them
        import ray
        keep_grader_off_gpus([str(g) for g in ray.get_gpu_ids()])
    else:
        keep_grader_off_gpus([])
    grader = _node_grader(bundle, exercise_id, device, answers, catalog, exercise_fp, container, seed)
    with tempfile.TemporaryDirectory(prefix="grader-ray-sub-") as tmp:
        path = None
        if notebook is not None:
            path = Path(tmp) / (name or f"{student}.ipynb")
            path.write_bytes(notebook)
        graded = grader.grade(Submission(student, path, problem))
    return {"result": graded.result.to_gradescope(), "executed": graded.executed, "html": graded.html}


class RayBackend:
    """``--backend ray``: each submission a Ray task (local Ray instance or ``--address``)."""

    def start(self, job: GradeJob, todo: list[Submission]) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise GradingError("--backend ray needs Ray: pip install -e '.[ray]'") from None

    def run(self, job: GradeJob, todo: list[Submission], finish: Callable[[Graded], None]) -> None:
        assert job.reference is not None and job.catalog is not None
        job.reference.close()  # the answers travel with the tasks
        run(job, todo, finish)

    def close(self) -> None:
        pass


def run(job: GradeJob, todo: Iterable[Submission], finish: Callable[[Graded], None]) -> None:
    import ray
    assert job.reference is not None and job.catalog is not None
    spec, device, workers, address, container = job.spec, job.device, job.workers, job.address, job.container
    answers, catalog, exercise_fp = job.reference.answers, job.catalog.tests, job.exercise_fp
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            # the GPUs by the grader's list: this process hides them from its own CUDA
            # (keep_grader_off_gpus), so Ray's own detection would find none; Ray's processes
            # start with them visible (each task is then given its own)
            gpus = visible_gpus() if device == "cuda" else []
            with environment(CUDA_VISIBLE_DEVICES=",".join(gpus)) if gpus else contextlib.nullcontext():
                ray.init(num_cpus=max(1, workers), num_gpus=len(gpus), include_dashboard=False,
                         log_to_driver=False)
    try:
        # a fraction of a GPU when kernels share one (Ray packs that many tasks per GPU)
        remote = ray.remote(num_cpus=1, num_gpus=1 / spec.kernels_per_gpu if device == "cuda" else 0,
                            max_retries=1)(grade_task)
        bundle = ray.put(make_bundle(spec))
        pending = {}
        for sub in todo:
            notebook = sub.path.read_bytes() if sub.path is not None and sub.path.is_file() else None
            ref = remote.remote(bundle, spec.id, device, answers, catalog, exercise_fp, sub.student,  # type: ignore[call-arg]
                                notebook, sub.path.name if sub.path else None, sub.problem, container,
                                spec.seed)
            pending[ref] = sub
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                sub = pending.pop(ref)
                try:
                    data = ray.get(ref)
                    graded = Graded(GradeResult.from_gradescope(data["result"]), data["executed"],
                                    data["html"])
                except Exception as exc:  # noqa: BLE001 - a task lost with its node
                    graded = crashed(job, sub, exc)
                finish(graded)
    finally:
        if started_here:
            ray.shutdown()
