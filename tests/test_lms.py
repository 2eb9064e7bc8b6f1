"""LMS names, the roster, resubmissions and the late policy (grader.lms)."""
from __future__ import annotations

import json
import os
import re
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from grader import lms
from grader.course import LatePolicy, load_course
from grader.pipeline.discover import discover

from .helpers import write_submission

UTC = timezone.utc


def test_lms_names():
    assert lms.identify("doejane_12345_67890_week02_autograd") == lms.LmsName("canvas", "12345")
    assert lms.identify("doejane_LATE_12345_67890_week02_autograd-2") == lms.LmsName("canvas", "12345", True, 2)
    assert lms.identify("Jane Doe_1234_assignsubmission_file_") == lms.LmsName("moodle", "1234")
    assert lms.identify("Ada Lovelace_123_week02") == lms.LmsName("plain", "Ada Lovelace_123_week02")
    assert lms.identify("ann") == lms.LmsName("plain", "ann")


def test_late_penalty_days_grace_cap_and_no_credit():
    deadline = datetime(2026, 12, 8, 23, 59, tzinfo=timezone(timedelta(hours=1)))
    policy = LatePolicy(deadline=deadline, grace_minutes=15, per_day=0.1, cap=0.25)
    assert lms.late_penalty(policy, deadline + timedelta(minutes=14)) is None          # in the grace period
    one = lms.late_penalty(policy, deadline + timedelta(minutes=16))
    assert (one.fraction, one.days) == (0.1, 1) and "1 day(s) after the deadline" in one.text
    assert lms.late_penalty(policy, deadline + timedelta(days=1, minutes=16)).fraction == 0.2
    assert lms.late_penalty(policy, deadline + timedelta(days=9)).fraction == 0.25     # the cap
    assert lms.late_penalty(policy, None) is None
    assert lms.late_penalty(policy, None, lms_late=True).days == 1                     # Canvas said LATE
    extended = deadline + timedelta(days=3)
    assert lms.late_penalty(policy, deadline + timedelta(days=2), extended) is None     # an extension
    strict = LatePolicy(deadline=deadline, no_credit=True)
    assert lms.late_penalty(strict, deadline + timedelta(seconds=1)).fraction == 1.0
    with pytest.raises(ValueError, match="needs a time zone"):
        LatePolicy(deadline=datetime(2026, 12, 8))


def _zip_member(zf, name, text, when):
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    zf.writestr(info, text)


def test_canvas_zip_with_roster_and_resubmissions(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email,lms_id\ns001,Jane Doe,jane@uni.example,12345\ns002,Max Roe,max@uni.example,777\n")
    mapping = lms.read_roster(roster)
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        _zip_member(zf, "doejane_12345_111_week01_mini.ipynb", "{}", datetime(2026, 12, 1, 10, 0))
        _zip_member(zf, "doejane_LATE_12345_112_week01_mini-1.ipynb", "{}", datetime(2026, 12, 2, 9, 0))
        _zip_member(zf, "roemax_777_113_week01_mini.ipynb", "{}", datetime(2026, 12, 1, 11, 0))
        _zip_member(zf, "strangerx_999_114_week01_mini.ipynb", "{}", datetime(2026, 12, 1, 12, 0))
    subs, warnings = discover(archive, "week01_mini", tmp_path / "ws", mapping)
    assert [s.student for s in subs] == ["s001", "s002", "strangerx_999_114_week01_mini"]
    jane = subs[0]
    assert jane.path.name == "doejane_LATE_12345_112_week01_mini-1.ipynb" and jane.lms_late and jane.attempt == 1
    assert [p.name for p in jane.superseded] == ["doejane_12345_111_week01_mini.ipynb"]
    assert jane.handed_in.replace(tzinfo=None) == datetime(2026, 12, 2, 9, 0) - (
        datetime(2026, 12, 2, 9, 0).astimezone().utcoffset())   # the zip's (local) time, as UTC
    assert any("the roster does not know" in w and "strangerx_999_114_week01_mini" in w for w in warnings)
    assert any(w.startswith("s001: 2 submissions; graded the latest, 'doejane_LATE_12345_112_week01_mini-1'")
               for w in warnings)
    # without a roster the LMS id is the student id, never the (ambiguous) name
    subs, _ = discover(archive, "week01_mini", tmp_path / "ws2")
    assert [s.student for s in subs] == ["canvas_12345", "canvas_777", "canvas_999"]


def test_roster_and_extensions_errors(tmp_path):
    (tmp_path / "r.csv").write_text("id,name,email,lms_id\na,A,a@x,1\nb,B,b@x,1\n")
    with pytest.raises(lms.RosterError, match="the LMS id '1' belongs to two students"):
        lms.read_roster(tmp_path / "r.csv")
    (tmp_path / "e.csv").write_text("id,deadline\na,2026-12-10T12:00\n")
    with pytest.raises(lms.RosterError, match="line 2: '2026-12-10T12:00' has no time zone"):
        lms.read_extensions(tmp_path / "e.csv")


@pytest.mark.slow
def test_late_work_loses_points_on_every_output(mini_course, tmp_path):
    course, spec = mini_course
    path = course.root / "course.yaml"
    path.write_text(re.sub(r"(\n  - id: week01_mini\n)", r"\1    late: {deadline: '2026-12-01T12:00:00+00:00', "
                                                          r"per_day: 0.25, cap: 0.5}\n", path.read_text()))
    spec = load_course(course.root).get(spec.id)
    subs = tmp_path / "subs"
    for student, when in [("early", datetime(2026, 12, 1, 11, 0, tzinfo=UTC)),
                          ("late", datetime(2026, 12, 2, 13, 0, tzinfo=UTC)),
                          ("extended", datetime(2026, 12, 2, 13, 0, tzinfo=UTC))]:
        nb = write_submission(spec, subs, student, "def double(x):\n    return 2 * x")
        os.utime(nb, (when.timestamp(), when.timestamp()))
    # a Canvas resubmission: the latest counts, the first is kept under history/
    first = write_submission(spec, subs, "bo_42_1_week01_mini", "def double(x):\n    return x")
    second = write_submission(spec, subs, "bo_42_2_week01_mini-1", "def double(x):\n    return 2 * x")
    for path, hour in ((first, 9), (second, 10)):
        stamp = datetime(2026, 12, 1, hour, tzinfo=UTC).timestamp()
        os.utime(path, (stamp, stamp))
    from grader.batch import grade_batch
    summary = grade_batch(spec, subs, tmp_path / "out", workers=1,
                          extensions={"extended": datetime(2026, 12, 3, tzinfo=UTC)})
    scores = {s: r["score"] for s, r in summary.results.items()}
    assert scores == {"early": 4, "late": 2, "extended": 4, "canvas_42": 4}   # late: 2 started days, 50% (the cap)
    assert [p.name for p in (tmp_path / "out" / "history" / "canvas_42").iterdir()] == ["1-bo_42_1_week01_mini.ipynb"]
    late = json.loads((tmp_path / "out" / "results" / "late.json").read_text())
    row = late["tests"][-1]
    assert row["name"] == "Late penalty" and row["score"] == -2
    assert "2 day(s) after the deadline 2026-12-01T12:00+00:00; 50% of the points taken off" in row["output"]
    assert "Late penalty" in (tmp_path / "out" / "feedback" / "late.html").read_text()
