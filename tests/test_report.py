"""The class report, the course page and the exports of a graded batch (grader/outputs)."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.outputs import exports, report
from grader.results import GradeResult, Status, TestOutcome

from .helpers import ROOT, run_cli

TESTS = [("test_forward", "forward pass", 2.0), ("test_backward", "backward pass", 3.0), ("test_quiz", "quiz", 1.0)]


def _result(student: str, passed: set[str], *, status: Status = Status.GRADED, seconds: float = 1.0,
            sha: str | None = None, message: str = "expected 1.5, got 2.5", reason: str | None = None) -> GradeResult:
    tests = [] if status == Status.INVALID else [
        TestOutcome(id=tid, name=name, max_score=pts, score=pts if tid in passed else 0.0,
                    status="passed" if tid in passed else "failed",
                    message="" if tid in passed else f"{name}: {message}")
        for tid, name, pts in TESTS]
    return GradeResult(exercise="week02_autograd", student=student, status=status, tests=tests, reason=reason,
                       seconds=seconds, fingerprint="f" * 64, notebook_sha256=sha or student * 4,
                       graded_at="2026-12-01T10:00:00+00:00")


def _batch(out: Path) -> list[GradeResult]:
    results = [
        _result("ada", {"test_forward", "test_backward", "test_quiz"}, seconds=2.0, sha="same"),
        _result("bob", {"test_forward", "test_backward", "test_quiz"}, seconds=2.5, sha="same"),
        _result("cy", {"test_forward"}, seconds=9.0, message="expected 1.5, got 2.5"),
        _result("dee", {"test_forward", "test_quiz"}, seconds=3.0, message="expected 7.25, got -1"),
        _result("eve", set(), status=Status.TIMEOUT, seconds=30.0, message="gradient is None",
                reason="cell 4 ran past its 30 s timeout"),
        _result("fay", set(), status=Status.INVALID, seconds=0.1, reason="not a notebook"),
    ]
    (out / "results").mkdir(parents=True)
    for r in results:
        (out / "results" / f"{r.student}.json").write_text(json.dumps(r.to_gradescope()))
    (out / "results" / "broken.json").write_text("{not json")
    return results


def test_report_counts_what_a_ta_looks_for(tmp_path):
    _batch(tmp_path)
    batch = report.load(tmp_path)
    assert batch.exercise == "week02_autograd" and batch.unreadable == ["broken.json"]
    assert [r.student for r in batch.results] == ["ada", "bob", "cy", "dee", "eve", "fay"]
    assert batch.max_score == 6 and batch.scores == [6, 6, 2, 3, 0, 0]
    assert batch.statuses() == {"graded": 4, "timeout": 1, "invalid": 1}
    tests = batch.tests()
    # worst pass rate first; the invalid submission (nothing ran) is not counted
    assert [(t.id, t.passed, t.attempts) for t in tests] == [
        ("test_backward", 2, 5), ("test_quiz", 3, 5), ("test_forward", 4, 5)]
    # messages that differ only in their numbers are one kind of failure, most common first
    assert tests[0].common() == [("backward pass: expected 1.5, got 2.5", 2), ("backward pass: gradient is None", 1)]
    assert batch.identical() == [["ada", "bob"]]

    page = report.render(batch, "Deep Learning", now="2026-12-01 10:00 UTC")
    assert "Class report: week02_autograd" in page and "Deep Learning · 6 submissions" in page
    assert page.count("<svg") == 2 and 'id="score-plot"' in page and 'id="time-plot"' in page
    assert "2 × <code>backward pass: expected 1.5, got 2.5</code>" in page
    assert '<a href="feedback/cy.html">cy</a>' in page
    assert "timeout: cell 4 ran past its 30 s timeout" in page
    assert "1 results file(s) could not be read: broken.json" in page
    # self-contained: no script, nothing fetched from anywhere
    assert "<script" not in page and not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "default-src 'none'" in page
    assert report.render(batch, "Deep Learning", now="x") == report.render(batch, "Deep Learning", now="x")


def test_report_cli_and_course_page(tmp_path):
    a, b = tmp_path / "w02", tmp_path / "w03"
    _batch(a)
    _batch(b)
    index = tmp_path / "course.html"
    proc = run_cli("report", str(a), str(b), "--index", str(index), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert (a / "report.html").is_file() and (b / "report.html").is_file()
    page = index.read_text()
    assert '<a href="w02/report.html">week02_autograd</a>' in page and page.count("<tr>") == 3
    assert "backward pass" in page   # the hardest test of each exercise
    proc = run_cli("report", str(tmp_path / "nothing"), cwd=ROOT)
    assert proc.returncode == 2 and "holds no graded batch (no results/ folder)" in proc.stderr


def _roster(path: Path, students: list[str]) -> Path:
    path.write_text("id,name,email,lms_id,section\n" + "".join(
        f"{s},{s.title()} Smith,{s}@uni.example,{1000 + i},A\n" for i, s in enumerate(students)))
    return path


def test_exports_read_back(tmp_path):
    results = _batch(tmp_path)
    roster = exports.load_roster(_roster(tmp_path / "roster.csv", [r.student for r in results]))

    rows = list(csv.reader(io.StringIO(exports.export(results, "tests-csv"))))
    assert rows[0] == ["student", "status", "total", "test_forward", "test_backward", "test_quiz"]
    assert rows[1] == ["max points", "", "6", "2", "3", "1"]
    assert rows[4] == ["cy", "graded", "2", "2", "0", "0"] and rows[7] == ["fay", "invalid", "0", "", "", ""]

    # Canvas: the header, then the Points Possible row, then one row per student by Canvas's user id
    rows = list(csv.reader(io.StringIO(exports.export(results, "canvas", roster=roster, column="Week 2 (77)"))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Week 2 (77)"]
    assert rows[1][0] == "Points Possible" and rows[1][5] == "6"
    assert rows[4] == ["Cy Smith", "1002", "cy", "cy@uni.example", "", "2"]

    rows = list(csv.DictReader(io.StringIO(exports.export(results, "moodle", roster=roster))))
    assert rows[3]["Identifier"] == "Participant 1003" and rows[3]["Grade"] == "3"
    assert rows[3]["Maximum Grade"] == "6" and rows[3]["Feedback comments"] == "3 / 6 points; 1 of 3 tests failed"

    from junitparser import JUnitXml
    xml = tmp_path / "junit.xml"
    xml.write_text(exports.export(results, "junit"))
    suites = {s.name: s for s in JUnitXml.fromfile(str(xml))}
    assert set(suites) == {r.student for r in results}
    assert (suites["cy"].tests, suites["cy"].failures, suites["cy"].errors) == (3, 2, 0)
    failed = [c for c in suites["cy"] if not c.is_passed]
    assert [c.name for c in failed] == ["test_backward", "test_quiz"]
    assert failed[0].result[0].message == "backward pass: expected 1.5, got 2.5"
    assert suites["fay"].tests == 0

    back = [GradeResult.from_gradescope(d) for d in json.loads(exports.export(results, "gradescope"))]
    assert [(r.student, r.score) for r in back] == [(r.student, r.score) for r in results]


def test_exports_refuse_to_guess(tmp_path):
    results = _batch(tmp_path)
    with pytest.raises(exports.ExportError, match="needs --roster"):
        exports.export(results, "canvas")
    roster = exports.load_roster(_roster(tmp_path / "roster.csv", ["ada", "bob"]))
    with pytest.raises(exports.ExportError, match=r"4 student\(s\) are not in the roster: cy, dee, eve, fay"):
        exports.export(results, "moodle", roster=roster)
    (tmp_path / "bad.csv").write_text("id,name\nada,Ada\n")
    with pytest.raises(exports.ExportError, match="missing: email, lms_id"):
        exports.load_roster(tmp_path / "bad.csv")
    (tmp_path / "twice.csv").write_text("id,name,email,lms_id\nada,A,a@x,1\nada,B,b@x,2\n")
    with pytest.raises(exports.ExportError, match="line 3: the id 'ada' is listed twice"):
        exports.load_roster(tmp_path / "twice.csv")
    proc = run_cli("export", str(tmp_path), "--format", "canvas", cwd=ROOT)
    assert proc.returncode == 2 and "needs --roster" in proc.stderr
    proc = run_cli("export", str(tmp_path), "--format", "junit", cwd=ROOT)
    assert proc.returncode == 0 and (tmp_path / "export-junit.xml").is_file()


# --------------------------------------------------------------------------- in a real browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = ROOT / "build" / "screenshots"


def _chromium(url: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--enable-logging=stderr", "--v=0", f"--user-data-dir={SCREENSHOTS / '.profile'}",
                           *flags, url], capture_output=True, text=True, timeout=120)


def _render_in_browser(page: Path, shot: str) -> str:
    """The page's DOM as Chromium built it; fails on any console message (an error, a blocked
    resource, a CSP violation); saves a full-page screenshot under build/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    url = page.resolve().as_uri()
    dom = _chromium(url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, f"the page logged to the console: {console}"
    snap = _chromium(url, f"--screenshot={SCREENSHOTS / shot}", "--window-size=1280,2400", "--hide-scrollbars")
    assert snap.returncode == 0 and (SCREENSHOTS / shot).stat().st_size > 10_000, snap.stderr[-2000:]
    return dom.stdout


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("GRADER_REQUIRE_CHROMIUM"),
                    reason="no chromium on this machine (CI installs Debian's and sets GRADER_REQUIRE_CHROMIUM)")
def test_report_renders_in_headless_chromium(tmp_path):
    assert CHROMIUM, "GRADER_REQUIRE_CHROMIUM is set but chromium is not installed"
    _batch(tmp_path)
    dom = _render_in_browser(report.write(tmp_path, "Deep Learning"), "class-report.png")
    for table in ("summary", "statuses", "tests", "slowest", "identical", "students"):
        assert f'<table id="{table}">' in dom, f"table #{table} is missing from the rendered page"
    for plot in ("score-plot", "time-plot"):
        figure = dom[dom.index(f'id="{plot}"'):]
        assert figure.index("<svg") < figure.index("</figure>") and "<path" in figure[:figure.index("</figure>")]
    assert dom.count('<tr>') >= 20


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("GRADER_REQUIRE_CHROMIUM"),
                    reason="no chromium on this machine (CI installs Debian's and sets GRADER_REQUIRE_CHROMIUM)")
def test_feedback_pages_render_in_headless_chromium(mini_course, tmp_path):
    """A full-marks, a partly wrong and a broken submission's pages, as a student opens them."""
    import nbformat

    from grader.batch import grade_batch

    from .helpers import write_submission
    _, spec = mini_course

    def with_math(nb):
        nb.cells.append(nbformat.v4.new_markdown_cell("The loss is $\\frac{1}{n}\\sum_i (y_i - \\hat y_i)^2$."))

    subs = tmp_path / "subs"
    write_submission(spec, subs, "full", "def double(x):\n    return 2 * x", edit=with_math)
    write_submission(spec, subs, "partly", "def double(x):\n    return x * 3")
    (subs / "broken.ipynb").write_text("{not json", encoding="utf-8")
    grade_batch(spec, subs, tmp_path / "out", workers=2)
    pages = {name: tmp_path / "out" / "feedback" / f"{name}.html" for name in ("full", "partly", "broken")}
    doms = {name: _render_in_browser(page, f"feedback-{name}.png") for name, page in pages.items()}
    assert "<math" in doms["full"] and "<mfrac>" in doms["full"]
    assert "4 / 4" in doms["full"] and "double(1) should be 2" in doms["partly"]
    assert doms["broken"].count("not a notebook") <= 2 and "What to do: hand in the notebook" in doms["broken"]
    for name, page in pages.items():
        assert page.stat().st_size < 80_000, f"the {name} page is {page.stat().st_size} bytes"
