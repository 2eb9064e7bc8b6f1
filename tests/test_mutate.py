"""`grader mutate`: the automatic mutants it makes, the reviewed survivors it reads, the reports,
and -- slow, through the real engine -- `grader mutate`'s grading and reuse on one exercise. Each
exercise's sample is graded in the exercise contract's pool and must reach the floor of
EXERCISES.md (90% of the counted mutants lose points)."""
from __future__ import annotations

import textwrap

import pytest

from grader.authoring.mutate import (MutationReport, generate, load_reviewed, mutants_of_cell, planned,
                                     render_html, render_markdown, run_mutation, sample)
from grader.course import load_course
from grader.errors import VariantError

from .helpers import ROOT

CELL = textwrap.dedent('''\
    def train(model, opt, xs, ys, lr=0.1, steps=3):
        """docstring"""
        ### BEGIN SOLUTION
        total = 0.0
        for i in range(steps):
            opt.zero_grad()
            out = model(xs).softmax(dim=1).sum(1, keepdim=True)
            loss = (out - ys[1:n]).pow(2).mean()
            loss.backward()
            total += loss.detach().item()
            model.eval()
        if total < 1 and not done:
            return total
        return scale(total, lr)
        ### END SOLUTION

    def untouched(a, b):
        return a + b
    ''')


def changes(mutants):
    """operator -> the mutated lines (stripped) of each mutant made by it."""
    found: dict[str, list[str]] = {}
    for m in mutants:
        added = [line[1:].strip() for line in m.diff.splitlines()[2:] if line.startswith("+")]
        found.setdefault(m.operator, []).append(" | ".join(added))
    return found


def test_mutants_cover_the_operators_an_exercise_needs():
    made = changes(mutants_of_cell("train", CELL))
    assert "opt.zero_grad()" not in " ".join(made["call removed"]) and "pass" in made["call removed"]
    assert any("softmax(dim=0)" in c for c in made["dim/axis changed"])
    assert any(".sum(0, keepdim=True)" in c for c in made["dim/axis changed"])
    assert any(c.endswith(".sum(1)") for c in made["keyword argument left at its default"])
    assert "total = loss.detach().item()" in made["augmented assignment turned into ="]
    assert "total += loss.item()" in made[".detach()/.clone()/.copy() removed"]
    assert "loss = (out - ys[1:n + 1]).pow(2).mean()" in made["slice bound shifted by one"]
    assert "loss = (out - ys[1:n - 1]).pow(2).mean()" in made["slice bound shifted by one"]
    assert "for i in range(steps + 1):" in made["range stop shifted by one"]
    assert "loss = (out + ys[1:n]).pow(2).mean()" in made["operator swapped"]
    assert "if total <= 1 and not done:" in made["operator swapped"]
    assert "if total < 1 and done:" in made["not / ~ removed"]
    assert "total = 1.0" in made["constant + 1"] and "total = -1.0" in made["constant - 1"]
    assert "return" in made["return value removed"]
    assert "return scale(lr, total)" in made["two arguments swapped"]


def test_only_solution_regions_are_mutated_and_each_mutant_names_its_function():
    mutants = mutants_of_cell("train", CELL)
    assert mutants and all(m.function == "train" for m in mutants)
    assert all("a + b" not in line for m in mutants for line in m.diff.splitlines() if line[:1] in "+-")
    assert all(compile(m.source, "x", "exec") for m in mutants)
    assert len({m.id for m in mutants}) == len(mutants) == len({m.source for m in mutants})
    assert mutants_of_cell("plain", "x = 1 + 2\n") == []


def test_mutant_ids_survive_edits_elsewhere_in_the_cell():
    before = {m.id: m.diff.splitlines()[3:] for m in mutants_of_cell("train", CELL)}
    edited = "import math\n\n" + CELL.replace("return a + b", "return a - b")
    after = {m.id: m.diff.splitlines()[3:] for m in mutants_of_cell("train", edited)}
    assert set(before) == set(after)


def test_sample_is_seeded_and_spread_over_functions():
    spec = load_course(ROOT).get("week13_mlp_lm")
    made = generate(spec)
    picked = sample(made, 10, spec.id)
    assert [m.id for m in picked] == [m.id for m in sample(made, 10, spec.id)]
    assert len(picked) == 10 and len({m.function for m in picked}) >= 8
    assert sample(made, None, spec.id) == made


def test_ci_sample_leaves_out_the_reviewed_survivors():
    """The contract's sample (`planned(..., unreviewed=True)`) is drawn from the mutants that
    mutants.yaml does not list, so each graded one must lose points; without the flag the
    reviewed ones can be drawn."""
    spec = load_course(ROOT).get("week03_water_mlp")
    reviewed = load_reviewed(spec)
    assert len(reviewed) >= 20
    everything = planned(spec, None)
    assert {m.id for m in everything.mutants} & set(reviewed)
    ci = planned(spec, None, unreviewed=True)
    assert not {m.id for m in ci.mutants} & set(reviewed)
    assert len(ci.mutants) == everything.made - (len(reviewed) - len(ci.stale))
    few = planned(spec, 4, unreviewed=True)
    assert len(few.mutants) == 4 and not {m.id for m in few.mutants} & set(reviewed)
    assert [m.id for m in few.mutants] == [m.id for m in planned(spec, 4, unreviewed=True).mutants]


def test_reviewed_survivors_need_a_reason_and_a_known_kind(tmp_path):
    spec = load_course(ROOT).get("week12_bigram_nn")

    class Spec:
        tests_dir = tmp_path
    (tmp_path / "mutants.yaml").write_text("survivors:\n  - id: abc\n    kind: equivalent\n    reason: same\n")
    assert load_reviewed(Spec).get("abc").kind == "equivalent"  # type: ignore[arg-type]
    (tmp_path / "mutants.yaml").write_text("survivors:\n  - id: abc\n")
    with pytest.raises(VariantError, match="needs an id and a reason"):
        load_reviewed(Spec)  # type: ignore[arg-type]
    (tmp_path / "mutants.yaml").write_text("survivors:\n  - {id: abc, kind: maybe, reason: x}\n")
    with pytest.raises(VariantError, match="kind must be one of"):
        load_reviewed(Spec)  # type: ignore[arg-type]
    assert isinstance(load_reviewed(spec), dict)


def test_score_leaves_out_reviewed_equivalents_and_reports_show_survivors():
    mutants = mutants_of_cell("train", CELL)[:4]
    from grader.authoring.mutate import Survivor
    report = MutationReport("demo", mutants, made=10,
                            reviewed={mutants[2].id: Survivor(mutants[2].id, "equivalent", "same result"),
                                      mutants[3].id: Survivor(mutants[3].id, "ungradable", "random")})
    report.outcome = {mutants[0].id: "killed", mutants[1].id: "survived",
                      mutants[2].id: "survived", mutants[3].id: "survived"}
    assert (report.killed, len(report.counted)) == (1, 3)
    assert report.score == pytest.approx(1 / 3)
    markdown = render_markdown(report, 0.9)
    assert "**1 of 3 killed (33.3%)**" in markdown and "a sample of the 10 made" in markdown
    assert "Reviewed as equivalent (1)" in markdown and "same result" in markdown
    assert "Accepted as ungradable (1)" in markdown and "Surviving mutants (not reviewed) (1)" in markdown
    page = render_html(report, 0.9)
    assert "is under the floor of 90.0%" in page and '<span class="add">' in page


@pytest.mark.slow
def test_grader_mutate_grades_a_sample_and_a_rerun_grades_nothing_again(tmp_path):
    """`grader mutate`'s own path, through the real engine, on the cheapest exercise: a seeded
    sample graded, scored against the floor, and a rerun reusing every result (keyed by the
    fingerprints). Every exercise's sample is graded in the exercise contract's pool
    (tests/test_exercise_contract.py)."""
    spec = load_course(ROOT).get("week02_autograd")
    report = run_mutation(spec, tmp_path, n=6, workers=2)
    assert report.graded == len(report.mutants) == 6
    assert "error" not in report.outcome.values(), report.outcome
    assert report.score >= 0.9, [f"{m.id} {m.function}: {m.operator}" for m in report.survivors()]
    assert set(report.failed_tests) == {m.id for m in report.mutants}
    again = run_mutation(spec, tmp_path, n=6, workers=1)
    assert (again.graded, again.reused) == (0, len(report.mutants))
    assert again.outcome == report.outcome


def test_cli_lists_mutants_and_refuses_a_bad_floor(capsys):
    from grader.cli import main
    assert main(["--course", str(ROOT), "mutate", "week12_bigram_nn", "--list", "--sample", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 4 and "week12_bigram_nn:" in out and "mutants made" in out
    assert main(["--course", str(ROOT), "mutate", "week12_bigram_nn", "--floor", "90"]) == 2
    assert "--floor is a fraction" in capsys.readouterr().err
