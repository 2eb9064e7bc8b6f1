"""The grader's own side of a hidden suite: a kept pytest session vs `pytest.main` per submission.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_suite.py [--n 20] [EXERCISE ...]

For each exercise (default: every exercise of the course) the reference solution runs once in a
kernel and answers every probe of its suite; then the suite runs ``--n`` times with every
student probe answered from those answers (no kernel round trip): what is left is what the
grader process itself spends on a submission's tests (pytest, the tests' own code and oracles,
decoding answers). Side by side in one run, alternating: the process's kept pytest session
(grader.pipeline.suite._KeptSession, the default) and a whole `pytest.main` per run (what the
grader did before 2026-12-03, and still does where the kept session cannot be built). Every
run must pass every test. Writes benchmarks/results/bench_suite.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.course import load_course  # noqa: E402
from grader.pipeline import suite  # noqa: E402
from grader.pipeline.reference import Reference  # noqa: E402
from results_file import split_notes  # noqa: E402


KEPT: dict[str, suite._KeptSession | None] = {}


class Answered:
    """A student whose every probe is answered with the reference's (cached) answer."""
    hashed = 0

    def __init__(self, reference: Reference):
        self.reference = reference

    def eval(self, src: str, timeout: float | None = None):
        return self.reference.eval(src, timeout)


def _run(spec, reference: Reference, kept: bool) -> float:
    key = str(spec.tests_dir)
    if key in KEPT:  # this process's kept session for the suite, or None: pytest.main
        suite._KEPT[key] = KEPT[key] if kept else None
    started = time.perf_counter()
    outcomes = suite.run_suite(spec.tests_dir, Answered(reference), reference, spec.seed)
    seconds = time.perf_counter() - started
    if kept and key not in KEPT:
        KEPT[key] = suite._KEPT[key]  # built by the first run
        assert isinstance(KEPT[key], suite._KeptSession), "no kept session was built"
    failed = [(t.id, t.message[:120]) for t in outcomes if t.status != "passed"]
    if failed:
        raise SystemExit(f"{spec.id}: the reference's own answers failed {failed}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exercises", nargs="*")
    parser.add_argument("--n", type=int, default=20, help="runs of each kind per exercise (default 20)")
    args = parser.parse_args()
    course = load_course(ROOT)
    ids = args.exercises or list(course.exercises)
    rows = []
    for exercise in ids:
        spec = course.get(exercise)
        reference = Reference(spec, "cpu")
        try:
            _run(spec, reference, kept=True)  # the reference kernel answers every probe once
        finally:
            reference.close()
        _run(spec, reference, kept=False)  # (both kinds warm)
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.n):
            for kept in (True, False):
                times[kept].append(_run(spec, reference, kept))
        kept_ms, whole_ms = (1000 * statistics.median(times[k]) for k in (True, False))
        rows.append((exercise, len(suite.collect_points(spec.tests_dir)), whole_ms, kept_ms))
        print(f"{exercise}: pytest.main {whole_ms:.1f} ms, kept session {kept_ms:.1f} ms "
              f"({whole_ms / kept_ms:.2f}x)", flush=True)
    out = ROOT / "benchmarks" / "results" / "bench_suite.md"
    generated, notes = split_notes(out)
    # a run keeps the rows of the exercises it did not measure (from earlier runs)
    kept = {line.split("|")[1].strip(): line for line in generated if line.startswith("| week")}
    stamp = time.strftime("%Y-%m-%d %H:%M")
    lines = [
        "# The grader's side of a hidden suite: a kept pytest session vs pytest.main per submission",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, with `OMP_NUM_THREADS=1 .venv/bin/python "
        f"benchmarks/bench_suite.py --n {args.n} [EXERCISE ...]` (the last column: when each row was measured).",
        "",
        "Every student probe is answered at once with the reference's answer, so a run is what the",
        "grader process spends on a submission's tests: pytest, the tests' code and oracles, decoding",
        f"answers. Median of {args.n} runs of each kind, alternating, in one process.",
        "",
        "| exercise | tests | pytest.main (ms) | kept session (ms) | saved (ms) | ratio | measured |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for exercise, tests, whole_ms, kept_ms in rows:
        kept[exercise] = (f"| {exercise} | {tests} | {whole_ms:.1f} | {kept_ms:.1f} | {whole_ms - kept_ms:.1f} "
                          f"| {whole_ms / kept_ms:.2f}x | {stamp} |")
    lines += [kept[e] for e in course.exercises if e in kept]
    out.write_text("\n".join(lines + [""] + notes) + ("\n" if not notes else ""), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
