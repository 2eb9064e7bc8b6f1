"""Grades changed by hand (grader override), one student graded again (grader regrade), and two
batches compared (grader diff): on real batches of the mini course."""
from __future__ import annotations

import json
import shutil

import pytest

from grader.batch import grade_batch
from grader.outputs.gradebook import Gradebook

from grader.cli import main

from .helpers import write_submission

pytestmark = pytest.mark.slow  # real kernels

GOOD = "def double(x):\n    return 2 * x"
WRONG = "def double(x):\n    return x * 3"


class Cli:
    """`grader ...` run in this process (a subprocess per call costs seconds of imports)."""

    def __init__(self, capsys, root):
        self.capsys, self.root = capsys, root

    def __call__(self, *args):
        code = main(["--course", str(self.root), *args])
        captured = self.capsys.readouterr()
        return type("Proc", (), {"returncode": code, "stdout": captured.out, "stderr": captured.err})


def _result(out, student):
    return json.loads((out / "results" / f"{student}.json").read_text())


def test_override_regrade_and_diff(mini_course, tmp_path, capsys):
    course, spec = mini_course
    run_cli = Cli(capsys, course.root)
    subs, out = tmp_path / "subs", tmp_path / "out"
    write_submission(spec, subs, "ann", GOOD)
    write_submission(spec, subs, "ben", WRONG)
    grade_batch(spec, subs, out, workers=2)
    first = tmp_path / "first"
    shutil.copytree(out, first)
    before = _result(out, "ben")
    assert before["score"] == 1 and [t["score"] for t in before["tests"]] == [0, 0, 1]

    # a test's points by hand: recorded, applied to results, feedback, grades.csv and the report
    proc = run_cli("override", spec.id, "ben", "test_double", "--points", "1.5", "--reason", "partial credit: "
                   "the idea is right", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "test_double set to 1.5 points; now 2.5 / 4 points" in proc.stdout
    after = _result(out, "ben")
    double = next(t for t in after["tests"] if t["id"] == "test_double")
    assert double["score"] == 1.5 and double["output"].startswith("Changed by hand by ")
    assert double["output"].endswith(": partial credit: the idea is right\n[was: double(1) should be 2]")
    assert after["score"] == 2.5 and "1 grade change(s) by hand" in after["extra_data"]["notes"]
    page = (out / "feedback" / "ben.html").read_text()
    assert "partial credit: the idea is right" in page and "2.5 / 4" in page
    assert "ben,2.5,4,graded" in (out / "grades.csv").read_text()
    gradebook = Gradebook(out / "gradebook.sqlite")
    try:
        [row] = gradebook.overrides(spec.id, "ben")
        assert (row.test_id, row.points, row.reason) == ("test_double", 1.5, "partial credit: the idea is right")
        assert [h.score for h in gradebook.history(spec.id, "ben")] == [1.0]   # the grade it replaced
    finally:
        gradebook.close()
    # an adjustment of the total, and a second look at the same test
    assert run_cli("override", spec.id, "ben", "--points", "-0.5", "--reason", "late", "--out", str(out),
                   ).returncode == 0
    assert run_cli("override", spec.id, "ben", "test_double", "--points", "2", "--reason", "regrade request",
                   "--out", str(out)).returncode == 0
    after = _result(out, "ben")
    double = next(t for t in after["tests"] if t["id"] == "test_double")
    assert double["output"].endswith(": regrade request\n[was: double(1) should be 2]")
    assert after["score"] == 2.5 and after["tests"][-1]["name"] == "Adjustment by hand"

    # bad input: one line, exit 2, nothing recorded
    for args, message in [(["ben", "test_nope"], "has no test 'test_nope'"),
                          (["ben", "test_double", "--points", "9"], "worth 2 points: --points must be between 0 and 2"),
                          (["zoe", "test_double"], "has no result for 'zoe' (it has: ann, ben)")]:
        if "--points" not in args:
            args = [*args, "--points", "1"]
        proc = run_cli("override", spec.id, *args, "--reason", "x", "--out", str(out))
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr

    # graded again after a fix: the changes by hand still apply to the new grade
    fixed = write_submission(spec, tmp_path / "fixed", "ben", GOOD)
    proc = run_cli("regrade", spec.id, str(fixed), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    again = _result(out, "ben")
    assert next(t for t in again["tests"] if t["id"] == "test_double")["score"] == 2   # the override in force
    assert again["score"] == 4 - 0.5 and _result(out, "ann")["score"] == 4

    # what changed between the first batch and now
    proc = run_cli("diff", str(first), str(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["student", "A", "B", "what", "changed"]
    assert lines[1].split()[:3] == ["ben", "1", "3.5"] and "test_double: 0 -> 2" in lines[1]
    assert "manual_adjustment: - -> -0.5" in lines[1] and "1 of 2 students differ" in proc.stdout
    proc = run_cli("diff", str(first), str(first))
    assert "no student's grade differs" in proc.stdout
