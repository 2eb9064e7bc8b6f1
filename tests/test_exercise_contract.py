"""The exercise contract (DESIGN.md section 7), for every exercise in course.yaml.

Each exercise's cohort -- reference, untouched student version, every mutant and every
alternative from variants.yaml, and the reference once more -- is graded through the real
engine (real kernels, the real hidden suite). All selected exercises' cohorts are graded in one
`grade_term` pool with two workers, as a TA grades a term: one reference per exercise, each
running while the workers grade the previous exercise's cohort. The tests below then check the
results, exercise by exercise.

The same pool grades a seeded sample of AUTOMATIC mutants of each exercise (AUTO_SAMPLE of them,
drawn from those mutants.yaml does not list): each must lose points. `grader mutate <id>` grades
all of them and measures the floor; every exercise's full run was reviewed survivor by survivor
(benchmarks/results/mutation.md), so here a sampled mutant that survives is a suite that got
weaker.

Hand-written mutants: a stable sample of MUTANTS per exercise by default, every one with
``GRADER_CONTRACT_MUTANTS=all`` (or another count). `grader variants <exercise>` grades all of one
exercise's variants, as its author does after changing it.

What CI pays for this: every graded notebook runs in full, training included. With 12
hand-written and 8 automatic mutants per exercise the pool graded 578 notebooks of 21 exercises
in 22 minutes on the 2-core machine; with 8 and 4 it grades 410, in 9 to 17 minutes depending on
how busy the shared machine is. pytest's two xdist workers (--dist loadfile) keep this file in
one worker, so the pool is built once, while the other worker runs the other test files.
"""
from __future__ import annotations

import html
import json
import os
from pathlib import Path

import nbformat
import pytest

from grader.authoring.mutate import planned, score_outcomes, write_mutants
from grader.authoring.variants import cohort_problems, load_variants, mutant_sample, write_cohort
from grader.course import load_course
from grader.term import grade_term
from grader.authoring.release import check_release

from .helpers import ROOT

pytestmark = pytest.mark.slow  # real kernels or processes

COURSE = load_course(ROOT)
EXERCISES = list(COURSE.exercises)
MIN_MUTANTS = 12       # EXERCISES.md: hand-written mutants, one per likely misconception
MIN_ALTERNATIVES = 3   # correct solutions written differently, one in the lecture's style
_WANTED = os.environ.get("GRADER_CONTRACT_MUTANTS", "8").strip().lower()
MUTANTS = None if _WANTED == "all" else int(_WANTED)   # hand-written mutants graded per exercise
AUTO_SAMPLE = 4        # automatic mutants graded per exercise (`grader mutate <id>` grades all)
AUTO = "auto_m"        # the automatic mutants' student names: auto_m<id>


class Cohort:
    def __init__(self, spec, out: Path, results: dict, variants, expect: dict[str, str], mutation):
        self.spec, self.out, self.results, self.variants = spec, out, results, variants
        self.expect, self.mutation = expect, mutation
        # the hand-written mutants this run graded (all of them, or the stable sample)
        self.mutants = [m for m in variants.mutants if f"mutant_{m.name}" in expect]

    def result(self, student: str) -> dict:
        return self.results[student]

    def failing(self, student: str) -> dict[str, dict]:
        return {t["id"]: t for t in self.results[student]["tests"] if t["status"] != "passed"}


def _selected_exercises(session: pytest.Session) -> list[str]:
    """The exercises whose contract tests this run selected (all of them, or those `-k` keeps)."""
    chosen = {item.callspec.params["cohort"] for item in session.items
              if item.module is not None and item.module.__name__ == __name__
              and hasattr(item, "callspec") and "cohort" in item.callspec.params}
    return [ex for ex in EXERCISES if ex in chosen]


@pytest.fixture(scope="session")
def term(request, tmp_path_factory) -> tuple[Path, dict, dict, dict]:
    """Every selected exercise's cohort, graded in one pool: (folder, summaries, expectations,
    the automatic mutants' reports to fill)."""
    folder = tmp_path_factory.mktemp("contract-term")
    expects, mutations = {}, {}
    for exercise in _selected_exercises(request.session):
        spec = COURSE.get(exercise)
        subs = folder / "submissions" / exercise
        drawn = mutant_sample(spec.id, load_variants(spec).mutants, MUTANTS)
        expects[exercise] = write_cohort(spec, subs, mutants=[m.name for m in drawn])
        nbformat.write(nbformat.read(subs / "reference.ipynb", as_version=4), subs / "reference_again.ipynb")
        # a failing submission graded twice (in two kernels, maybe by two workers): one whose
        # wrong numbers depend on set order if there is one
        again = next((m for m in drawn if m.order_dependent), drawn[0]).name
        nbformat.write(nbformat.read(subs / f"mutant_{again}.ipynb", as_version=4), subs / f"again_mutant_{again}.ipynb")
        mutations[exercise] = planned(spec, AUTO_SAMPLE, unreviewed=True)
        write_mutants(spec, mutations[exercise].mutants, subs, prefix=AUTO)
    summary = grade_term(COURSE, folder / "submissions", folder / "out", workers=2)
    assert not summary.warnings, summary.warnings
    return folder, summary, expects, mutations


@pytest.fixture(scope="module", params=EXERCISES)
def cohort(request, term) -> Cohort:
    folder, summary, expects, mutations = term
    spec = COURSE.get(request.param)
    if spec.id in summary.failed:
        pytest.fail(f"{spec.id} was not graded: {summary.failed[spec.id]}")
    results = summary.batches[spec.id].results
    return Cohort(spec, folder / "out" / spec.id, results, load_variants(spec), expects[spec.id],
                  score_outcomes(mutations[spec.id], results, prefix=AUTO))


def test_reference_earns_full_marks(cohort):
    res = cohort.result("reference")
    assert res["extra_data"]["status"] == "graded", res["extra_data"]["reason"]
    assert res["score"] == res["extra_data"]["max_score"] > 0, cohort.failing("reference")


def test_points_match_course_yaml(cohort):
    assert cohort.result("reference")["extra_data"]["max_score"] == cohort.spec.points


def test_student_version_earns_zero_without_crashing(cohort):
    res = cohort.result("student_version")
    assert res["extra_data"]["status"] in ("graded", "timeout", "budget"), res["extra_data"]
    assert res["score"] == 0, [t["id"] for t in res["tests"] if t["status"] == "passed"]
    assert all(t["output"] for t in res["tests"]), "every failed test explains itself"


def test_enough_variants(cohort):
    assert len(cohort.variants.mutants) >= MIN_MUTANTS
    assert len(cohort.variants.alternatives) >= MIN_ALTERNATIVES


def test_every_variant_is_graded_as_expected(cohort):
    """What `grader variants` checks: mutants lose points with their must_fail tests failing,
    alternatives and the reference earn full marks, the stub earns 0."""
    assert cohort_problems(cohort.spec, cohort.expect, cohort.results) == []


def test_every_mutant_loses_points_and_feedback_names_the_failure(cohort):
    assert cohort.mutants, "no hand-written mutant was graded"
    problems = []
    for mutant in cohort.mutants:
        student = f"mutant_{mutant.name}"
        res = cohort.result(student)
        failing = cohort.failing(student)
        if res["score"] >= res["extra_data"]["max_score"]:
            problems.append(f"{mutant.name}: earned full marks")
            continue
        missing = [t for t in mutant.must_fail if t not in failing]
        if missing:
            problems.append(f"{mutant.name}: expected {missing} to fail")
        spilled = [t for t in mutant.must_pass if t in failing]
        if spilled:
            problems.append(f"{mutant.name}: expected {spilled} to pass")
        page = (cohort.out / "feedback" / f"{student}.html").read_text(encoding="utf-8")
        for test in failing.values():
            if html.escape(test["name"]) not in page:
                problems.append(f"{mutant.name}: feedback does not name {test['id']}")
            if not test["output"]:
                problems.append(f"{mutant.name}: {test['id']} failed without a message")
    assert not problems, problems


def test_hidden_suite_kills_sampled_automatic_mutants(cohort):
    """CI's mutation check: a seeded sample of the automatic mutants of the solution regions that
    mutants.yaml does not list (neither equivalent nor accepted as ungradable), graded in the
    contract's pool; every one must lose points."""
    report = cohort.mutation
    unreviewed = report.made - (len(report.reviewed) - len(report.stale))
    assert len(report.mutants) == min(AUTO_SAMPLE, unreviewed) > 0
    assert "error" not in report.outcome.values(), report.outcome
    survivors = [f"{m.id} {m.function}: {m.operator}\n{m.diff}" for m in report.survivors()]
    assert not survivors, ("automatic mutants that earn full marks (kill them with a test, or "
                           "list them in mutants.yaml with the reason):\n" + "\n".join(survivors))


def test_alternative_solutions_earn_full_marks(cohort):
    assert cohort.variants.alternatives, "each exercise needs a differently-written correct solution"
    for alt in cohort.variants.alternatives:
        res = cohort.result(f"alternative_{alt.name}")
        assert res["score"] == res["extra_data"]["max_score"], (alt.name, cohort.failing(f"alternative_{alt.name}"))


def test_grading_is_deterministic(cohort):
    """The reference and a failing submission, each graded twice in the pool (separate kernels,
    in whichever order the workers took them), get the very same tests, points and messages."""
    for first, again in [("reference", "reference_again"),
                         *[(student[len("again_"):], student) for student in cohort.results
                           if student.startswith("again_")]]:
        assert again in cohort.results and first in cohort.results, (first, again)
        assert [(t["id"], t["score"], t["output"]) for t in cohort.result(first)["tests"]] == \
            [(t["id"], t["score"], t["output"]) for t in cohort.result(again)["tests"]], first
    assert any(student.startswith("again_mutant_") for student in cohort.results)


def test_feedback_never_contains_hidden_test_source(cohort):
    hidden_lines = set()
    for path in cohort.spec.tests_dir.rglob("test_*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            # message literals are meant to be shown; code, probes and oracles are not
            if len(line) >= 30 and not line.startswith(("#", '"""', "@pytest", '"', "'", 'f"', "f'")):
                hidden_lines.add(line)
    submissions = cohort.out.parent.parent / "submissions" / cohort.spec.id
    for html_path in (cohort.out / "feedback").glob("*.html"):
        text = html_path.read_text(encoding="utf-8")
        # the student's own code is on their page (a traceback quotes it as plain text): a line
        # of the hidden suite that the submission itself contains (an oracle that repeats the
        # reference's pipeline, a mutant of the reference) is not a leak
        own = {line.strip() for cell in nbformat.read(submissions / f"{html_path.stem}.ipynb", as_version=4).cells
               for line in cell.source.splitlines()}
        leaked = [line for line in hidden_lines - own if line in text]
        assert not leaked, (html_path.name, leaked[:2])
    for json_path in (cohort.out / "results").glob("*.json"):
        text = json.dumps(json.loads(json_path.read_text()))
        assert not [line for line in hidden_lines if line in text], json_path.name


def test_release_is_in_sync(cohort):
    assert check_release(cohort.spec) == []
