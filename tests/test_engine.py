"""The grading engine end to end on a tiny exercise, with real kernels."""
from __future__ import annotations

import json
import sqlite3

import nbformat
import pytest

from grader.errors import GradingError
from grader.batch import grade_batch
from grader.results import GradeResult

from grader.util import _umask

from .helpers import run_cli, sandbox_leftovers, write_submission

pytestmark = pytest.mark.slow  # real kernels or processes

GOOD = 'def double(x):\n    """Return 2 * x."""\n    y = x + x\n    return y'


def _scores(summary):
    return {s: r["score"] for s, r in summary.results.items()}


def test_batch_scores_statuses_and_outputs(mini_course, tmp_path):
    _, spec = mini_course
    subs = tmp_path / "subs"
    write_submission(spec, subs, "good", GOOD)
    write_submission(spec, subs, "wrong", 'def double(x):\n    return x * 3')
    write_submission(spec, subs, "stub")
    write_submission(spec, subs, "loops", 'def double(x):\n    while True:\n        pass')
    write_submission(spec, subs, "hangs_cell", 'import time\ntime.sleep(60)\ndef double(x):\n    return 2 * x')
    write_submission(spec, subs, "dies", 'def double(x):\n    import os, numpy\n'
                     '    if isinstance(x, numpy.ndarray):\n        os._exit(1)\n    return 2 * x')
    (subs / "broken.ipynb").write_text("{not json", encoding="utf-8")
    (subs / "empty.ipynb").write_bytes(b"")
    out = tmp_path / "out"
    summary = grade_batch(spec, subs, out, workers=2)
    res = summary.results
    assert _scores(summary) == {"good": 4, "wrong": 1, "stub": 1, "loops": 1, "hangs_cell": 1,
                                "dies": 2, "broken": 0, "empty": 0}
    # a wrong answer's message says what is wrong, in words
    wrong = {t["id"]: t for t in res["wrong"]["tests"]}
    # exactly the assertion's message: no rewritten-assert explanation, no test source
    assert wrong["test_double"]["output"] == "double(1) should be 2"
    stub = {t["id"]: t for t in res["stub"]["tests"]}
    assert stub["test_double"]["output"] == "your code raised NotImplementedError in double"
    # a probe that never returns is interrupted; the next test still runs
    loops = {t["id"]: t for t in res["loops"]["tests"]}
    assert "longer than 3 s" in loops["test_double"]["output"]
    assert loops["test_seed"]["status"] == "passed"
    # a cell past its timeout is stopped, later cells run, the result says which cell
    assert res["hangs_cell"]["extra_data"]["status"] == "timeout"
    # (as the feedback page numbers it: the injected parameters are In [1], the locked
    # parameters cell In [2], the answer In [3])
    assert res["hangs_cell"]["extra_data"]["reason"].startswith("In [3] was stopped: cell ran longer than 5 s")
    executed = nbformat.read(out / "executed" / "hangs_cell.ipynb", as_version=4)
    assert [c.execution_count for c in executed.cells if "time.sleep(60)" in c.source] == [3]
    # a kernel that dies while answering keeps the credit earned before
    dies = {t["id"]: t for t in res["dies"]["tests"]}
    assert dies["test_double"]["status"] == "passed"
    assert "died" in dies["test_array"]["output"] and "died" in dies["test_seed"]["output"]
    assert res["broken"]["extra_data"]["status"] == "invalid"
    assert "not valid JSON" in res["broken"]["extra_data"]["reason"]
    assert res["empty"]["extra_data"]["reason"] == "the notebook file is empty"
    # outputs: Gradescope-shaped JSON, CSV, gradebook, feedback
    doc = json.loads((out / "results" / "good.json").read_text())
    assert {"score", "tests", "output", "execution_time"} <= set(doc)
    assert {"name", "score", "max_score", "output", "visibility"} <= set(doc["tests"][0])
    # where the time went, phase by phase (the benchmarks' profile); no more than the total
    phases = doc["extra_data"]["phases"]
    assert list(phases) == ["read", "kernel", "cells", "probes", "tests", "kernel close", "feedback"]
    assert all(s >= 0 for s in phases.values()) and sum(phases.values()) <= doc["execution_time"] + 0.01
    # and test by test (a suite's author finds the slow test): every test, within the tests' phases
    timed = doc["extra_data"]["test_seconds"]
    assert set(timed) == {t["id"] for t in doc["tests"]} and all(s > 0 for s in timed.values())
    assert sum(timed.values()) <= phases["probes"] + phases["tests"] + 0.01
    assert GradeResult.from_gradescope(doc).to_gradescope()["extra_data"]["test_seconds"] == timed
    csv_lines = (out / "grades.csv").read_text().splitlines()
    assert csv_lines[0] == "student,score,max_score,status,test_double,test_array,test_seed"
    assert csv_lines[1] == "max points,4,4,,2,1,1"   # the maxima, then one row per student
    assert oct((out / "grades.csv").stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert "good,4,4,graded,2,1,1" in csv_lines
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        assert db.execute("select count(*) from test_results").fetchone()[0] == 8 * 3
        assert db.execute("select count(*) from submissions").fetchone()[0] == 8
    html = (out / "feedback" / "wrong.html").read_text()
    assert "double() doubles numbers" in html and "double(1) should be 2" in html
    assert "assert_close(student.eval" not in html  # never the hidden test source


def test_regrading_resumes_and_never_duplicates(mini_course, tmp_path):
    _, spec = mini_course
    subs = tmp_path / "subs"
    write_submission(spec, subs, "a", GOOD)
    write_submission(spec, subs, "b", 'def double(x):\n    return x')
    out = tmp_path / "out"
    first = grade_batch(spec, subs, out, workers=1)
    assert first.graded == 2
    again = grade_batch(spec, subs, out, workers=1)
    assert again.graded == 0 and again.reused == 2
    assert _scores(again) == _scores(first)
    write_submission(spec, subs, "b", GOOD)  # b hands in a fix: only b is re-graded
    third = grade_batch(spec, subs, out, workers=1)
    assert third.graded == 1 and _scores(third) == {"a": 4, "b": 4}
    forced = grade_batch(spec, subs, out, workers=1, force=True)
    assert forced.graded == 2
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        assert db.execute("select count(*) from submissions").fetchone()[0] == 2
        assert db.execute("select count(*) from test_results").fetchone()[0] == 6


def test_locked_cells_are_restored_and_reported(mini_course, tmp_path):
    _, spec = mini_course

    def tamper(nb):
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid == "params":
                cell.source += "\nFAST = False"
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "check_double"]
        nb.cells.append(nbformat.v4.new_code_cell("extra = 1"))

    write_submission(spec, tmp_path / "subs", "sneaky", GOOD, edit=tamper)
    summary = grade_batch(spec, tmp_path / "subs", tmp_path / "out", workers=1)
    res = summary.results["sneaky"]
    assert res["score"] == 4  # FAST is True again: the edit was undone
    notes = " | ".join(res["extra_data"]["notes"])
    assert "locked cell 'params' was edited" in notes
    assert "locked cell 'check_double' was deleted" in notes
    assert res["extra_data"]["public_checks"] == [{"id": "check_double", "status": "passed", "message": ""}]


def test_reference_must_earn_full_marks(mini_course, tmp_path):
    _, spec = mini_course
    bad = spec.tests_dir / "test_bad.py"
    bad.write_text("import pytest\n\n@pytest.mark.points(1)\ndef test_impossible(student):\n"
                   "    assert student.eval('double(1)') == 3, 'double(1) should be 3'\n")
    write_submission(spec, tmp_path / "subs", "a", GOOD)
    with pytest.raises(GradingError, match="does not earn full marks"):
        grade_batch(spec, tmp_path / "subs", tmp_path / "out")


def test_hidden_test_without_points_is_rejected(mini_course, tmp_path):
    _, spec = mini_course
    (spec.tests_dir / "test_nopoints.py").write_text("def test_x(student):\n    pass\n")
    write_submission(spec, tmp_path / "subs", "a", GOOD)
    with pytest.raises(GradingError, match="has no @pytest.mark.points"):
        grade_batch(spec, tmp_path / "subs", tmp_path / "out")


def test_cli_grade_and_check(mini_course, tmp_path):
    course, spec = mini_course
    subs = tmp_path / "subs"
    good = write_submission(spec, subs, "good", GOOD)
    proc = run_cli("grade", spec.id, str(subs), "--out", str(tmp_path / "out"), "--workers", "1",
                   cwd=course.root)
    assert proc.returncode == 0, proc.stderr
    assert "good" in proc.stdout and "4/4" in proc.stdout
    proc = run_cli("check", str(good), cwd=course.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "✔ check_double" in proc.stdout and "1/1 public checks passed" in proc.stdout
    stub = write_submission(spec, subs, "stub")
    proc = run_cli("check", str(stub), cwd=course.root)
    assert proc.returncode == 1
    assert "✘ check_double: NotImplementedError" in proc.stdout
    proc = run_cli("grade", "week09_nope", str(subs), cwd=course.root)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("grader: error: unknown exercise 'week09_nope' "
                                   "(course.yaml lists: week01_mini)")
    proc = run_cli("grade", spec.id, str(tmp_path / "missing"), cwd=course.root)
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_a_worker_killed_by_the_os_loses_nothing(mini_course, tmp_path):
    """A worker process killed mid-batch (e.g. by the OOM killer): what it held gets an error
    result, this process grades the rest, and the next run regrades the errors."""
    import multiprocessing
    import os
    import signal

    _, spec = mini_course
    subs = tmp_path / "subs"
    students = [f"s{i:02d}" for i in range(8)]
    for student in students:
        write_submission(spec, subs, student, GOOD)
    out = tmp_path / "out"
    killed = []

    def kill_a_worker(student, result):
        if not killed:
            workers = multiprocessing.active_children()
            assert workers, "with 2 workers there is one worker process"
            os.kill(workers[0].pid, signal.SIGKILL)
            killed.append(workers[0].pid)

    summary = grade_batch(spec, subs, out, workers=2, on_result=kill_a_worker)
    assert killed
    # nothing of the dead worker is left running: its kernels went with it
    from grader.kernels.sandbox import is_root
    if is_root():
        # ours: descendants of this process, or orphans (a dead worker's kernels would be
        # reparented); another grader's kernels on this machine have a live parent of theirs
        left = sandbox_leftovers()
        assert not left, f"processes of sandbox uids left: {left}"
    statuses = {s: r["extra_data"]["status"] for s, r in summary.results.items()}
    assert set(statuses) == set(students), "every submission has a result"
    assert set(statuses.values()) <= {"graded", "error"}
    assert "error" in statuses.values(), "the submissions the worker held are marked as errors"
    assert [s for s, v in statuses.items() if v == "graded"], "the others are graded"
    for student, status in statuses.items():
        if status == "graded":
            assert summary.results[student]["score"] == 4
        else:
            assert "stopped unexpectedly" in summary.results[student]["extra_data"]["reason"]
    again = grade_batch(spec, subs, out, workers=1)
    assert again.graded == list(statuses.values()).count("error")
    assert {r["extra_data"]["status"] for r in again.results.values()} == {"graded"}
    assert all(r["score"] == 4 for r in again.results.values())


