"""Helpers the tests share: the repository's paths, the command line, a tiny one-exercise
course, submissions made from its release. (Fixtures are in conftest.py.)"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def run_cli(*args: str, cwd: Path | None = None) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd or ROOT, text=True,
                          capture_output=True, timeout=600)


# --------------------------------------------------------------------------- a tiny course
MINI_ID = "week01_mini"

MINI_TESTS = '''
import pytest
from grader.testing import assert_close


@pytest.mark.points(2)
def test_double(student, reference):
    """double() doubles numbers"""
    assert student.eval("double(1)") == reference.eval("double(1)"), "double(1) should be 2"
    probe = "[double(x) for x in (0, 1.5, -4)]"
    assert_close(student.eval(probe), reference.eval(probe), "double of 0, 1.5 and -4")


@pytest.mark.points(1)
def test_array(student, reference):
    """double() works on arrays"""
    probe = "import numpy as np; double(np.arange(3.0))"
    assert_close(student.eval(probe), reference.eval(probe), "double of [0, 1, 2]")


@pytest.mark.points(1)
def test_seed(student, grading_seed):
    """the grading seed stays in the grader"""
    assert student.eval("SEED") != grading_seed, "the notebook must not see the grading seed"
    assert student.eval("FAST") is True, "grading runs with FAST = True"
'''


def _mini_notebook():
    import nbformat
    v4 = nbformat.v4

    def meta(gid, *, solution=False, grade=False, points=None):
        m = {"grade": grade, "grade_id": gid, "locked": not solution, "schema_version": 3,
             "solution": solution}
        if grade:
            m["points"] = points or 0
        return {"nbgrader": m}

    params = v4.new_code_cell("SEED = 0\nFAST = False\nDEVICE = 'cpu'\nDATA_DIR = 'data'",
                              metadata={**meta("params"), "tags": ["parameters"]})
    cells = [
        v4.new_markdown_cell("# Mini exercise\nWrite `double`.", metadata=meta("intro")),
        params,
        v4.new_code_cell('def double(x):\n    """Return 2 * x."""\n    ### BEGIN SOLUTION\n'
                         '    return 2 * x\n    ### END SOLUTION', metadata=meta("answer", solution=True)),
        v4.new_code_cell('assert double(2) == 4, "double(2) should be 4"',
                         metadata=meta("check_double", grade=True, points=0)),
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_submission(spec, folder, student, answer_source=None, edit=None):
    """A submission: the released notebook with the answer cell replaced."""
    import nbformat
    nb = nbformat.read(spec.assignment, as_version=4)
    for cell in nb.cells:
        if answer_source is not None and cell.metadata.get("nbgrader", {}).get("grade_id") == "answer":
            cell.source = answer_source
    if edit:
        edit(nb)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{student}.ipynb"
    nbformat.write(nb, path)
    return path


def add_hidden_test(spec, filename, source):
    """Add a test file to an exercise's hidden suite; course.yaml's points follow (they must
    equal the suite's). Returns the exercise as loaded again."""
    import re
    from grader.course import load_course
    from grader.pipeline.suite import collect_points
    (spec.tests_dir / filename).write_text(source)
    total = sum(collect_points(spec.tests_dir).values())
    path = spec.course.root / "course.yaml"
    path.write_text(re.sub(r"points: [\d.]+", f"points: {total:g}", path.read_text(), count=1))
    return load_course(spec.course.root).get(spec.id)


def _parent(pid: int) -> int | None:
    """The parent pid of a live process (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            return int(next(ln for ln in handle if ln.startswith("PPid:")).split()[1])
    except (OSError, StopIteration, ValueError):
        return None


def ours_or_orphaned(pid: int) -> bool:
    """Whether a process descends from this test process, or was orphaned (reparented to init:
    its parent is pid 1). Another grader on this machine (a second pytest-xdist worker) has
    kernels of the same sandbox uids, but their parents are alive and not ours."""
    import os
    me, first = os.getpid(), True
    for _ in range(64):
        parent = _parent(pid)
        if parent is None:
            return False
        if parent == me or (first and parent <= 1):
            return True
        if parent <= 1:
            return False
        pid, first = parent, False
    return False


def not_another_workers(pid: int) -> bool:
    """False for a process started by another pytest-xdist worker of this run: one that descends
    from a sibling of this process (the workers are children of one pytest controller). The
    workers grade side by side and the sandbox uids they lease come from one pool, so a uid this
    test used may already be another worker's kernel. Everything else counts: this process's
    descendants, orphans, and containers' processes (under conmon, whose parent is init)."""
    import os
    me, controller = os.getpid(), os.getppid()
    for _ in range(64):
        parent = _parent(pid)
        if parent is None:
            return True
        if pid == me or parent <= 1:
            return True
        if parent == controller:  # pid is a sibling of this process: another worker
            return False
        pid = parent
    return True


def sandbox_leftovers(uids: "int | range | None" = None, wait: float = 10.0,
                      counts: "Callable[[int], bool]" = ours_or_orphaned) -> list[str]:
    """Processes of the sandbox uids (or of ``uids``) that this test left behind (those for which
    ``counts`` is true: by default descendants of this process or orphans), still there after
    ``wait`` seconds (a kernel being closed takes a moment). Described for the assertion message;
    empty when nothing is left."""
    import time

    from grader.kernels.sandbox import UID_BASE, UID_COUNT, processes_of
    wanted = range(UID_BASE, UID_BASE + UID_COUNT) if uids is None else uids
    deadline = time.monotonic() + wait
    while True:
        left = [p for p in processes_of(wanted) if counts(p)]
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.1)

    def describe(pid: int) -> str:
        try:
            status = dict(ln.split(":", 1) for ln in open(f"/proc/{pid}/status") if ":" in ln)
            cmd = open(f"/proc/{pid}/cmdline").read().replace("\0", " ")[:200]
            return f"{pid} ({status['State'].strip()}, parent {status['PPid'].strip()}: {cmd})"
        except OSError:
            return f"{pid} (gone)"
    return [describe(p) for p in left]
