"""Throughput of `grader grade` against `nbgrader autograde`, 1 vs 2 workers, local vs Ray.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_grading.py [--n 40] [--skip-ray]

All runs grade the same deterministic cohort of week-02 submissions, side by side in one run:
correct (the reference and the alternative), buggy (every mutant), broken (invalid JSON) and
slow (a correct notebook with a cell that sleeps 2 s), cycled to --n submissions.

nbgrader gets the same assignment converted to its format: the solution notebook with one
autograder test cell per hidden test. A test cell evaluates, in the student's kernel, the very
probes our hidden test sends, and compares them with the reference's answers recorded while our
grader ran the reference (so both graders do the same work per submission; nbgrader's cells
skip our grader-side PyTorch oracles, which only makes nbgrader's job lighter).

Per-submission overhead = time per submission when grading with one worker minus the time
the notebook's own code takes when run as a plain Python script, cell by cell, an error not
stopping the cells after it (median over the cohort).

Writes benchmarks/results/bench_grading.md (linked from the README).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.cli import default_workers  # noqa: E402
from grader.authoring.variants import apply_alternative, apply_mutant, as_submission, load_variants  # noqa: E402
from grader.course import load_course  # noqa: E402
from grader.pipeline.grader import PHASE_WHAT  # noqa: E402
from grader.pipeline.reference import Reference  # noqa: E402
from grader.batch import grade_batch, resolve_device  # noqa: E402
from grader.pipeline.suite import run_suite  # noqa: E402
from grader.kernels.probe import MIME  # noqa: E402,F401
from results_file import write_results  # noqa: E402

EXERCISE = "week02_autograd"
SLOW_CELL = "import time\ntime.sleep(2)  # a slow student"


def cohort(spec, n: int) -> dict[str, tuple[str, nbformat.NotebookNode | bytes]]:
    """student -> (kind, filled solution notebook or raw bytes)."""
    solution = nbformat.read(spec.solution, as_version=4)
    variants = load_variants(spec)
    pool: list[tuple[str, object]] = [("correct", solution)]
    pool += [("correct", apply_alternative(solution, a)) for a in variants.alternatives]
    pool += [("buggy", apply_mutant(solution, m)) for m in variants.mutants]
    pool.append(("broken", b'{"cells": ['))
    slow = nbformat.reads(nbformat.writes(solution), as_version=4)
    slow.cells.append(nbformat.v4.new_code_cell(SLOW_CELL))
    pool.append(("slow", slow))
    return {f"student{i:03d}": pool[i % len(pool)] for i in range(n)}


def write_cohort(students, base: nbformat.NotebookNode, folder: Path, layout: str) -> None:
    for student, (_kind, filled) in students.items():
        path = folder / f"{student}.ipynb" if layout == "flat" else \
            folder / student / EXERCISE / f"{EXERCISE}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(filled, bytes):
            path.write_bytes(filled)
            continue
        nb = as_submission(base, filled)
        extra = [c for c in filled.cells if not c.get("metadata", {}).get("nbgrader")]
        nb.cells.extend(extra)  # the slow student's extra cell
        nbformat.write(nb, path)


# ------------------------------------------------------------------ probes of the hidden suite
class Recorder:
    """Answers like the reference, and records (test, probe, answer) for nbgrader's cells."""

    def __init__(self, reference: Reference):
        self.reference = reference
        self.calls: list[tuple[str, str, object]] = []

    def eval(self, src, timeout=None):
        value = self.reference.eval(src, timeout)
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0]
        self.calls.append((test, src, value))
        return value


def _plain(value):
    import numpy as np
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


HELPER = textwrap.dedent('''
    def _probe(src):
        import ast, random
        random.seed(0)
        ns = dict(globals())
        tree = ast.parse(src)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<probe>", "exec"), ns)
        return eval(compile(ast.Expression(last.value), "<probe>", "eval"), ns) if last else None

    def _close(a, b):
        import math
        if hasattr(a, "tolist"):
            a = a.tolist()
        if isinstance(b, list):
            return isinstance(a, (list, tuple)) and len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
        if isinstance(b, dict):
            return isinstance(a, dict) and all(k in a and _close(a[k], v) for k, v in b.items())
        if isinstance(b, float) and isinstance(a, (int, float)):
            return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6) or (math.isnan(a) and math.isnan(b))
        return a == b
''')


def nbgrader_source(spec, calls, catalog) -> nbformat.NotebookNode:
    nb = nbformat.read(spec.solution, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(HELPER, metadata={"nbgrader": {
        "grade": False, "grade_id": "bench_helpers", "locked": True, "schema_version": 3,
        "solution": False}}))
    for test in catalog:
        probes = [(src, _plain(value)) for name, src, value in calls if name == test["id"]]
        lines = [f"_expected = json.loads({json.dumps(json.dumps(probes))})",
                 "for _src, _want in _expected:",
                 "    assert _close(_probe(_src), _want), 'wrong answer'"]
        nb.cells.append(nbformat.v4.new_code_cell("import json\n" + "\n".join(lines), metadata={"nbgrader": {
            "grade": True, "grade_id": f"bench_{test['id']}", "locked": True, "points": test["max_score"],
            "schema_version": 3, "solution": False}}))
    return nb


def run_nbgrader(spec, students, calls, catalog, work: Path) -> float:
    course = work / "nbgrader_course"
    (course / "source" / "ps").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.db_assignments = [dict(name='ps')]\n"
        f"c.CourseDirectory.db_students = [{', '.join(repr(dict(id=s)) for s in students)}]\n"
        "c.ExecutePreprocessor.timeout = 30\nc.Execute.timeout = 30\n")
    nbformat.write(nbgrader_source(spec, calls, catalog), course / "source" / "ps" / f"{EXERCISE}.ipynb")
    bindir = str(Path(sys.executable).parent)  # nbgrader calls `alembic` from PATH
    env = dict(os.environ, OMP_NUM_THREADS="1", PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    nbgrader = str(Path(bindir) / "nbgrader")
    gen = subprocess.run([nbgrader, "generate_assignment", "ps", "--force"], cwd=course, env=env,
                         capture_output=True, text=True)
    if gen.returncode != 0:
        raise SystemExit(f"nbgrader generate_assignment failed:\n{gen.stdout[-2000:]}\n{gen.stderr[-3000:]}")
    release = nbformat.read(course / "release" / "ps" / f"{EXERCISE}.ipynb", as_version=4)
    submitted = course / "submitted"
    for student, (_kind, filled) in students.items():
        folder = submitted / student / "ps"
        folder.mkdir(parents=True)
        path = folder / f"{EXERCISE}.ipynb"
        if isinstance(filled, bytes):
            path.write_bytes(filled)
        else:
            nb = as_submission(release, filled)
            nb.cells.extend(c for c in filled.cells if not c.get("metadata", {}).get("nbgrader"))
            nbformat.write(nb, path)
        (folder / "timestamp.txt").write_text("2026-11-25 12:00:00.000000 UTC")
    started = time.monotonic()
    proc = subprocess.run([nbgrader, "autograde", "ps", "--force"], cwd=course, env=env,
                          capture_output=True, text=True)
    seconds = time.monotonic() - started
    graded = len(list((course / "autograded").glob(f"*/ps/{EXERCISE}.ipynb")))
    print(f"  nbgrader autograde: exit {proc.returncode}, {graded} notebooks autograded")
    return seconds


def script_seconds(students, work: Path) -> list[float]:
    """The notebooks' own code as plain scripts (correct, buggy and slow ones). Each cell runs
    on its own and an error does not stop the cells after it, as in a notebook (a script that
    stopped at a buggy notebook's first error would make the floor too low)."""
    times = []
    for student, (_kind, filled) in students.items():
        if isinstance(filled, bytes):
            continue
        cells = ["\n".join(line for line in c.source.splitlines() if not line.lstrip().startswith(("%", "!")))
                 for c in filled.cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
        script = work / f"{student}.py"
        script.write_text("SEED = 0\nFAST = True\nDEVICE = 'cpu'\nDATA_DIR = 'data'\n"
                          f"for _source in {cells!r}:\n"
                          "    try:\n"
                          "        exec(compile(_source, '<cell>', 'exec'), globals())\n"
                          "    except Exception:\n"
                          "        pass\n")
        started = time.monotonic()
        subprocess.run([sys.executable, str(script)], cwd=work, capture_output=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg"))
        times.append(time.monotonic() - started)
    return times


def busy_seconds() -> float | None:
    """CPU-seconds all cores spent busy since boot (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait


def cores_note(rows: dict[str, float], cores: dict[str, float]) -> str:
    one, two = "grader, 1 worker", "grader, 2 workers"
    if one not in cores or two not in cores:
        return "Cores busy: not measured (no /proc/stat)."
    others = [label for label in cores if label not in (one, two) and "Ray" not in label]
    third = (f" More workers than cores fill part of that idle time ({others[0]}: "
             f"{cores[others[0]]:.2f} cores busy).") if others else ""
    ceiling, speedup = min(2, os.cpu_count() or 1) / cores[one], rows[one] / rows[two]
    if speedup >= ceiling:  # the machine's speed changed between the runs (a shared machine)
        why = (f"they are {speedup:.2f}x faster, which is at that bound: the machine itself was not "
               "equally fast during the two runs (a shared machine), so the two runs' CPU work differed")
    else:
        why = (f"they are {speedup:.2f}x faster because they keep only {cores[two]:.2f} cores busy: "
               "the fixed start (imports, the reference run) runs on one core, a worker whose student's "
               "cell sleeps leaves its core idle, and each worker waits for its kernel and the kernel for "
               "its worker")
    return (f"Cores busy: CPU-seconds the whole machine spent busy during the run (/proc/stat) divided "
            f"by its wall time. One worker keeps {cores[one]:.2f} cores busy (its kernel, the next kernel "
            f"booting and the grader overlap), so 2 workers on {os.cpu_count()} cores could be at most "
            f"{ceiling:.2f}x faster than one; {why}.{third}")


def kinds_of(students) -> dict[str, str]:
    return {student: kind for student, (kind, _) in students.items()}


def phase_profile(results: dict, kinds: dict[str, str], writing: float) -> list[str]:
    """Where a graded submission's time goes (one worker): the median of each phase the grader
    records per submission (``extra_data.phases``) over the correct and buggy submissions, and
    the outputs written per submission (results JSON, gradebook row, CSV, feedback page)."""
    phases: dict[str, list[float]] = {}
    for student, res in results.items():
        if kinds.get(student) in ("correct", "buggy"):
            for phase, seconds in res["extra_data"].get("phases", {}).items():
                phases.setdefault(phase, []).append(seconds)
    if not phases:
        return []
    medians = {phase: statistics.median(values) for phase, values in phases.items()}
    total = sum(medians.values()) + writing
    lines = ["Profile of one graded submission (1 worker; the median of each phase over the correct "
             "and buggy submissions, recorded by the grader in each result's `extra_data.phases`):", "",
             "| phase | what | median (s) | share |", "|---|---|---:|---:|"]
    for phase, seconds in [*medians.items(), ("write", writing)]:
        lines.append(f"| {phase} | {PHASE_WHAT.get(phase, phase)} | {seconds:.3f} | {100 * seconds / total:.0f}% |")
    lines.append(f"| total | | {total:.3f} | |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    spec = load_course(ROOT).get(EXERCISE)
    students = cohort(spec, args.n)
    assignment = nbformat.read(spec.assignment, as_version=4)
    rows: dict[str, float] = {}
    cores: dict[str, float] = {}  # cores kept busy on average (the whole machine)
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        work = Path(tmp)
        subs = work / "subs"
        write_cohort(students, assignment, subs, "flat")
        kinds = {}
        for _student, (kind, _) in students.items():
            kinds[kind] = kinds.get(kind, 0) + 1
        print(f"cohort: {args.n} submissions {kinds}")

        # record the probes of the hidden suite (for nbgrader's test cells)
        device = resolve_device("cpu", spec)
        reference = Reference(spec, device)
        recorder = Recorder(reference)
        outcomes = run_suite(spec.tests_dir, recorder, recorder, spec.seed)
        reference.close()
        catalog = [{"id": t.id, "max_score": t.max_score} for t in outcomes]

        results = {}
        writing: dict[str, float] = {}
        runs = [("grader, 1 worker", dict(workers=1)), ("grader, 2 workers", dict(workers=2))]
        default = default_workers()
        if default > 2:
            runs.append((f"grader, {default} workers (the default here)", dict(workers=default)))
        if not args.skip_ray:
            runs.append(("grader on Ray (local cluster, 2 CPUs)", dict(workers=2, backend="ray")))
        for label, kwargs in runs:
            out = work / label.replace(" ", "_").replace(",", "")
            busy, started = busy_seconds(), time.monotonic()
            summary = grade_batch(spec, subs, out, **kwargs)
            rows[label] = time.monotonic() - started
            if busy is not None:
                cores[label] = (busy_seconds() - busy) / rows[label]
            results[label] = summary.results
            writing[label] = summary.writing_seconds / max(summary.graded, 1)
            print(f"  {label}: {rows[label]:.1f} s")
        print("  nbgrader autograde (1 process, as it always runs) ...", flush=True)
        rows["nbgrader autograde"] = run_nbgrader(spec, students, recorder.calls, catalog, work)
        print(f"  nbgrader autograde: {rows['nbgrader autograde']:.1f} s")
        scripts = script_seconds(students, work)

    one = results["grader, 1 worker"]
    per_sub = [r["execution_time"] for r in one.values() if r["extra_data"]["status"] != "invalid"]
    overhead_median = statistics.median(per_sub) - statistics.median(scripts)
    batch_overhead = rows["grader, 1 worker"] / args.n - statistics.mean(scripts)
    nb = rows["nbgrader autograde"]
    profile = phase_profile(one, kinds_of(students), writing["grader, 1 worker"])
    lines = [
        f"# Grading {args.n} {EXERCISE} submissions: grader vs nbgrader", "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, with "
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_grading.py --n {args.n}`.",
        f"Cohort: {', '.join(f'{v} {k}' for k, v in kinds.items())}.", "",
        "| run | seconds | submissions/min | vs nbgrader | vs 1 worker | cores busy |", "|---|---|---|---|---|---|"]
    for label, seconds in rows.items():
        lines.append(f"| {label} | {seconds:.1f} | {60 * args.n / seconds:.1f} | {nb / seconds:.2f}x | "
                     f"{rows['grader, 1 worker'] / seconds:.2f}x | "
                     f"{f'{cores[label]:.2f}' if label in cores else '-'} |")
    lines += ["", f"Per-submission overhead (1 worker): median grading time per submission "
              f"{statistics.median(per_sub):.2f} s minus median plain-script time {statistics.median(scripts):.2f} s "
              f"= **{overhead_median:.2f} s**; batch time per submission minus mean script time = "
              f"{batch_overhead:.2f} s (includes the reference run and writing reports).", "",
              cores_note(rows, cores), "", *profile, "",
              "The grader's times include executing the reference once per batch, the hidden suite "
              "with its PyTorch oracles, and writing results, gradebook, CSV and feedback HTML for "
              "every submission. nbgrader runs its test cells inside each student's kernel."]
    out = ROOT / "benchmarks" / "results" / "bench_grading.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_results(str(out), "\n".join(lines) + "\n")  # (the file's hand-written sections kept)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
