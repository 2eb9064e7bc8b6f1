"""A whole term in one pool (`grader grade-term`) vs the same exercises graded one after another.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_term.py [--n 3] [--workers 2] [EXERCISE ...]

For each exercise (default: every exercise of the course) the term holds ``--n`` copies of the
reference and the untouched student version. Side by side in one run, with the same workers:
- one after another: `grade_batch` per exercise (what running `grader grade` per exercise does:
  a pool started per exercise, its reference run while the pool waits);
- one pool: `grade_term` (the workers start once; each reference runs while the workers grade
  the previous exercise's submissions).
Both start from empty output folders (every reference runs in both) and must give the same
scores. Writes benchmarks/results/bench_term.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.batch import grade_batch  # noqa: E402
from grader.course import load_course  # noqa: E402
from grader.term import grade_term  # noqa: E402
from results_file import split_notes  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exercises", nargs="*")
    parser.add_argument("--n", type=int, default=3, help="copies of the reference per exercise (default 3)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    course = load_course(ROOT)
    ids = args.exercises or list(course.exercises)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "term"
        for exercise in ids:
            spec = course.get(exercise)
            folder = source / exercise
            folder.mkdir(parents=True)
            for i in range(args.n):
                shutil.copyfile(spec.solution, folder / f"student{i:02d}.ipynb")
            shutil.copyfile(spec.assignment, folder / "stub.ipynb")
        total = len(ids) * (args.n + 1)

        started = time.monotonic()
        alone = {}
        for exercise in ids:
            summary = grade_batch(course.get(exercise), source / exercise, Path(tmp) / "alone" / exercise,
                                  workers=args.workers)
            alone[exercise] = {s: r["score"] for s, r in summary.results.items()}
        one_by_one = time.monotonic() - started
        print(f"one after another: {one_by_one:.1f} s", flush=True)

        started = time.monotonic()
        term = grade_term(course, source, Path(tmp) / "term-out", workers=args.workers)
        pooled = time.monotonic() - started
        print(f"one pool: {pooled:.1f} s", flush=True)
        together = {e: {s: r["score"] for s, r in b.results.items()} for e, b in term.batches.items()}
        same = together == alone
    lines = ["# A term in one pool vs exercise by exercise", "",
             f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, with `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_term.py "
             f"--n {args.n} --workers {args.workers}{' ' + ' '.join(args.exercises) if args.exercises else ''}`.", "",
             f"{len(ids)} exercises, {args.n} copies of the reference and the stub each ({total} submissions), "
             f"{args.workers} workers, empty output folders (every reference runs in both). Side by side in one run.", "",
             "| how | seconds | per submission | speed-up |", "|---|---:|---:|---:|",
             f"| `grader grade` per exercise, one after another | {one_by_one:.1f} | {one_by_one / total:.2f} | 1.00x |",
             f"| `grader grade-term`, one pool | {pooled:.1f} | {pooled / total:.2f} | {one_by_one / pooled:.2f}x |", "",
             f"Scores identical: {'yes' if same else 'NO'}.", ""]
    out = ROOT / "benchmarks" / "results" / "bench_term.md"
    _, notes = split_notes(out)  # hand-written sections (earlier runs) are kept
    out.write_text("\n".join([*lines, *notes]) + ("\n" if notes else ""), encoding="utf-8")
    print("\n".join(lines))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
