"""The reference solution: run once per batch; its answers to probes cached (DESIGN.md §4).

:func:`prepare_reference` executes the reference notebook, runs the hidden suite against it
(it must earn full marks, and its tests' points must be the exercise's ``points``) and saves
the answers in ``OUT/.grader/``, where worker processes and later runs of the same batch find
them. A probe whose answer is not cached starts the reference kernel again (in the student's
GPU slot on GPU).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from ..course import ExerciseSpec
from ..data import kernel_files
from ..errors import GradingError
from ..kernels.gpus import GpuSlot
from ..kernels.live import LiveKernel
from ..kernels.probe import ProbeError, StudentError, decode_reply
from ..kernels.sandbox import Sandbox
from ..kernels.spec import default_sandbox, limits_for
from ..cells import preload_modules
from ..results import TestOutcome
from ..util import fmt_points, write_json_atomic
from .execute import ExecutionReport, execute
from .parameterize import parameterize
from .sanitize import read_notebook
from .suite import SuiteError, run_suite


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
        self.modules: list[str] = []  # the library modules loaded after the reference's run

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
                gpu = self._borrowed or (self._slot.device if self._slot is not None else None)
            kernel = LiveKernel(limits_for(self.spec), device=self.device, seed=self.spec.kernel_seed,
                                files=kernel_files(self.spec.datasets), label="reference",
                                sandbox=self.sandbox, gpu=gpu, preload=preload_modules(nb))
            kernel.start(nb)
            self.execution = execute(kernel, nb)
            self.executed = nb
            self._kernel = kernel
            if self.device != "cuda" and not self.modules:
                self.modules = _library_modules(kernel)
                share_modules(self.spec, self.sandbox, nb, self.modules)
        return self._kernel

    def eval(self, src: str, timeout: float | None = None) -> Any:
        """The ``reference`` fixture of a hidden test: the reference solution's answer to
        ``src``, as ``student.eval`` gives it, cached per probe for the whole batch.
        ``ReferenceFailure`` if the reference itself cannot answer (the exercise's fault)."""
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


def outcomes_from_catalog(catalog: Catalog, message: str) -> list[TestOutcome]:
    """Every test at 0 points with ``message`` (a submission that could not be run)."""
    return [TestOutcome(id=t["id"], name=t["name"], max_score=t["max_score"], score=0.0,
                        status="failed", message=message, visibility=t["visibility"])
            for t in catalog.tests]


def check_points(spec: ExerciseSpec, tests_total: float) -> None:
    """course.yaml's ``points`` must be what the hidden tests are worth together."""
    if abs(tests_total - spec.points) > 1e-9:
        raise GradingError(f"course.yaml gives {spec.id} {fmt_points(spec.points)} points, but its hidden "
                           f"tests are worth {fmt_points(tests_total)} together (their "
                           "@pytest.mark.points); make the two agree")


# The library modules a kernel holds (the standard library and site-packages, not the notebook's
# own files): run in the reference's kernel after its notebook ran.
_LIBRARY_MODULES = """
import os as _os, sys as _sys, sysconfig as _sc
_roots = tuple({_os.path.realpath(_p) + _os.sep for _k, _p in _sc.get_paths().items()
                if _k in ("stdlib", "platstdlib", "purelib", "platlib")})
sorted(_n for _n, _m in list(_sys.modules.items())
       if _m is not None and not _n.startswith("_") and isinstance(getattr(_m, "__file__", None), str)
       and _os.path.realpath(_m.__file__).startswith(_roots))
"""


def _library_modules(kernel: LiveKernel) -> list[str]:
    try:
        names = kernel.eval(_LIBRARY_MODULES, timeout=30)
    except ProbeError:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def share_modules(spec: ExerciseSpec, sandbox: Sandbox, nb: nbformat.NotebookNode, modules: list[str]) -> None:
    """Have the fork server import what the reference's run imported beyond its import
    statements (scikit-image's data loaders pull in imageio and pooch, ``segmentation.slic``
    SciPy's optimisers...): week 05's cells took 1.25 s in a fresh kernel and 0.87 s when run
    again in the same one, 0.93 s with these preloaded. Names only, of installed libraries:
    nothing of the reference's code or answers reaches the server (and so the students'
    kernels). Kernels forked from then on have them; the spares already booted do not."""
    from ..kernels.launchers import preload_in_fork_server
    try:
        preload_in_fork_server(limits_for(spec), sandbox, preload_modules(nb), modules)
    except Exception:  # noqa: BLE001 - only a speed-up
        pass


def reference_state_path(out: Path, exercise_fp: str) -> Path:
    return out / ".grader" / f"reference-{exercise_fp[:16]}.json"


def prepare_reference(spec: ExerciseSpec, device: str, out: Path | None, exercise_fp: str,
                      *, require_full_marks: bool = True,
                      sandbox: Sandbox | None = None) -> tuple[Reference, Catalog]:
    """Execute the reference once, run the hidden suite against it (filling the answer cache),
    and check it earns full marks. Reuses the cache saved by an earlier run of this batch."""
    state_path = reference_state_path(out, exercise_fp) if out is not None else None
    if state_path is not None and state_path.is_file():
        state = json.loads(state_path.read_text())
        catalog = Catalog(state["catalog"])
        check_points(spec, catalog.max_score)
        reference = Reference(spec, device, state["answers"], sandbox)
        reference.modules = [n for n in state.get("modules", []) if isinstance(n, str)]
        if device != "cuda" and reference.modules:
            share_modules(spec, reference.sandbox, read_notebook(spec.solution), reference.modules)
        return reference, catalog
    if not spec.assignment.is_file():
        raise GradingError(f"{spec.assignment} does not exist; run `grader release {spec.id}` first")
    reference = Reference(spec, device, sandbox=sandbox)
    try:
        reference.kernel()
    except Exception as exc:  # noqa: BLE001
        reference.close()
        raise GradingError(f"the reference notebook of {spec.id} could not be executed: {exc}") from None
    assert reference.execution is not None
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
        write_json_atomic(state_path, {"catalog": catalog.tests, "answers": reference.answers,
                                       "modules": reference.modules})
    return reference, catalog
