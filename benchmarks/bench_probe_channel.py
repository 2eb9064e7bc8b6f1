"""The probe channel against probes sent as requests, per exercise, side by side in one run.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_probe_channel.py [--n 3] [--rounds 2] [EXERCISE ...]

For every exercise (default: all of course.yaml), ``--n`` copies of the reference are graded
with one worker (``grade_batch``: sandboxed kernels from the fork server, the hidden suite,
every report), once with the probes going through the probe channel (the default) and once
with ``GRADER_PROBE_CHANNEL=0`` (each probe a request of its own, as before 2026-12-04); the
two alternate, ``--rounds`` times each, the order swapped every round. Reported per exercise:
the probes a submission sends, the median of the "probes" phase (the hidden tests waiting for
the kernel's answers) and of the whole submission (every phase the grader records), each way,
and the ratio. The two ways must give every test the same outcome; the script stops if not.

Writes benchmarks/results/bench_probe_channel.md unless ``--out -``.
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
from grader.kernels import live  # noqa: E402
from results_file import write_results  # noqa: E402


def grade(spec, n: int, channel: bool) -> tuple[list[dict], int]:
    """(the results of ``n`` graded copies of the reference, probes sent per submission)."""
    sent = {"n": 0}
    original = live.LiveKernel._probe

    def counted(self, src, timeout):
        if self.label != "reference":
            sent["n"] += 1
        return original(self, src, timeout)

    os.environ["GRADER_PROBE_CHANNEL"] = "1" if channel else "0"
    live.LiveKernel._probe = counted  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            subs = Path(tmp) / "subs"
            subs.mkdir()
            solution = nbformat.read(spec.solution, as_version=4)
            assignment = nbformat.read(spec.assignment, as_version=4)
            for i in range(n):
                nbformat.write(as_submission(assignment, solution), subs / f"student{i}.ipynb")
            summary = grade_batch(spec, subs, Path(tmp) / "out", workers=1)
    finally:
        live.LiveKernel._probe = original  # type: ignore[method-assign]
        os.environ.pop("GRADER_PROBE_CHANNEL", None)
    return list(summary.results.values()), sent["n"] // n


def outcomes(results: list[dict]) -> list[list[tuple[str, float]]]:
    return [sorted((t["id"], t["score"]) for t in r["tests"]) for r in results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exercises", nargs="*")
    parser.add_argument("--n", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_probe_channel.md"))
    args = parser.parse_args()
    course = load_course(ROOT)
    ids = args.exercises or list(course.exercises)
    rows = []
    for ex in ids:
        spec = course.exercises[ex]
        probes: dict[bool, list[float]] = {True: [], False: []}
        totals: dict[bool, list[float]] = {True: [], False: []}
        seen: dict[bool, list] = {}
        sent = 0
        for rnd in range(args.rounds):
            for channel in ((True, False) if rnd % 2 == 0 else (False, True)):
                results, count = grade(spec, args.n, channel)
                sent = max(sent, count)
                for r in results:
                    phases = r["extra_data"].get("phases", {})
                    probes[channel].append(phases.get("probes", 0.0))
                    totals[channel].append(sum(phases.values()))
                got = outcomes(results)
                if any(o != got[0] for o in got):
                    raise SystemExit(f"{ex}: copies of the reference graded differently ({channel=})")
                seen.setdefault(channel, got[0])
        if seen[True] != seen[False]:
            raise SystemExit(f"{ex}: the channel and requests gave different outcomes: {seen[True]} vs {seen[False]}")
        p_on, p_off = statistics.median(probes[True]), statistics.median(probes[False])
        t_on, t_off = statistics.median(totals[True]), statistics.median(totals[False])
        rows.append(f"| {ex} | {sent} | {p_off:.3f} | {p_on:.3f} | {p_off - p_on:+.3f} | "
                    f"{t_off:.2f} | {t_on:.2f} | {t_off / t_on:.2f}x |")
        print(rows[-1], flush=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_probe_channel.py" + (
        f" --n {args.n}" if args.n != 3 else "") + (f" --rounds {args.rounds}" if args.rounds != 2 else "") + (
        " " + " ".join(args.exercises) if args.exercises else "")
    text = "\n".join([
        "# Probes through the probe channel vs probes sent as requests",
        "",
        f"Measured {stamp} on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, with `{command}`. Per exercise, {args.n} copies of the reference "
        f"graded with one worker each way, {args.rounds} rounds alternating (medians over "
        f"{args.n * args.rounds} submissions each way); every test got the same outcome both ways.",
        "",
        "| exercise | probes per submission | probes phase, requests (s) | probes phase, channel (s) | "
        "saved per submission (s) | submission, requests (s) | submission, channel (s) | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "Probes phase: the hidden tests waiting for the student's kernel to answer their probes "
        "(the probe's own work in the kernel included: a short training run where a test asks for "
        "one). Submission: every phase the grader records for it (kernel start to feedback page).",
        "",
    ])
    write_results(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
