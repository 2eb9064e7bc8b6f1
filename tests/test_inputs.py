"""Bad input is a graded result with a clear reason, a warning, or a one-line error with exit
code 2; nothing is skipped silently and nothing is lost (issue "nothing is lost or decided by
chance"). On the tiny exercise of conftest, with real kernels."""
from __future__ import annotations

import io
import json
import re
import zipfile

import nbformat
import pytest

from grader.errors import GradingError
from grader.batch import grade_batch
from grader.outputs.gradebook import Gradebook

from .helpers import MINI_ID, run_cli, write_submission

pytestmark = pytest.mark.slow  # real kernels or processes

GOOD = 'def double(x):\n    """Return 2 * x."""\n    return x + x'
WRONG = 'def double(x):\n    return 3 * x'


def _grades(out):
    return {p.stem: json.loads(p.read_text())["score"] for p in (out / "results").glob("*.json")}


def test_a_notebook_of_another_exercise_or_without_cells_is_invalid(mini_course, tmp_path):
    _, spec = mini_course
    subs = tmp_path / "subs"
    write_submission(spec, subs, "good", GOOD)
    other = write_submission(spec, subs, "lost", GOOD)
    nb = nbformat.read(other, as_version=4)
    nb.metadata["grader"] = {"exercise": "week02_autograd"}
    nbformat.write(nb, other)
    empty = nbformat.v4.new_notebook()
    nbformat.write(empty, subs / "blank.ipynb")
    # no exercise id and none of the exercise's cells: copied into a new notebook
    stranger = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(GOOD)])
    nbformat.write(stranger, subs / "stranger.ipynb")
    summary = grade_batch(spec, subs, tmp_path / "out")
    extra = {s: r["extra_data"] for s, r in summary.results.items()}
    assert extra["good"]["status"] == "graded" and summary.results["good"]["score"] == 4
    assert extra["lost"]["status"] == "invalid"
    assert "notebook of week02_autograd, not week01_mini" in extra["lost"]["reason"]
    assert extra["lost"]["notes"] == []  # not 40 "locked cell put back" notes
    assert extra["blank"]["status"] == "invalid" and extra["blank"]["reason"] == "the notebook has no cells"
    assert extra["stranger"]["status"] == "invalid" and "none of the cells" in extra["stranger"]["reason"]


def test_an_output_folder_belongs_to_one_exercise_and_regrades_keep_history(mini_course, tmp_path):
    course, spec = mini_course
    subs, out = tmp_path / "subs", tmp_path / "out"
    write_submission(spec, subs, "ada", GOOD)
    first = grade_batch(spec, subs, out)
    assert (out / ".grader" / "exercise").read_text().strip() == MINI_ID
    # the same folder claimed by another exercise: refused, nothing changes
    (out / ".grader" / "exercise").write_text("week02_autograd\n")
    with pytest.raises(GradingError, match="holds the grades of week02_autograd"):
        grade_batch(spec, subs, out)
    done = run_cli("grade", spec.id, str(subs), "--out", str(out), cwd=course.root)
    assert done.returncode == 2 and "holds the grades of week02_autograd" in done.stderr
    assert _grades(out) == {"ada": 4}
    # a folder from before the marker: its results say whose it is
    (out / ".grader" / "exercise").unlink()
    result = json.loads((out / "results" / "ada.json").read_text())
    result["extra_data"]["exercise"] = "week02_autograd"
    (out / "results" / "ada.json").write_text(json.dumps(result))
    with pytest.raises(GradingError, match="holds the grades of week02_autograd"):
        grade_batch(spec, subs, out)
    # a re-grade keeps the grade it replaces
    (out / "results" / "ada.json").write_text(json.dumps(first.results["ada"]))
    write_submission(spec, subs, "ada", WRONG)
    grade_batch(spec, subs, out)
    grade_batch(spec, subs, out)  # unchanged: reused, no new history
    book = Gradebook(out / "gradebook.sqlite")
    try:
        history = book.history(MINI_ID, "ada")
        assert [(h.score, h.fingerprint) for h in history] == \
            [(4.0, first.results["ada"]["extra_data"]["fingerprint"])]
        assert history[0].graded_at == first.results["ada"]["extra_data"]["graded_at"]
        assert [r.score for r in book.submissions(MINI_ID)] == [1.0]
    finally:
        book.close()


def test_nested_zips_and_upper_case_names_are_graded_and_junk_is_reported(mini_course, tmp_path):
    _, spec = mini_course
    made = tmp_path / "made"
    good = write_submission(spec, made, "x", GOOD).read_bytes()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr(f"bob_work/{MINI_ID}.ipynb", good)
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("alice.IPYNB", good)
        zf.writestr("bob.zip", inner.getvalue())
        zf.writestr("carol/Week01.IPYNB", good)
        zf.writestr("notes.pdf", b"%PDF-1.4")
    summary = grade_batch(spec, archive, tmp_path / "out")
    assert {s: r["score"] for s, r in summary.results.items()} == {"alice": 4, "bob": 4, "carol": 4}
    assert any("notes.pdf" in w and "not a notebook" in w for w in summary.warnings)


def test_empty_or_missing_submissions_are_errors_that_write_nothing(mini_course, tmp_path):
    course, spec = mini_course
    (tmp_path / "empty").mkdir()
    for source in ("empty", "missing"):
        out = tmp_path / f"out-{source}"
        done = run_cli("grade", spec.id, str(tmp_path / source), "--out", str(out), cwd=course.root)
        assert done.returncode == 2, done.stdout + done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
        assert not out.exists(), f"{source}: the output folder was created"
    assert "no submissions found" in run_cli("grade", spec.id, str(tmp_path / "empty"), cwd=course.root).stderr


def test_check_names_the_real_problem(mini_course, tmp_path):
    course, spec = mini_course
    (tmp_path / "notjson.ipynb").write_text("{ this is not json")
    done = run_cli("check", str(tmp_path / "notjson.ipynb"), cwd=course.root)
    assert done.returncode == 1 and "not valid JSON" in done.stdout and "unknown exercise" not in done.stdout
    done = run_cli("check", str(tmp_path), cwd=course.root)
    assert done.returncode == 2 and "is a folder" in done.stderr
    stripped = write_submission(spec, tmp_path / "s", "mine", GOOD)
    nb = nbformat.read(stripped, as_version=4)
    nb.metadata.pop("grader")
    nbformat.write(nb, stripped)
    done = run_cli("check", str(stripped), cwd=course.root)
    assert done.returncode == 2 and "pass --exercise ID" in done.stderr
    assert run_cli("check", str(stripped), "--exercise", spec.id, cwd=course.root).returncode == 0


def test_points_in_course_yaml_must_match_the_hidden_tests(mini_course, tmp_path):
    course, spec = mini_course
    yaml_path = course.root / "course.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("points: 4", "points: 5"))
    done = run_cli("validate", cwd=course.root)
    assert done.returncode == 2 and "worth 4" in done.stderr and "gives week01_mini 5 points" in done.stderr
    write_submission(spec, tmp_path / "subs", "ada", GOOD)
    done = run_cli("grade", spec.id, str(tmp_path / "subs"), "--out", str(tmp_path / "out"), cwd=course.root)
    assert done.returncode == 2 and "worth 4" in done.stderr


def test_data_add_refuses_a_file_that_is_not_the_dataset(tmp_path, monkeypatch):
    from grader.data import DataError, add, offline_path
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "cache"))
    junk = tmp_path / "junk.csv"
    junk.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="is not the 'water' dataset: its header"):
        add("water", junk)
    assert add("water", offline_path("water")).is_file()
    done = run_cli("data", "add", "water", str(junk))
    assert done.returncode == 2 and "not the 'water' dataset" in done.stderr


def test_a_syntax_error_is_named_first_with_the_page_cell_number(mini_course, tmp_path):
    _, spec = mini_course
    write_submission(spec, tmp_path / "subs", "typo", 'def double(x)\n    return 2 * x')
    summary = grade_batch(spec, tmp_path / "subs", tmp_path / "out")
    extra = summary.results["typo"]["extra_data"]
    match = re.fullmatch(r"In \[(\d+)\] raised SyntaxError: .*", extra["reason"])
    assert match, extra["reason"]
    assert re.match(r"\d / 4 points; In \[\d+\] raised SyntaxError: expected ':' \(line 1 of the cell\)$",
                    summary.results["typo"]["output"]), summary.results["typo"]["output"]
    page = (tmp_path / "out" / "feedback" / "typo.html").read_text()
    cause = page.index("The first cell that failed: In [")
    assert cause < page.index("<table>")
    executed = nbformat.read(tmp_path / "out" / "executed" / "typo.ipynb", as_version=4)
    failing = [c for c in executed.cells if c.cell_type == "code"
               and any(o.get("ename") == "SyntaxError" for o in c.get("outputs", []))]
    assert [c.execution_count for c in failing] == [int(match.group(1))]
