"""`grader grade-term`: several exercises' submissions graded in one pool, each exercise's
outputs as `grader grade` writes them, one gradebook, the same grades as one batch at a time."""
from __future__ import annotations

import shutil
import zipfile

import pytest

from grader.authoring.variants import write_cohort
from grader.batch import grade_batch
from grader.cli import main
from grader.course import load_course
from grader.errors import GradingError
from grader.kernels import forkserver
from grader.outputs.gradebook import Gradebook
from grader.term import find_exercises, grade_term

from .helpers import ROOT

pytestmark = pytest.mark.slow  # real kernels

EXERCISES = ("week02_autograd", "week12_bigram_nn")


def _term(tmp_path):
    """SOURCE/week02_autograd/ (a folder) and SOURCE/week12_bigram_nn.zip (an LMS-style zip),
    each with the reference, the stub and one mutant; and a stray file."""
    course = load_course(ROOT)
    source = tmp_path / "term"
    for exercise in EXERCISES:
        spec = course.get(exercise)
        cohort = tmp_path / "cohorts" / exercise
        name = _first_mutant(spec)
        mutant = f"mutant_{name}"
        write_cohort(spec, cohort)
        keep = ["reference", "student_version", mutant]
        if exercise == "week02_autograd":
            (source / exercise).mkdir(parents=True)
            for name in keep:
                shutil.copyfile(cohort / f"{name}.ipynb", source / exercise / f"{name}.ipynb")
        else:
            with zipfile.ZipFile(source / f"{exercise}.zip", "w") as zf:
                for name in keep:
                    zf.write(cohort / f"{name}.ipynb", f"{name}.ipynb")
    (source / "notes.txt").write_text("not an exercise")
    return course, source


def _first_mutant(spec) -> str:
    from grader.authoring.variants import load_variants
    return load_variants(spec).mutants[0].name


def test_a_term_grades_in_one_pool_like_batches_one_at_a_time(tmp_path):
    course, source = _term(tmp_path)
    found, warnings = find_exercises(course, source)
    assert list(found) == list(EXERCISES) and any("notes.txt" in w for w in warnings)

    out = tmp_path / "out"
    totals = []
    summary = grade_term(course, source, out, workers=2, on_total=totals.append)
    assert totals == [6] and list(summary.batches) == list(EXERCISES)
    # the pool's workers are gone: this process's fork servers may be closed again (a process
    # grading term after term must not keep every one, torch loaded in each)
    assert not any(server.shared_with_children for server in forkserver._SERVERS.values())
    book = Gradebook(out / "gradebook.sqlite")
    try:
        assert set(book.exercises()) == set(EXERCISES)
        for exercise in EXERCISES:
            batch = summary.batches[exercise]
            scores = {s: r["score"] for s, r in batch.results.items()}
            spec = course.get(exercise)
            assert scores["reference"] == spec.points and scores["student_version"] == 0
            mutant = next(s for s in scores if s.startswith("mutant_"))
            assert 0 <= scores[mutant] < spec.points
            assert (out / exercise / "results" / "reference.json").is_file()
            assert (out / exercise / "feedback" / f"{mutant}.html").is_file()
            assert {row.student for row in book.submissions(exercise)} == set(scores)
            # the very grades a batch of the exercise alone gives
            alone = grade_batch(spec, found[exercise], tmp_path / f"alone-{exercise}", workers=1)
            assert {s: r["score"] for s, r in alone.results.items()} == scores
            assert {s: [t["output"] for t in r["tests"]] for s, r in alone.results.items()} == \
                {s: [t["output"] for t in r["tests"]] for s, r in batch.results.items()}
    finally:
        book.close()

    again = grade_term(course, source, out, workers=2)
    assert all(b.reused == 3 and b.graded == 0 for b in again.batches.values())


def test_cli_grade_term_writes_an_index_and_refuses_a_folder_without_exercises(tmp_path, capsys):
    course, source = _term(tmp_path)
    shutil.rmtree(source / "week02_autograd")
    out = tmp_path / "out"
    assert main(["--course", str(ROOT), "grade-term", str(source), "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr()
    assert "3 submissions of 1 exercises" in printed.out and "notes.txt" in printed.err
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "week12_bigram_nn/report.html" in index and (out / "week12_bigram_nn" / "report.html").is_file()

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "week99_unknown").mkdir()
    with pytest.raises(GradingError, match="no exercise's submissions"):
        grade_term(course, empty, tmp_path / "out2")
    assert main(["--course", str(ROOT), "grade-term", str(empty), "--out", str(tmp_path / "out3")]) != 0
    assert not (tmp_path / "out3").exists()


def test_an_exercise_whose_reference_fails_is_left_out_and_the_command_fails(mini_course, tmp_path, capsys):
    import nbformat

    from .helpers import MINI_ID
    course, spec = mini_course
    source = tmp_path / "term"
    (source / MINI_ID).mkdir(parents=True)
    shutil.copyfile(spec.solution, source / MINI_ID / "alice.ipynb")
    broken = nbformat.read(spec.solution, as_version=4)
    broken.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('the reference is broken')"))
    nbformat.write(broken, spec.solution)
    summary = grade_term(course, source, tmp_path / "out")
    assert list(summary.failed) == [MINI_ID] and "RuntimeError" in summary.failed[MINI_ID]
    assert summary.batches[MINI_ID].results == {}
    assert main(["--course", str(course.root), "grade-term", str(source), "--out", str(tmp_path / "out2")]) == 1
    assert f"{MINI_ID} was not graded" in capsys.readouterr().err
