"""Time to grade a cohort of week-02 submissions with 1 and with 2 workers, side by side.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/grade_week02.py [--n 20]

The cohort cycles through the reference answers, the alternative solutions, every mutant of
variants.yaml and the untouched stub, so it mixes full, partial and zero scores. Both runs
grade the same files from scratch (separate output folders, so nothing is reused); the
reference run and its answer cache are part of each measured time. Writes a markdown table to
benchmarks/results/grade_week02.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.authoring.variants import apply_alternative, apply_mutant, as_submission, load_variants  # noqa: E402
from grader.course import load_course  # noqa: E402
from grader.batch import grade_batch  # noqa: E402


def build(spec, folder: Path, n: int) -> None:
    """Write the cohort."""
    solution = nbformat.read(spec.solution, as_version=4)
    assignment = nbformat.read(spec.assignment, as_version=4)
    variants = load_variants(spec)
    pool = [as_submission(assignment, solution)]
    pool += [as_submission(assignment, apply_alternative(solution, a)) for a in variants.alternatives]
    pool += [as_submission(assignment, apply_mutant(solution, m)) for m in variants.mutants]
    pool.append(assignment)
    folder.mkdir(parents=True)
    for i in range(n):
        nbformat.write(pool[i % len(pool)], folder / f"student{i:03d}.ipynb")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--exercise", default="week02_autograd")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    spec = load_course(ROOT).get(args.exercise)
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "subs"
        build(spec, subs, args.n)
        rows = []
        for workers in (1, 2):
            started = time.monotonic()
            summary = grade_batch(spec, subs, Path(tmp) / f"out{workers}", workers=workers)
            seconds = time.monotonic() - started
            scores = {s: r["score"] for s, r in summary.results.items()}
            rows.append((workers, seconds, scores))
            print(f"{workers} worker(s): {seconds:.1f} s for {args.n} submissions", flush=True)
    differ = [s for s in rows[0][2] if rows[0][2][s] != rows[1][2][s]]
    assert not differ, f"scores differ between 1 and 2 workers: {differ}"
    base = rows[0][1]
    lines = [f"# Grading {args.n} {args.exercise} submissions", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
             f"command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/grade_week02.py --n {args.n}`", "",
             "| workers | seconds | per submission | speed-up vs 1 worker |", "|---|---|---|---|"]
    for workers, seconds, _ in rows:
        lines.append(f"| {workers} | {seconds:.1f} | {seconds / args.n:.2f} s | {base / seconds:.2f}x |")
    lines += ["", f"Scores agree between the two runs for all {args.n} submissions (order-dependent "
              "mutants included: see probe.STABLE_ORDER)."]
    out = ROOT / "benchmarks" / "results" / "grade_week02.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
