"""`grader variants --seeds`: the correct versions graded under other grading seeds, and the
grading seed as part of what a grade depends on (a batch's workers get the batch's seed)."""
from __future__ import annotations

import copy

from grader.authoring.variants import grade_under_seeds, load_variants, sweep_seeds, write_cohort
from grader.batch import grade_batch
from grader.cli import EXIT_USAGE, main
from grader.course import load_course
from grader.kernels import forkserver
from grader.pipeline.fingerprint import exercise_fingerprint

from .helpers import ROOT, add_hidden_test, write_submission

SEEDED = '''
import pytest


@pytest.mark.points(1)
def test_seeded(student, grading_seed):
    """a test whose inputs come from the grading seed"""
    other = student.eval("'OTHER_WAY' in globals()")
    assert not (other and grading_seed % 2), f"the other way fails under seed {grading_seed}"
    assert grading_seed != 80, "every version fails under seed 80"
'''


def test_the_grading_seed_is_part_of_the_exercise_fingerprint(mini_course):
    _, spec = mini_course
    other = copy.copy(spec)
    other.seed = spec.seed + 1
    assert exercise_fingerprint(other, "cpu") != exercise_fingerprint(spec, "cpu")
    assert exercise_fingerprint(copy.copy(spec), "cpu") == exercise_fingerprint(spec, "cpu")


def test_correct_versions_graded_under_other_seeds_show_where_a_test_fails_them(mini_course, tmp_path):
    _, spec = mini_course
    spec = add_hidden_test(spec, "test_seeded.py", SEEDED)
    subs = tmp_path / "subs"
    solution = "def double(x):\n    return 2 * x\n"
    write_submission(spec, subs, "reference", solution)
    write_submission(spec, subs, "alternative_sum", "OTHER_WAY = True\ndef double(x):\n    return x + x\n")
    write_submission(spec, subs, "mutant_triple", "def double(x):\n    return 3 * x\n")
    expect = {"reference": "full", "alternative_sum": "full", "mutant_triple": "less"}
    assert spec.seed == 77 and sweep_seeds(4, spec.seed) == [78, 79, 80, 81]
    assert sweep_seeds(3, spec.seed, first=90) == [90, 91, 92]  # --first-seed 90: past seeds already swept
    seen = []

    def grade(other, source, out):
        seen.append((other.seed, sorted(p.stem for p in source.glob("*.ipynb"))))
        # two workers: one of the two submissions is graded in a worker process, which must
        # grade under the batch's seed, not the course's
        return grade_batch(other, source, out, workers=2)

    failures = grade_under_seeds(spec, expect, subs, tmp_path / "seeds", [78, 79, 80, 81], grade)
    assert seen == [(seed, ["alternative_sum", "reference"]) for seed in (78, 79, 80, 81)]  # no mutant
    assert set(failures) == {"test_seeded", "(the reference, before grading)"}
    assert failures["test_seeded"] == {79: {"alternative_sum": "the other way fails under seed 79"},
                                       81: {"alternative_sum": "the other way fails under seed 81"}}
    assert list(failures["(the reference, before grading)"]) == [80]
    assert "every version fails under seed 80" in failures["(the reference, before grading)"][80]["reference"]
    # one batch per seed, each with its own fork server (torch loaded in each for a real
    # exercise): the servers of finished batches are closed, not kept until memory runs out
    assert len(forkserver._SERVERS) <= 2, len(forkserver._SERVERS)


def test_correct_only_writes_the_reference_and_the_alternatives(tmp_path, capsys):
    """`grader variants --correct-only` (a seed sweep without the mutants) grades the versions
    expected at full marks and nothing else."""
    spec = load_course(ROOT).get("week02_autograd")
    variants = load_variants(spec)
    assert variants.alternatives and variants.mutants
    expect = write_cohort(spec, tmp_path / "subs", correct_only=True)
    assert expect == {"reference": "full", **{f"alternative_{a.name}": "full" for a in variants.alternatives}}
    assert sorted(p.stem for p in (tmp_path / "subs").glob("*.ipynb")) == sorted(expect)
    # only mutants named: nothing to grade, said plainly (exit 2), nothing graded
    assert main(["--course", str(ROOT), "variants", spec.id, variants.mutants[0].name, "--correct-only",
                 "--out", str(tmp_path / "cli")]) == EXIT_USAGE
    assert "--correct-only keeps the reference and the alternatives" in capsys.readouterr().err
    assert not (tmp_path / "cli" / "out").exists()
    # --first-seed without --seeds: where would the sweep start? Said before anything is graded
    assert main(["--course", str(ROOT), "variants", spec.id, "--first-seed", "5", "--out", str(tmp_path / "cli")]) == EXIT_USAGE
    assert "give --seeds N with it" in capsys.readouterr().err
    assert not (tmp_path / "cli" / "out").exists()
