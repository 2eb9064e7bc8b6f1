"""``grader profile``: the phases of grading a submission and each hidden test's time, split
into the student's kernel answering probes and the grader's own side."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.authoring.profile import profile, render
from grader.cli import main
from grader.course import load_course
from grader.errors import GraderError

ROOT = Path(__file__).resolve().parents[1]


def test_profile_of_the_reference_splits_every_test_into_kernel_and_grader(capsys):
    spec = load_course(ROOT).get("week02_autograd")
    result = profile(spec, copies=2)
    assert result.submissions == 2 and result.scores == [result.max_score] * 2 == [spec.points] * 2
    assert {"read", "kernel", "cells", "probes", "tests", "feedback"} <= set(result.phases)
    assert len(result.tests) == 20
    by_id = {t.id: t for t in result.tests}
    # every test of week 02 asks the student's kernel something; none waits longer than it ran
    assert all(0 < t.probe_seconds <= t.seconds for t in result.tests), result.tests
    # the suite's probe time is the probes phase (medians of sums vs sums of medians: roughly)
    assert sum(t.probe_seconds for t in result.tests) == pytest.approx(result.phases["probes"], rel=0.5)
    text = render(result, top=3)
    slowest = max(result.tests, key=lambda t: t.seconds)
    assert slowest.id in text and "(17 more)" in text and "probes" in text and "between tests" in text
    assert by_id["test_training"].seconds > 0

    assert main(["--course", str(ROOT), "profile", "week02_autograd", "--n", "1", "--top", "0"]) == 0
    out = capsys.readouterr().out
    assert "1 submission graded" in out and out.count("\ntest_") == 20


def test_profile_refuses_what_it_cannot_grade(tmp_path):
    spec = load_course(ROOT).get("week02_autograd")
    with pytest.raises(GraderError, match="no such notebook"):
        profile(spec, [tmp_path / "missing.ipynb"])
    with pytest.raises(GraderError, match="at least 1"):
        profile(spec, copies=0)
