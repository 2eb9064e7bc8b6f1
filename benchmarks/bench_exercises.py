"""Per exercise: the reference's plain execution time and the grader's time per submission.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_exercises.py [--n 4] [EXERCISE ...]

For each exercise, side by side in one run (EXERCISES.md, "Benchmarks"; issue "speed at course
scale", target 2):
- cold: what a plain papermill run of the reference costs, kernel start included (wall time,
  median of 2), as a TA without a grader would run each submission;
- plain: the same run's cells only (papermill's cell durations; the kernel's start left out);
- floor: the notebook's own code in a warm interpreter: the notebook run a second time in a
  kernel that has run it once (libraries imported, caches hot), as the grader's warm kernels
  see it; nothing the grader does can make a submission cheaper than this;
- grader: ``--n`` copies of the reference graded with one worker (`grade_batch`, real sandboxed
  kernels, the hidden suite, every report written), after the batch's reference run: the batch
  time minus its reference preparation, per submission; and the same with the default number of
  workers (``--default-workers`` copies, more than the workers so all are busy);
- overhead: grader (one worker) minus floor, what grading adds to the student's own code (the
  target: at most 0.5 s), and the reference preparation (what a batch pays once).

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
from results_file import split_notes  # noqa: E402


def _with_data(spec, tmp: str) -> None:
    import shutil

    from grader.data import kernel_files
    for name, path in kernel_files(spec.datasets).items():  # what the grader puts beside it
        (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(tmp) / name)


def plain_seconds(spec, runs: int = 2) -> tuple[float, float]:
    """papermill's execution of the reference (grading parameters), median of runs:
    (wall time with the kernel's start, the sum of the cells' durations papermill records)."""
    import papermill
    walls, cells = [], []
    with tempfile.TemporaryDirectory() as tmp:
        _with_data(spec, tmp)
        for _ in range(runs):
            started = time.perf_counter()
            done = papermill.execute_notebook(str(spec.solution), str(Path(tmp) / "out.ipynb"),
                                              parameters=spec.grading_parameters("cpu"),
                                              kernel_name="python3", cwd=tmp,
                                              progress_bar=False)
            walls.append(time.perf_counter() - started)
            cells.append(sum(c.metadata.papermill.get("duration") or 0.0 for c in done.cells))
    return statistics.median(walls), statistics.median(cells)


def floor_seconds(spec) -> float:
    """The reference's cells run a second time in one kernel (the first run imports and warms)."""
    from nbclient import NotebookClient
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook
    nb = parameterize_notebook(load_notebook_node(str(spec.solution)), spec.grading_parameters("cpu"))
    with tempfile.TemporaryDirectory() as tmp:
        _with_data(spec, tmp)
        client = NotebookClient(nb, kernel_name="python3", timeout=600,
                                resources={"metadata": {"path": tmp}})
        times = []
        with client.setup_kernel():
            for _ in range(2):
                started = time.perf_counter()
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
                times.append(time.perf_counter() - started)
    return times[-1]


PHASES = ("kernel", "cells", "probes", "tests", "kernel close", "feedback")


def grader_seconds(spec, n: int, workers: int = 1, profile: dict | None = None) -> tuple[float, float]:
    """(seconds per submission with ``workers``, the batch's reference preparation); with
    ``profile``, fills it with the median seconds of each grading phase the results record
    (``extra_data.phases``) and the outputs written per submission (``write``)."""
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
            summary = grade_batch(spec, subs, Path(tmp) / "out", workers=workers)
        finally:
            batch_module.prepare_reference = original  # type: ignore[assignment]
        assert all(r["score"] == r["extra_data"]["max_score"] for r in summary.results.values()), \
            f"{spec.id}: the reference did not earn full marks"
        if profile is not None:
            for phase in PHASES:
                profile[phase] = statistics.median(r["extra_data"].get("phases", {}).get(phase, 0.0)
                                                   for r in summary.results.values())
            profile["write"] = summary.writing_seconds / max(summary.graded, 1)
    return (summary.seconds - prepared["s"]) / n, prepared["s"]


PROFILE = ("| exercise | kernel start (s) | cells (s) | hidden tests: probes (s) | hidden tests: the rest (s) | "
           "kernel close (s) | score and feedback (s) | outputs written (s) | beyond the cells (s) | measured |")


def profile_row(exercise: str, values: list[str], stamp: str) -> str:
    """A row of the profile table from its seven phase columns (as written), with what the grader
    and the suite add to the cells: every phase but the cells, summed."""
    beyond = sum(float(v) for i, v in enumerate(values) if i != 1)
    return f"| {exercise} | " + " | ".join(values) + f" | {beyond:.2f} | {stamp} |"
COLUMNS = ("| exercise | cold papermill (s) | plain cells (s) | floor (s) | grader, 1 worker (s) | "
           "grader, default workers (s) | overhead (s) | reference preparation, once per batch (s) | measured |")


def main() -> int:
    from grader.cli import default_workers
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exercises", nargs="*")
    parser.add_argument("--n", type=int, default=2, help="copies of the reference graded with one worker (default 2)")
    parser.add_argument("--default-n", type=int, default=6,
                        help="copies graded with the default workers (default 6)")
    args = parser.parse_args()
    course = load_course(ROOT)
    ids = args.exercises or list(course.exercises)
    workers = default_workers()
    out = ROOT / "benchmarks" / "results" / "bench_exercises.md"
    stamp = time.strftime('%Y-%m-%d %H:%M')
    table: dict[str, str] = {}
    profiles: dict[str, str] = {}

    def write() -> None:
        lines = ["# Per exercise: plain execution of the reference vs the grader", "",
                 f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, "
                 f"Python {platform.python_version()}, with `OMP_NUM_THREADS=1 .venv/bin/python "
                 f"benchmarks/bench_exercises.py --n {args.n} --default-n {args.default_n}`.", "",
                 "cold: a plain papermill run of the reference with the grading parameters (FAST = True), "
                 "outside the sandbox, kernel start included (wall, median of 2). plain cells: the same "
                 "runs' cell durations. floor: the cells run a second time in the same kernel (the "
                 "notebook's own code in a warm interpreter). grader: copies of the reference graded "
                 "(sandboxed kernels, the hidden suite, all reports, the batch's one-time reference "
                 f"preparation left out): with one worker the marginal time (a batch of {1 + args.n} minus "
                 f"a batch of 1, per added submission), with the default {workers} workers the time per "
                 f"submission of a batch of {args.default_n}. overhead: grader (1 worker) minus floor. Side "
                 "by side in one run per row; the last column says which run. The marginal time is a "
                 "difference of two batches, so it is noisy on a shared machine (an overhead below 0 "
                 "means the noise was larger than the overhead); the profile below, a median per "
                 "submission, is steadier.", "",
                 COLUMNS, "|---|" + "---:|" * 7 + "---|"]
        earlier: dict[str, str] = {}
        generated, notes = split_notes(out)  # hand-written sections are kept as they are
        if generated:
            # a run keeps the rows of the exercises it has not measured (yet) (those measured with other
            # columns, by an earlier version of this script, in a table of their own)
            in_profile = False
            for line in generated:
                # (the header as it is, or as an earlier version of this script wrote it)
                in_profile = (in_profile or line.startswith(PROFILE.split(" | cells")[0])) and bool(line.strip())
                cells = [c.strip() for c in line.strip("|").split("|")]
                if not line.startswith("| ") or cells[0] not in course.exercises:
                    continue
                if in_profile:
                    profiles.setdefault(cells[0], profile_row(cells[0], cells[1:8], cells[-1]))
                elif cells[0] in table:
                    continue
                elif len(cells) == COLUMNS.count("|") - 1:
                    table[cells[0]] = line
                elif cells[0] not in earlier:
                    earlier[cells[0]] = line
        lines += [table[e] for e in course.exercises if e in table]
        if profiles:
            lines += ["", "Where one graded submission's time goes (the batch of "
                      f"{1 + args.n} with one worker; the median of each phase the grader records in every "
                      "result's `extra_data.phases`): kernel start is taking the warm spare and connecting; "
                      "cells, the notebook's own code as the kernel runs it; probes, the hidden tests waiting "
                      "for the student's kernel to answer (the student's functions called on hidden inputs, "
                      "often a short training run, and the round trip); the rest of the hidden tests, the "
                      "grader-side oracles and pytest's bookkeeping; outputs, the results JSON, gradebook, "
                      "CSV and feedback page. Probes and oracles are the suite's own work, which the floor "
                      "does not contain. Beyond the cells: every phase but the cells, what grading adds to "
                      "the student's code as the grader's kernel runs it, the steadier measure of the "
                      "overhead (the floor's plain kernel runs the same cells slower than the grader's "
                      "kernel, for one because it sends them one by one, so the overhead column above, "
                      "marginal minus floor, tends to come out lower).", "",
                      PROFILE, "|---|" + "---:|" * 8 + "---|"]
            lines += [profiles[e] for e in course.exercises if e in profiles]
        if earlier:
            old_header = ("| exercise | plain (s) | grader per submission (s) | grader / plain | reference preparation, "
                          "once per batch (s) | measured |")
            lines += ["", "Not yet measured with these columns: the earlier version of this script (plain: the cells "
                      "of a started kernel, median of 3; grader: the time per submission of a batch of copies with "
                      "one worker, warm-up included).", "", old_header, "|---|---:|---:|---:|---:|---|"]
            lines += [earlier[e] for e in course.exercises if e in earlier]
        if notes:
            lines += ["", *notes]
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")

    for exercise in ids:
        spec = course.get(exercise)
        cold, plain = plain_seconds(spec)
        floor = floor_seconds(spec)
        # marginal: what one more submission costs once the batch runs (the first submission
        # also pays for starting the warm kernels); a batch of 1 first, not counted, pays what
        # this process does once (importing the hidden suite's libraries)
        grader_seconds(spec, 1)
        first, _ = grader_seconds(spec, 1)
        profile: dict[str, float] = {}
        per, prepared = grader_seconds(spec, 1 + args.n, profile=profile)
        one = ((1 + args.n) * per - first) / args.n
        many, _ = grader_seconds(spec, args.default_n, workers)
        table[exercise] = (f"| {exercise} | {cold:.2f} | {plain:.2f} | {floor:.2f} | {one:.2f} | {many:.2f} | "
                           f"{one - floor:+.2f} | {prepared:.1f} | {stamp} |")
        profiles[exercise] = profile_row(exercise, [f"{profile[p]:.2f}" for p in (*PHASES, "write")], stamp)
        print(f"{exercise}: cold {cold:.2f} s, cells {plain:.2f} s, floor {floor:.2f} s, grader {one:.2f} s "
              f"(1 worker) / {many:.2f} s ({workers} workers) per submission, overhead {one - floor:+.2f} s, "
              f"reference preparation {prepared:.1f} s; profile "
              + ", ".join(f"{p} {profile[p]:.2f}" for p in (*PHASES, "write")), flush=True)
        write()  # after every exercise: an interrupted run keeps what it measured
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
