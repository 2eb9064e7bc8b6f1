"""Per exercise: the reference's plain execution time and the grader's time per submission.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_exercises.py [--n 4] [EXERCISE ...]

For each exercise, side by side in one run (EXERCISES.md, "Benchmarks"):
- plain: the reference notebook executed by papermill with the grading parameters
  (FAST = True), outside any sandbox, in a kernel already started (median of 3 runs; the
  kernel's start is not counted);
- grader: ``--n`` copies of the reference graded with one worker (`grade_batch`, real sandboxed
  kernels, the hidden suite, every report written), after the batch's reference run: the batch
  time minus its reference preparation, per submission;
- the ratio grader / plain, and the reference preparation (what a batch pays once).

Writes benchmarks/results/bench_exercises.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.authoring.variants import as_submission  # noqa: E402
from grader.batch import grade_batch  # noqa: E402
from grader.course import load_course  # noqa: E402
from grader.pipeline import reference as reference_module  # noqa: E402


def plain_seconds(spec, runs: int = 3) -> float:
    """papermill's execution of the reference (grading parameters): the sum of its cells'
    durations as papermill records them (the kernel's start is not counted); median of runs."""
    import shutil

    import papermill

    from grader.data import kernel_files
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in kernel_files(spec.datasets).items():  # what the grader puts beside it
            (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(tmp) / name)
        for _ in range(runs):
            done = papermill.execute_notebook(str(spec.solution), str(Path(tmp) / "out.ipynb"),
                                              parameters=spec.grading_parameters("cpu"),
                                              kernel_name="python3", cwd=tmp,
                                              progress_bar=False)
            times.append(sum(c.metadata.papermill.get("duration") or 0.0 for c in done.cells))
    return statistics.median(times)


def grader_seconds(spec, n: int) -> tuple[float, float]:
    """(seconds per submission with one worker, the batch's reference preparation)."""
    solution = nbformat.read(spec.solution, as_version=4)
    assignment = nbformat.read(spec.assignment, as_version=4)
    prepared = {"s": 0.0}
    original = reference_module.prepare_reference

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            prepared["s"] += time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "subs"
        subs.mkdir()
        for i in range(n):
            nbformat.write(as_submission(assignment, solution), subs / f"student{i}.ipynb")
        import grader.batch as batch_module
        batch_module.prepare_reference = timed  # type: ignore[assignment]
        try:
            summary = grade_batch(spec, subs, Path(tmp) / "out", workers=1)
        finally:
            batch_module.prepare_reference = original  # type: ignore[assignment]
        assert all(r["score"] == r["extra_data"]["max_score"] for r in summary.results.values()), \
            f"{spec.id}: the reference did not earn full marks"
    return (summary.seconds - prepared["s"]) / n, prepared["s"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exercises", nargs="*")
    parser.add_argument("--n", type=int, default=4, help="copies of the reference graded (default 4)")
    args = parser.parse_args()
    course = load_course(ROOT)
    ids = args.exercises or list(course.exercises)
    rows = []
    for exercise in ids:
        spec = course.get(exercise)
        plain = plain_seconds(spec)
        per, prepared = grader_seconds(spec, args.n)
        rows.append((exercise, plain, per, per / plain, prepared))
        print(f"{exercise}: plain {plain:.2f} s, grader {per:.2f} s/submission ({per / plain:.2f}x), "
              f"reference preparation {prepared:.1f} s", flush=True)
    lines = ["# Per exercise: plain execution of the reference vs the grader", "",
             f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, with `OMP_NUM_THREADS=1 .venv/bin/python "
             f"benchmarks/bench_exercises.py --n {args.n}`.", "",
             "plain: papermill-style execution of the reference notebook with the grading parameters "
             "(FAST = True), outside the sandbox, kernel start excluded (median of 3). grader: "
             f"{args.n} copies of the reference graded with one worker (sandboxed kernels, the hidden "
             "suite, all reports), the batch's one-time reference preparation left out, per "
             "submission. Side by side in one run.", "",
             "| exercise | plain (s) | grader per submission (s) | grader / plain | reference preparation, once per batch (s) | measured |",
             "|---|---:|---:|---:|---:|---|"]
    out = ROOT / "benchmarks" / "results" / "bench_exercises.md"
    table = {e: f"| {e} | {p:.2f} | {g:.2f} | {r:.2f}x | {prep:.1f} | {time.strftime('%Y-%m-%d %H:%M')} |"
             for e, p, g, r, prep in rows}
    if args.exercises and out.is_file():
        # a run for some exercises keeps the other exercises' rows (each row's two numbers are
        # from one run, side by side; the last column says which run)
        for line in out.read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if line.startswith("| ") and cells[0] in course.exercises and cells[0] not in table:
                table[cells[0]] = line if len(cells) == 6 else line + " earlier run |"
    lines += [table[e] for e in course.exercises if e in table]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
