"""Fast unit tests: course.yaml, notebooks, probes, submissions, gradebook, release checks."""
from __future__ import annotations

import base64
import io
import json
import os
import zipfile

import nbformat
import numpy as np
import pytest

from grader.course import CourseError, load_course, parse_size
from grader.outputs.gradebook import Gradebook
from grader.results import GradeResult
from grader.pipeline.sanitize import InvalidNotebook, read_notebook, restore_locked_cells
from grader.kernels.probe import ProbeError, StudentError, decode_reply
from grader.authoring.release import check_release, release, student_version
from grader.pipeline.discover import discover, student_id
from grader.testing import assert_close

from .conftest import MINI_ID, run_cli

# ----------------------------------------------------------------------------- course.yaml

GOOD_YAML = (f"course: C\nexercises:\n  - id: {MINI_ID}\n    title: T\n    week: 1\n    points: 4\n")


def _course_dir(tmp_path, text, notebook=True):
    (tmp_path / "course.yaml").write_text(text)
    (tmp_path / "solutions").mkdir(exist_ok=True)
    if notebook:
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / "solutions" / f"{MINI_ID}.ipynb")
    return tmp_path


def test_course_defaults_resolve(tmp_path):
    course = load_course(_course_dir(tmp_path, GOOD_YAML + "    memory: 512MiB\n"))
    spec = course.get(MINI_ID)
    assert spec.memory == 512 * 1024**2 and spec.cell_timeout == 60 and spec.device == "cpu"
    assert spec.grading_parameters("cpu") == {"SEED": 0, "FAST": True, "DEVICE": "cpu", "DATA_DIR": "data"}


@pytest.mark.parametrize("text, message", [
    (GOOD_YAML.replace("points: 4", "points: -3"),
     f"course.yaml: exercises[0] ({MINI_ID}).points: Input should be greater than or equal to 0"),
    (GOOD_YAML + "    colour: red\n", f"course.yaml: exercises[0] ({MINI_ID}).colour: unknown field"),
    (GOOD_YAML.replace(MINI_ID, "lesson1"),
     "course.yaml: exercises[0] (lesson1).id: must look like 'week02_autograd', got 'lesson1'"),
    (GOOD_YAML + "    memory: lots\n",
     f"course.yaml: exercises[0] ({MINI_ID}).memory: not a size like '2GiB' or '512MB': 'lots'"),
    (GOOD_YAML + "    device: tpu\n",
     f"course.yaml: exercises[0] ({MINI_ID}).device: Input should be 'cpu', 'cuda' or 'auto'"),
    (GOOD_YAML + "    datasets: {nope: offline}\n",
     f"course.yaml: exercises[0] ({MINI_ID}).datasets: unknown dataset 'nope'"),
    ("course: C\nexercises: []\n", "course.yaml: exercises: List should have at least 1 item"),
    ("course: [unclosed\n", "course.yaml: not valid YAML (line 2)"),
])
def test_course_errors_are_one_line(tmp_path, text, message):
    with pytest.raises(CourseError) as info:
        load_course(_course_dir(tmp_path, text))
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_missing_notebook_and_unknown_exercise(tmp_path):
    with pytest.raises(CourseError, match=r"solution notebook solutions/week01_mini.ipynb does not exist"):
        load_course(_course_dir(tmp_path, GOOD_YAML, notebook=False))
    course = load_course(_course_dir(tmp_path, GOOD_YAML))
    with pytest.raises(CourseError, match="unknown exercise 'week09_x'"):
        course.get("week09_x")


def test_cli_reports_bad_course_with_exit_2(tmp_path):
    _course_dir(tmp_path, GOOD_YAML.replace("points: 4", "points: -1"))
    proc = run_cli("validate", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("grader: error: course.yaml: exercises[0]")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_parse_size():
    assert parse_size("2GiB") == 2 * 1024**3 and parse_size("512MB") == 512 * 1000**2
    assert parse_size(1024) == 1024
    with pytest.raises(ValueError):
        parse_size("-1GiB")


def test_the_real_course_loads(course):
    assert "week02_autograd" in course.exercises


# ----------------------------------------------------------------------------- notebooks

@pytest.mark.parametrize("content, reason", [
    (b"", "the notebook file is empty"),
    (b"\xff\xfe{}", "the notebook is not UTF-8 text"),
    (b"{\"cells\": [", "the notebook is not valid JSON"),
    (b"[1, 2]", "the file is JSON but not a Jupyter notebook"),
    (json.dumps({"cells": [], "metadata": {}, "nbformat": 5, "nbformat_minor": 0}).encode(),
     "unsupported notebook format version 5"),
    (json.dumps({"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4,
                 "nbformat_minor": 5}).encode(), "the notebook is not a valid Jupyter notebook"),
])
def test_unreadable_notebooks_get_plain_reasons(tmp_path, content, reason):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(InvalidNotebook) as info:
        read_notebook(path)
    assert str(info.value).startswith(reason)


def test_oversized_notebook(tmp_path):
    path = tmp_path / "big.ipynb"
    path.write_bytes(b" " * 2048)
    with pytest.raises(InvalidNotebook, match="more than"):
        read_notebook(path, max_bytes=1024)


def _cell(kind, source, gid, solution=False):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    return make(source, metadata={"nbgrader": {"grade_id": gid, "solution": solution,
                                               "locked": not solution, "grade": False}})


def test_restore_locked_cells_keeps_answers_and_extras():
    release_nb = nbformat.v4.new_notebook(cells=[
        _cell("markdown", "intro", "intro"), _cell("code", "X = 1", "setup"),
        _cell("code", "raise NotImplementedError()", "answer", solution=True),
        _cell("code", "assert f()", "check")])
    submission = nbformat.v4.new_notebook(cells=[
        _cell("code", "X = 1000", "setup"),                       # edited locked cell
        _cell("code", "def f(): return 1", "answer", solution=True),
        nbformat.v4.new_code_cell("print('scratch')"),           # the student's own cell
        _cell("markdown", "intro", "intro")])                    # moved; check deleted
    out = restore_locked_cells(submission, release_nb)
    sources = [c.source for c in out.nb.cells]
    assert sources == ["intro", "X = 1", "def f(): return 1", "print('scratch')", "assert f()"]
    assert out.notes == ["locked cell 'setup' was edited; the original was restored",
                         "locked cell 'check' was deleted; it was put back"]


# ----------------------------------------------------------------------------- probes

def _npy(array) -> str:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return base64.b64encode(buf.getvalue()).decode()


def test_decode_reply_plain_data_and_arrays():
    text = json.dumps({"ok": True, "value": {"a": [1, 2.5, None, True], "x": {"__ndarray__": _npy(np.eye(2))}}})
    value = decode_reply(text)
    assert value["a"] == [1, 2.5, None, True]
    np.testing.assert_array_equal(value["x"], np.eye(2))
    assert decode_reply('{"ok": true, "value": NaN}') != decode_reply('{"ok": true, "value": NaN}')


def test_decode_reply_never_unpickles():
    text = json.dumps({"ok": True, "value": {"__ndarray__": _npy(np.array([object()], dtype=object))}})
    with pytest.raises(ProbeError, match="unreadable array"):
        decode_reply(text)


@pytest.mark.parametrize("text", ["not json", "[]", '{"value": 1}', "x" * (65 * 1024 * 1024)])
def test_decode_reply_rejects_malformed(text):
    with pytest.raises(ProbeError):
        decode_reply(text)


def test_decode_reply_student_error_message():
    with pytest.raises(StudentError) as info:
        decode_reply(json.dumps({"ok": False, "ename": "ZeroDivisionError", "evalue": "division by zero",
                                 "where": "Value.__truediv__"}))
    assert str(info.value) == "ZeroDivisionError in Value.__truediv__: division by zero"


def test_assert_close_messages():
    assert_close([1.0, [2.0]], [1.0, [2.0 + 1e-9]], "ok")
    with pytest.raises(AssertionError, match=r"^grad of a: \[1\] expected 3, got 2$"):
        assert_close([1, 2], [1, 3], "grad of a")
    with pytest.raises(AssertionError, match="expected shape \\(2,\\), got shape \\(3,\\)"):
        assert_close(np.zeros(3), np.zeros(2), "logits")
    with pytest.raises(AssertionError, match="expected the number 1, got 'a'"):
        assert_close("a", 1, "x")


# ----------------------------------------------------------------------------- submissions

def test_discover_folder_layouts(tmp_path):
    src = tmp_path / "subs"
    (src / "bob").mkdir(parents=True)
    (src / "alice.ipynb").write_text("{}")
    (src / "bob" / f"{MINI_ID}.ipynb").write_text("{}")
    (src / "bob" / "scratch.ipynb").write_text("{}")
    (src / "carol").mkdir()
    (src / "Zoë Ünal.ipynb").write_text("{}")
    subs, warnings = discover(src, MINI_ID, tmp_path / "ws")
    by = {s.student: s for s in subs}
    assert set(by) == {"alice", "bob", "carol", "Zoë_Ünal"}
    assert by["bob"].path.name == f"{MINI_ID}.ipynb"
    assert by["carol"].problem == "no notebook was found in the submission"


def test_discover_zip_is_extracted_safely(tmp_path):
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("submissions/alice.ipynb", "{}")
        zf.writestr("submissions/bob.ipynb", "{}")
        zf.writestr("../../evil.ipynb", "{}")
        zf.writestr("/abs/evil.ipynb", "{}")
        link = zipfile.ZipInfo("submissions/link.ipynb")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    subs, warnings = discover(archive, MINI_ID, tmp_path / "ws")
    assert [s.student for s in subs] == ["alice", "bob"]
    assert len(warnings) == 3
    assert not (tmp_path / "evil.ipynb").exists() and not (tmp_path.parent / "evil.ipynb").exists()


def test_duplicate_student_ids_are_reported(tmp_path):
    src = tmp_path / "subs"
    src.mkdir()
    (src / "ann.ipynb").write_text("{}")
    (src / "ann").mkdir()
    (src / "ann" / "x.ipynb").write_text("{}")
    subs, warnings = discover(src, MINI_ID, tmp_path / "ws")
    assert len(subs) == 1 and "two submissions map to student id 'ann'" in warnings[0]


def test_student_id_is_filesystem_safe():
    assert student_id("../../etc/passwd") == "etc_passwd"
    assert student_id("  ") == "unnamed"


# ----------------------------------------------------------------------------- gradebook

def _result(student, score, tests):
    return GradeResult.from_gradescope({"score": score, "execution_time": 1.0, "tests": [
        {"id": t, "name": t, "score": s, "max_score": 1, "status": "passed" if s else "failed", "output": ""}
        for t, s in tests],
        "extra_data": {"exercise": "e", "student": student, "status": "graded", "max_score": len(tests),
                       "fingerprint": "f"}})


def test_gradebook_replaces_never_duplicates(tmp_path):
    book = Gradebook(tmp_path / "g.sqlite")
    book.record(_result("a", 1, [("t1", 1), ("t2", 0)]))
    book.record(_result("a", 2, [("t1", 1), ("t2", 1)]))
    book.record(_result("b", 0, [("t1", 0), ("t2", 0)]))
    rows = book.submissions("e")
    assert [(r.student, r.score, len(r.tests)) for r in rows] == [("a", 2, 2), ("b", 0, 2)]
    assert book.grades_csv("e").splitlines() == ["student,score,max_score,status,t1,t2",
                                                 "a,2,2,graded,1,1", "b,0,2,graded,0,0"]
    book.close()


# ----------------------------------------------------------------------------- release

def test_release_check_detects_stale_and_leaks(mini_course):
    course, spec = mini_course
    assert check_release(spec) == []
    nb = nbformat.read(spec.assignment, as_version=4)
    original = nbformat.writes(nb)
    nb.cells[2].source = 'def double(x):\n    """Return 2 * x."""\n    return 2 * x'
    nbformat.write(nb, spec.assignment)
    problems = check_release(spec)
    assert any("out of date" in p for p in problems)
    assert any("contains solution text, e.g. 'return 2 * x'" in p for p in problems)
    proc = run_cli("release", "--check", cwd=course.root)
    assert proc.returncode == 1 and "out of date" in proc.stderr
    spec.assignment.write_text(original + "\n")
    (spec.tests_dir / "test_mini.py").write_text(
        (spec.tests_dir / "test_mini.py").read_text() + "\n# secret = 'a hidden test line of some length'\n"
        "SECRET_PROBE = 'double(123456789) == 246913578'\n")
    nb = nbformat.read(spec.assignment, as_version=4)
    nb.cells[0].source += "\nSECRET_PROBE = 'double(123456789) == 246913578'"
    nbformat.write(nb, spec.assignment)
    assert any("hidden-test text" in p for p in check_release(spec))
    assert release(spec) is True and check_release(spec) == []


def test_student_version_keeps_signature_and_docstring(mini_course):
    _, spec = mini_course
    nb = student_version(nbformat.read(spec.solution, as_version=4), spec.id)
    answer = nb.cells[2]
    assert answer.source.startswith('def double(x):\n    """Return 2 * x."""')
    assert "raise NotImplementedError()" in answer.source and "return 2 * x" not in answer.source
    assert nb.cells[1].metadata.get("editable") is False  # locked
    assert nb.metadata["grader"] == {"exercise": spec.id}


def test_bundle_has_no_solutions_or_hidden_tests(mini_course, tmp_path):
    course, spec = mini_course
    proc = run_cli("release", "--bundle", str(tmp_path / "bundle"), cwd=course.root)
    assert proc.returncode == 0, proc.stderr
    files = {p.relative_to(tmp_path / "bundle").as_posix() for p in (tmp_path / "bundle").rglob("*") if p.is_file()}
    assert f"assignments/{spec.id}.ipynb" in files and "README.md" in files and "course.yaml" in files
    assert not any(f.startswith(("autograde_tests", "solutions/")) for f in files)
    assert "seed: 77" not in (tmp_path / "bundle" / "course.yaml").read_text()
    text = "".join((tmp_path / "bundle" / f).read_text(errors="ignore") for f in files)
    assert "return 2 * x" not in text and "double of 0, 1.5 and -4" not in text


def test_exercises_must_be_in_course_order(tmp_path):
    text = ("course: C\nexercises:\n"
            "  - {id: week02_b, title: B, week: 2, points: 1}\n"
            f"  - {{id: {MINI_ID}, title: A, week: 1, points: 1}}\n")
    _course_dir(tmp_path, text)
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "solutions" / "week02_b.ipynb")
    with pytest.raises(CourseError, match=r"exercises\[1\] \(week01_mini\): exercises must be listed "
                                          r"in course order \(week 1 comes after week 2\)"):
        load_course(tmp_path)


def test_real_course_bundle(course, tmp_path):
    from grader.authoring.bundle import bundle
    target = bundle(course, tmp_path / "bundle", list(course.exercises.values()))
    files = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    for exercise in course.exercises:
        assert f"assignments/{exercise}.ipynb" in files
    assert {"assignments/data/names.txt", "assignments/data/water_potability.csv"} <= files
    kit = (target / "kit" / "pyproject.toml").read_text()
    assert '"torch==2.14.1"' in kit and "sqlalchemy" not in kit and "nbgrader" not in kit
    assert "kit/grader/pipeline/check.py" in files and "kit/grader/outputs/templates/grader_feedback/index.html.j2" in files
    assert not any(f.startswith(("autograde_tests/", "solutions/")) for f in files)


def test_leftover_folders_of_dead_processes_are_swept(tmp_path, monkeypatch):
    import subprocess
    import sys
    import tempfile

    from grader import util
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = tmp_path / f"grader-unit-{dead.pid}-abc"
    kept = tmp_path / f"grader-unit-{os.getpid()}-def"
    other = tmp_path / f"grader-unitx-{dead.pid}-ghi"  # another kind
    for folder in (gone, kept, other):
        (folder / "work").mkdir(parents=True)
    made = util.private_dir("unit")
    assert not gone.exists() and kept.exists() and other.exists()
    assert made.name.startswith(f"grader-unit-{os.getpid()}-") and oct(made.stat().st_mode & 0o777) == "0o700"


def test_feedback_pages_show_student_html_without_running_it():
    """A feedback page shows what a student wrote to whoever opens it (TAs, the student): no
    script, event handler, frame or javascript: link survives, CSP bars scripts anyway, and
    ordinary markdown and HTML still render."""
    import re

    import nbformat

    from grader.outputs.feedback import CSP, feedback_html
    v4 = nbformat.v4
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("# Title\n\nSome *text* and $x^2$.\n\n<script>alert('md')</script>"
                             "<img src=x onerror=\"alert('img')\"> <a href=\"javascript:alert(3)\">a</a>"),
        v4.new_code_cell("show()", outputs=[
            v4.new_output("display_data", data={"text/html": "<table><tr><th>h</th></tr></table>"
                                                             "<script>alert('out')</script><iframe src='//x'></iframe>"
                                                             "<div onclick='alert(4)'>d</div>"}),
            v4.new_output("display_data", data={"application/javascript": "alert('js')"}),
            v4.new_output("display_data", data={"text/markdown": "<svg onload=alert(5)></svg> **bold**"}),
            v4.new_output("display_data", data={"image/png": png}),
        ]),
    ])
    result = {"score": 1, "tests": [{"name": "<b>t</b>", "score": 0, "max_score": 1, "status": "failed",
                                     "output": "<script>alert('msg')</script>"}],
              "extra_data": {"exercise": "e", "student": "<i>s</i>", "status": "graded", "max_score": 2}}
    result = GradeResult.from_gradescope(result)
    page = feedback_html(nb, result)
    body = page[page.find("<body"):]
    assert not re.findall(r"<script", body), "a script in the page body"
    assert not re.findall(r"<[^>]+\son\w+\s*=", body), "an event handler survived"
    assert "<iframe" not in body and "javascript:" not in body
    assert "alert('js')" not in body  # JavaScript outputs are dropped, not escaped
    # ordinary content still renders
    for kept in ("<h1", "<em>text</em>", "x^2", "<th>h</th>", "<strong>bold</strong>", f"data:image/png;base64,{png}"):
        assert kept in body, kept
    head = page[:page.find("<body")]
    assert f'content="{CSP}"' in head and head.find("Content-Security-Policy") < head.find("<script")
    assert "script-src https://cdnjs.cloudflare.com/ajax/libs/mathjax/;" in CSP and "'unsafe-inline'" not in CSP.split("style-src")[0]
    # the page for a notebook that could not be run carries the policy too
    assert "Content-Security-Policy" in feedback_html(None, result)
