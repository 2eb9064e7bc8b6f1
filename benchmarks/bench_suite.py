"""The grader's own side of a hidden suite: a kept pytest session (its tests collected once, or
collected for every run) vs `pytest.main` per submission.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_suite.py [--n 20] [EXERCISE ...]

For each exercise (default: every exercise of the course) the reference solution runs once in a
kernel and answers every probe of its suite; then the suite runs ``--n`` times with every
student probe answered from those answers (no kernel round trip): what is left is what the
grader process itself spends on a submission's tests (pytest, the tests' own code and oracles,
decoding answers). Side by side in one run, alternating: the process's kept pytest session
(grader.pipeline.suite._KeptSession, the default) with its collected tests run again (the
module imported afresh; the default since 2026-12-04), the kept session collecting the suite
for every run (as from 2026-12-03, and still for suites with fixtures or parametrized tests),
and a whole `pytest.main` per run (what the grader did before 2026-12-03, and still does where
the kept session cannot be built). Every run must pass every test. Writes
benchmarks/results/bench_suite.md.
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


KINDS = ("items kept", "collected every run", "pytest.main")
KEPT: dict[tuple[str, str], suite._KeptSession] = {}  # (suite, kind) -> its kept session


class Answered:
    """A student whose every probe is answered with the reference's (cached) answer."""
    hashed = 0

    def __init__(self, reference: Reference):
        self.reference = reference

    def eval(self, src: str, timeout: float | None = None):
        return self.reference.eval(src, timeout)


def _run(spec, reference: Reference, kind: str) -> float:
    key = str(spec.tests_dir)
    session = None
    if kind != "pytest.main":
        if (key, kind) not in KEPT:
            KEPT[key, kind] = suite._KeptSession(spec.tests_dir)
            KEPT[key, kind].keep_items = kind == "items kept"
        session = KEPT[key, kind]
    suite._KEPT[key] = session  # (None: pytest.main)
    started = time.perf_counter()
    outcomes = suite.run_suite(spec.tests_dir, Answered(reference), reference, spec.seed)
    seconds = time.perf_counter() - started
    if session is not None:
        assert suite._KEPT[key] is session and not session.broken, f"{spec.id}: the kept session failed"
        assert (session._items is not None) == session.keep_items, f"{spec.id}: items kept or not as asked"
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
            _run(spec, reference, KINDS[0])  # the reference kernel answers every probe once
        finally:
            reference.close()
        for kind in KINDS[1:]:
            _run(spec, reference, kind)  # (every kind warm)
        times: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for _ in range(args.n):
            for kind in KINDS:
                times[kind].append(_run(spec, reference, kind))
        kept_ms, collect_ms, whole_ms = (1000 * statistics.median(times[k]) for k in KINDS)
        rows.append((exercise, len(suite.collect_points(spec.tests_dir)), whole_ms, collect_ms, kept_ms))
        print(f"{exercise}: pytest.main {whole_ms:.1f} ms, collected every run {collect_ms:.1f} ms, "
              f"items kept {kept_ms:.1f} ms ({whole_ms / kept_ms:.2f}x)", flush=True)
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
        f"answers. Median of {args.n} runs of each kind, alternating, in one process. Kept session,",
        "collected every run: the suite collected again for every submission (its module imported",
        "afresh); items kept (the default): collected once, the module imported afresh for every",
        "submission and the same test items run with its functions.",
        "",
        "| exercise | tests | pytest.main (ms) | kept session, collected every run (ms) "
        "| kept session, items kept (ms) | saved by keeping the items (ms) | vs pytest.main | measured |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    # rows of an earlier run that lack this run's columns are dropped
    kept = {e: line for e, line in kept.items() if line.count("|") == 9}
    for exercise, tests, whole_ms, collect_ms, kept_ms in rows:
        kept[exercise] = (f"| {exercise} | {tests} | {whole_ms:.1f} | {collect_ms:.1f} | {kept_ms:.1f} "
                          f"| {collect_ms - kept_ms:.1f} | {whole_ms / kept_ms:.2f}x | {stamp} |")
    lines += [kept[e] for e in course.exercises if e in kept]
    out.write_text("\n".join(lines + [""] + notes) + ("\n" if not notes else ""), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
