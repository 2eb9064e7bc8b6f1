"""``grader profile EXERCISE``: where grading one submission of an exercise spends its time.

For the exercise's author: grades a few copies of the reference solution (or the notebooks
given) with one worker, as ``grader grade`` would, and reports the median of every grading
phase (the same phases a batch records in each result's ``extra_data.phases``) and of every
hidden test, split into the time the student's kernel took to answer the test's probes and the
rest (the grader's side: oracles, decoding answers, pytest). The slow tests are where a suite
gets cheaper: a probe that sends large inputs, an oracle that could be remembered
(``grader.testing.remember``), a training run longer than the check needs.
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..batch import grade_batch
from ..course import ExerciseSpec
from ..errors import GraderError
from ..pipeline.grader import PHASE_WHAT


@dataclass
class TestTime:
    id: str
    name: str
    seconds: float  # median: set-up, call and tear-down
    probe_seconds: float  # median: of which the student's kernel answering probes


@dataclass
class Profile:
    exercise: str
    submissions: int
    scores: list[float]
    max_score: float
    phases: dict[str, float] = field(default_factory=dict)  # median seconds per phase
    tests: list[TestTime] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.phases.values())


def profile(spec: ExerciseSpec, notebooks: list[Path] | None = None, copies: int = 3,
            progress: Callable[[int], None] | None = None) -> Profile:
    """Grade ``notebooks`` (default: ``copies`` copies of the reference solution) with one
    worker, in a temporary folder, and take the medians."""
    if notebooks:
        missing = [str(p) for p in notebooks if not p.is_file()]
        if missing:
            raise GraderError(f"no such notebook: {', '.join(missing)}")
    elif copies < 1:
        raise GraderError("--n must be at least 1")
    with tempfile.TemporaryDirectory(prefix="grader-profile-") as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        sources = notebooks or [spec.solution] * copies
        for i, source in enumerate(sources):
            shutil.copyfile(source, folder / f"s{i:03d}_{source.stem}.ipynb")
        summary = grade_batch(spec, folder, Path(tmp) / "out", workers=1, force=True,
                              progress=progress)
    grades = [summary.grades[k] for k in sorted(summary.grades)]
    timed = [g for g in grades if g.phases]
    if not timed:
        raise GraderError(f"no submission of {spec.id} was graded to the end: "
                          + "; ".join(sorted({str(g.reason) for g in grades})))
    phases: dict[str, float] = {}
    for grade in timed:
        for name in grade.phases:
            phases.setdefault(name, 0.0)
    for name in phases:
        phases[name] = statistics.median(g.phases.get(name, 0.0) for g in timed)
    tests = []
    for outcome in timed[0].tests:
        same = [t for g in timed for t in g.tests if t.id == outcome.id]
        tests.append(TestTime(outcome.id, outcome.name, statistics.median(t.seconds for t in same),
                              statistics.median(t.probe_seconds for t in same)))
    return Profile(spec.id, len(grades), [g.score for g in grades],
                   max((g.max_score for g in grades), default=0.0), phases, tests)


def render(result: Profile, top: int = 15) -> str:
    """The profile as text: phases, then the slowest tests."""
    total = result.total or 1.0
    scores = ", ".join(f"{s:g}" for s in result.scores)
    plural = "s" if result.submissions != 1 else ""
    lines = [f"{result.exercise}: {result.submissions} submission{plural} graded with one worker "
             f"(scores {scores} of {result.max_score:g}); medians per submission", "",
             f"{'phase':<14}{'seconds':>9}{'share':>7}  what"]
    for name, seconds in result.phases.items():
        lines.append(f"{name:<14}{seconds:>9.3f}{seconds / total:>7.0%}  {PHASE_WHAT.get(name, '')}")
    lines.append(f"{'total':<14}{result.total:>9.3f}")
    ranked = sorted(result.tests, key=lambda t: -t.seconds)
    shown = ranked[:top] if top > 0 else ranked
    lines += ["", f"{'test':<44}{'seconds':>9}{'kernel':>9}{'grader':>9}"]
    for test in shown:
        lines.append(f"{test.id[:43]:<44}{test.seconds:>9.3f}{test.probe_seconds:>9.3f}"
                     f"{max(0.0, test.seconds - test.probe_seconds):>9.3f}")
    if len(ranked) > len(shown):
        rest = ranked[len(shown):]
        lines.append(f"{f'({len(rest)} more)':<44}{sum(t.seconds for t in rest):>9.3f}"
                     f"{sum(t.probe_seconds for t in rest):>9.3f}")
    suite = result.phases.get("probes", 0.0) + result.phases.get("tests", 0.0)
    between = suite - sum(t.seconds for t in result.tests)
    if between > 0:
        lines.append(f"{'(collecting the suite, pytest between tests)':<44}{between:>9.3f}{0.0:>9.3f}{between:>9.3f}")
    lines += ["", "kernel: the student's kernel answering the test's probes; grader: the rest "
              "(oracles, decoding answers, pytest)."]
    return "\n".join(lines)
