"""The `grader` command line."""
from __future__ import annotations

import argparse
import functools
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, backends
from .course import load_course
from .errors import CourseError, GraderError
from .util import fmt_points, write_atomic

if TYPE_CHECKING:
    from .course import ExerciseSpec

EXIT_USAGE = 2
# libraries the full grader needs and the student kit does not install (release.KIT_LEAVES_OUT)
INSTRUCTOR_ONLY = {"sqlalchemy", "nbgrader", "nbconvert", "bleach", "pytest", "_pytest", "ray", "pooch",
                   "mutmut", "libcst"}


def _course(args: argparse.Namespace, require_solutions: bool = True):
    return load_course(Path(args.course) if args.course else None,
                       require_solutions=require_solutions)




def print_table(results: dict[str, dict], notes: dict[str, str] | None = None) -> None:
    rows = []
    for student in sorted(results):
        res = results[student]
        extra = res["extra_data"]
        failed = [t["id"] for t in res["tests"] if t["status"] != "passed"]
        detail = extra.get("reason") or (f"failed: {', '.join(failed[:3])}"
                                         + (f" (+{len(failed) - 3})" if len(failed) > 3 else "")
                                         if failed else "")
        if notes and student in notes:
            detail = f"[{notes[student]}] {detail}".strip()
        rows.append((student, f"{fmt_points(res['score'])}/{fmt_points(extra['max_score'])}", extra["status"], detail))
    width = [max(len(r[i]) for r in rows + [("student", "score", "status", "")]) for i in range(3)]
    print(f"{'student':<{width[0]}}  {'score':>{width[1]}}  {'status':<{width[2]}}  details")
    for student, score, status, detail in rows:
        print(f"{student:<{width[0]}}  {score:>{width[1]}}  {status:<{width[2]}}  {detail}")


# ------------------------------------------------------------------------------- commands

def cmd_release(args: argparse.Namespace) -> int:
    from .authoring.bundle import bundle, bundle_folder
    from .authoring.release import check_release, release
    course = _course(args)
    specs = course.select(args.exercises)
    if args.bundle:
        bundle_folder(course, Path(args.bundle))  # refuse a bad folder before writing anything
    if args.check:
        problems = [p for spec in specs for p in check_release(spec)]
        for problem in problems:
            print(f"grader release --check: {problem}", file=sys.stderr)
        if not problems:
            print(f"assignments/ is in sync for {len(specs)} exercise(s); no solution or hidden test text")
        return 1 if problems else 0
    for spec in specs:
        changed = release(spec)
        print(f"{'wrote' if changed else 'unchanged'} {spec.assignment.relative_to(course.root)}")
    if args.bundle:
        target = bundle(course, Path(args.bundle), specs)
        print(f"student bundle written to {target}")
    return 0


class LogProgress:
    """Progress where no terminal shows a bar (a CI log, a scheduler's output file): a line every
    ``every`` seconds with done/total, the submissions that did not grade cleanly and an ETA, and
    one when the work ends. The part of tqdm's interface the commands use."""

    def __init__(self, total: int | None, desc: str, stream=None, every: float | None = None,  # noqa: ANN001
                 clock=None):  # noqa: ANN001
        import time
        self.total, self.desc, self.stream = total, desc, stream or sys.stderr
        self.every = every if every is not None else float(os.environ.get("GRADER_PROGRESS_EVERY", "10"))
        self.clock = clock or time.monotonic
        self.start = self.last = self.clock()
        self.n = 0
        self.postfix: dict[str, object] = {}
        self.closed = False

    def _line(self) -> str:
        elapsed = self.clock() - self.start
        done = f"{self.n}/{self.total}" if self.total else str(self.n)
        extra = "".join(f", {k.replace('_', ' ')} {v}" for k, v in self.postfix.items())
        eta = ""
        if self.total and 0 < self.n < self.total:
            eta = f", ETA {elapsed / self.n * (self.total - self.n):.0f} s"
        return f"{self.desc}: {done} done{extra}, {elapsed:.0f} s elapsed{eta}"

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            print(self._line(), file=self.stream, flush=True)

    def set_postfix(self, **values: object) -> None:
        self.postfix = dict(values)

    def close(self) -> None:
        if not self.closed and (self.n or self.total):   # nothing started (an error first): say nothing
            print(self._line(), file=self.stream, flush=True)
        self.closed = True


def _progress(total: int | None, desc: str):
    """A tqdm bar on a terminal; elsewhere a line every few seconds (LogProgress)."""
    if not sys.stderr.isatty():
        return LogProgress(total, desc)
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="nb", file=sys.stderr, dynamic_ncols=True)


def cmd_grade(args: argparse.Namespace) -> int:
    from .batch import grade_batch
    course = _course(args)
    spec = course.get(args.exercise)
    out = Path(args.out or f"grading/{spec.id}")
    bar = _progress(None, f"grading {spec.id}")  # the total is known once the engine has looked
    failed = {"n": 0}

    def on_result(student: str, result: dict) -> None:
        if result["extra_data"]["status"] not in ("graded",):
            failed["n"] += 1
        bar.set_postfix(not_clean=failed["n"])

    from . import lms
    roster = lms.read_roster(Path(args.roster)) if args.roster else None
    extensions = lms.read_extensions(Path(args.extensions)) if args.extensions else None
    try:
        summary = grade_batch(spec, Path(args.submissions), out, workers=args.workers,
                              device=args.device, force=args.force, progress=bar.update,
                              roster=roster, extensions=extensions,
                              on_result=on_result, on_total=lambda n: setattr(bar, "total", n),
                              gradebook_url=args.gradebook,
                              backend=args.backend, ray_address=args.address,
                              container=_container(args))
    finally:
        bar.close()
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print_table(summary.results)
    from .outputs import report
    report.write(out, course.name)
    print(f"\n{len(summary.results)} submissions ({summary.graded} graded, {summary.reused} unchanged "
          f"since the last run) in {summary.seconds:.1f} s -> {out}/ "
          "(report.html, results/, feedback/, grades.csv, gradebook.sqlite)")
    return 0


def cmd_grade_term(args: argparse.Namespace) -> int:
    from . import lms
    from .outputs import report
    from .term import grade_term
    course = _course(args)
    out = Path(args.out or "grading/term")
    bar = _progress(None, "grading the term")
    failed = {"n": 0}

    def on_result(exercise: str, student: str, result: dict) -> None:
        if result["extra_data"]["status"] not in ("graded",):
            failed["n"] += 1
        bar.set_postfix(exercise=exercise, not_clean=failed["n"])

    extensions = lms.read_extensions(Path(args.extensions)) if args.extensions else None
    try:
        summary = grade_term(course, Path(args.submissions), out, workers=args.workers, device=args.device,
                             force=args.force, progress=bar.update, on_result=on_result,
                             on_total=lambda n: setattr(bar, "total", n), gradebook_url=args.gradebook,
                             extensions=extensions)
    finally:
        bar.close()
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    links = []
    for exercise, batch in summary.batches.items():
        if not batch.results:
            continue
        print(f"\n{exercise}: {len(batch.results)} submissions ({batch.graded} graded, {batch.reused} unchanged)")
        print_table(batch.results)
        loaded = report.load(batch.out)
        report.write(batch.out, course.name, loaded)
        links.append((f"{exercise}/report.html", loaded))
    write_atomic(out / "index.html", report.render_course(links, course.name))
    for exercise, why in summary.failed.items():
        print(f"grader: error: {exercise} was not graded: {why}", file=sys.stderr)
    total = sum(len(b.results) for b in summary.batches.values())
    print(f"\n{total} submissions of {len(summary.batches)} exercises in {summary.seconds:.1f} s -> {out}/ "
          f"(index.html, <exercise>/report.html, results/, feedback/, grades.csv; one gradebook: "
          f"{args.gradebook or out / 'gradebook.sqlite'})")
    return 1 if summary.failed else 0


def cmd_report(args: argparse.Namespace) -> int:
    from .outputs import report
    try:
        title = _course(args).name
    except CourseError:
        title = None   # a report can be built from a copy of the outputs, without the course
    built = []
    for out in args.outs:
        batch = report.load(Path(out))
        print(report.write(Path(out), title, batch))
        built.append((Path(out), batch))
    if len(built) > 1 or args.index:
        index = Path(args.index or "course-report.html")
        links = [(os.path.relpath(out / "report.html", index.resolve().parent), r) for out, r in built]
        write_atomic(index, report.render_course(links, title))
        print(index)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .outputs import exports, report
    batch = report.load(Path(args.out))
    roster = exports.load_roster(Path(args.roster)) if args.roster else None
    text = exports.export(batch.results, args.format, roster=roster, column=args.column or batch.exercise)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    path = Path(args.output or Path(args.out) / f"export-{exports.SUFFIX[args.format]}")
    write_atomic(path, text)
    print(f"{len(batch.results)} students -> {path}")
    return 0


def cmd_override(args: argparse.Namespace) -> int:
    from .outputs import manual
    spec = _course(args).get(args.exercise)
    out = Path(args.out or f"grading/{spec.id}")
    from .outputs.feedback import page_context
    result = manual.override(out, args.student, args.test, args.points, args.reason or "",
                             gradebook_url=args.gradebook, context=page_context(spec))
    what = f"{args.test} set to {fmt_points(args.points)} points" if args.test else \
        f"an adjustment of {fmt_points(args.points)} points"
    print(f"{args.student}: {what}; now {result.summary} (recorded in the gradebook; results, feedback page, "
          f"grades.csv and report rewritten)")
    return 0


def cmd_regrade(args: argparse.Namespace) -> int:
    import tempfile

    from .batch import grade_batch
    from .outputs import report
    spec = _course(args).get(args.exercise)
    out = Path(args.out or f"grading/{spec.id}")
    notebook = Path(args.notebook)
    if not notebook.is_file():
        raise CourseError(f"{notebook} is not a file: give the student's notebook")
    if not (out / "results").is_dir():
        raise CourseError(f"{out} holds no graded batch yet: use `grader grade` first")
    student = args.student or notebook.stem
    with tempfile.TemporaryDirectory(prefix="grader-regrade-") as tmp:
        shutil.copyfile(notebook, Path(tmp) / f"{student}.ipynb")
        summary = grade_batch(spec, Path(tmp), out, workers=1, force=True, gradebook_url=args.gradebook)
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print_table(summary.results)
    if (out / "report.html").is_file():
        report.write(out, _course(args).name)
    print(f"{student} graded again -> {out}/ (the grade it replaces is in the gradebook's history; "
          "changes by hand still apply)")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from .outputs import report
    a, b = report.load(Path(args.a)), report.load(Path(args.b))
    old, new = {r.student: r for r in a.results}, {r.student: r for r in b.results}
    rows = []
    for student in sorted(old.keys() | new.keys()):
        ra, rb = old.get(student), new.get(student)
        if ra is None or rb is None:
            rows.append([student, fmt_points(ra.score) if ra else "-", fmt_points(rb.score) if rb else "-",
                         "only in " + (args.a if ra else args.b)])
            continue
        ta, tb = {t.id: t for t in ra.tests}, {t.id: t for t in rb.tests}
        changed = [f"{t}: {fmt_points(ta[t].score) if t in ta else '-'} -> {fmt_points(tb[t].score) if t in tb else '-'}"
                   for t in list(dict.fromkeys([*ta, *tb]))
                   if (ta[t].score if t in ta else None) != (tb[t].score if t in tb else None)]
        if ra.status != rb.status:
            changed.insert(0, f"status {ra.status} -> {rb.status}")
        if changed:
            rows.append([student, fmt_points(ra.score), fmt_points(rb.score), "; ".join(changed)])
    if not rows:
        print(f"no student's grade differs between {args.a} and {args.b} ({len(old)} students)")
        return 0
    width = max(len(r[0]) for r in rows + [["student"]])
    print(f"{'student':<{width}}  {'A':>6}  {'B':>6}  what changed")
    for student, sa, sb, what in rows:
        print(f"{student:<{width}}  {sa:>6}  {sb:>6}  {what}")
    print(f"\n{len(rows)} of {len(old.keys() | new.keys())} students differ (A = {args.a}, B = {args.b})")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .pipeline.check import check_notebook, exercise_for
    course = _course(args, require_solutions=False)
    path = Path(args.notebook)
    spec, unreadable = exercise_for(course, path, args.exercise)
    if unreadable or spec is None:
        print(f"✘ {path}: {unreadable}")
        return 1
    report = check_notebook(spec, path)
    if report.invalid or report.execution is None:
        print(f"✘ {path}: {report.invalid}")
        return 1
    if not report.sandboxed:
        print(f"note: ran without the sandbox ({report.isolation.get('not_applied', {}).get('sandbox', '')}); "
              "the grader runs it sandboxed")
    for note in report.notes:
        print(f"note: {note}")
    execution = report.execution
    for cell in execution.errors:
        if cell.status in ("timeout", "died", "skipped"):
            print(f"! cell {cell.index}: {cell.status} {cell.evalue or ''}".rstrip())
    checks = report.checks
    passed = sum(c["status"] == "passed" for c in checks)
    for check in checks:
        mark = "✔" if check["status"] == "passed" else "✘"
        message = f": {check['message']}" if check["message"] else ""
        print(f"{mark} {check['id']}{message}")
    errors = [c for c in execution.errors if c.status == "error"]
    print(f"\n{passed}/{len(checks)} public checks passed; {len(errors)} cell(s) raised an error; "
          f"ran in {execution.seconds:.1f} s. Hidden tests are run by the grader when you hand in.")
    return 0 if report.ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from .authoring.demo import build_demo_cohort
    from .authoring.release import release
    from .batch import grade_batch
    course = _course(args)
    spec = course.get(args.exercise)
    root = Path(args.out)
    for each in course.exercises.values():
        release(each)
    print(f"released {len(course.exercises)} exercise(s) into assignments/")
    if root.exists():
        shutil.rmtree(root)
    cohort = build_demo_cohort(spec, root / "submissions")
    print(f"demo cohort of {len(cohort)} {spec.id} submissions in {root / 'submissions'}/")
    bar = _progress(len(cohort), f"grading {spec.id}")
    try:
        summary = grade_batch(spec, root / "submissions", root / "out", workers=args.workers,
                              progress=bar.update)
    finally:
        bar.close()
    print_table(summary.results, cohort)
    from .outputs import report
    report.write(root / "out", course.name)
    print(f"\ngraded in {summary.seconds:.1f} s; reports in {root / 'out'}/: report.html (the class report), "
          "results/*.json (Gradescope schema), feedback/*.html, grades.csv, gradebook.sqlite")
    return 0


def cmd_variants(args: argparse.Namespace) -> int:
    from .authoring.variants import cohort_problems, write_cohort
    from .batch import grade_batch
    course = _course(args)
    spec = course.get(args.exercise)
    if args.seeds < 0:
        raise CourseError("--seeds is how many more grading seeds to try (0 or more)")
    if args.first_seed is not None and not args.seeds:
        raise CourseError("--first-seed says where a sweep starts: give --seeds N with it")
    folder = Path(args.out or f"grading/variants/{spec.id}")
    subs = folder / "submissions"
    if subs.exists():
        shutil.rmtree(subs)
    expect = write_cohort(spec, subs, args.names or None, correct_only=args.correct_only)
    if not expect:
        raise CourseError(f"no variant of {spec.id} to grade: --correct-only keeps the reference and the "
                          "alternatives, and the names given are all mutants")
    bar = _progress(len(expect), f"grading the variants of {spec.id}")
    try:
        summary = grade_batch(spec, subs, folder / "out", workers=args.workers, progress=bar.update)
    finally:
        bar.close()
    print_table(summary.results, expect)
    if args.verbose_failures:
        for student in sorted(summary.results):
            for test in summary.results[student]["tests"]:
                if test["status"] != "passed":
                    print(f"\n--- {student} :: {test['id']}\n{test['output'].strip()}")
    problems = cohort_problems(spec, expect, summary.results)
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(f"\n{len(expect)} variants graded in {summary.seconds:.1f} s; {len(problems)} problem(s); "
          f"feedback pages in {folder / 'out' / 'feedback'}/")
    if args.seeds:
        problems += _variants_under_seeds(spec, expect, subs, folder, args)
    return 1 if problems else 0


def _variants_under_seeds(spec: ExerciseSpec, expect: dict[str, str], subs: Path, folder: Path,
                          args: argparse.Namespace) -> list[str]:
    """``grader variants --seeds N``: the correct versions graded under N more grading seeds."""
    from .authoring.variants import grade_under_seeds, sweep_seeds
    from .batch import grade_batch
    seeds = sweep_seeds(args.seeds, spec.seed, args.first_seed)
    full = sum(expected == "full" for expected in expect.values())
    bar = _progress(len(seeds) * full, f"the {full} correct versions under {len(seeds)} more grading seeds")

    def grade(other: ExerciseSpec, source: Path, out: Path) -> Any:
        return grade_batch(other, source, out, workers=args.workers, progress=bar.update)

    started = time.monotonic()
    try:
        failures = grade_under_seeds(spec, expect, subs, folder / "seeds", seeds, grade)
    finally:
        bar.close()
    problems = []
    for test, by_seed in sorted(failures.items()):
        for seed, versions in sorted(by_seed.items()):
            for student, message in sorted(versions.items()):
                problems.append(f"{test} fails {student} under grading seed {seed}: {message}")
                print(f"problem: {problems[-1]}", file=sys.stderr)
    print(f"grading seeds {seeds[0]}-{seeds[-1]}: {full} correct versions each, graded in "
          f"{time.monotonic() - started:.1f} s; "
          + (f"{len(failures)} test(s) failed a correct version: {', '.join(sorted(failures))}" if failures
             else "no test failed a correct version"))
    return problems


def cmd_mutate(args: argparse.Namespace) -> int:
    from .authoring.mutate import generate, run_mutation, sample, write_reports, render_markdown
    course = _course(args)
    specs = list(course.exercises.values()) if args.exercise == "all" else [course.get(args.exercise)]
    if args.floor is not None and not 0 <= args.floor <= 1:
        raise CourseError("--floor is a fraction between 0 and 1 (e.g. 0.9)")
    floor = 0.9 if args.floor is None else args.floor
    under = []
    for spec in specs:
        if args.list:
            made = generate(spec)
            for m in sample(made, args.sample, spec.id):
                print(f"{m.id}  {m.function}: {m.operator} (line {m.line})")
                if args.diff:
                    print(m.diff)
            print(f"{spec.id}: {len(made)} mutants made")
            continue
        out = Path(args.out or "grading/mutate") / spec.id
        bar = _progress(None, f"mutants of {spec.id}")
        try:
            report = run_mutation(spec, out, n=args.sample, workers=args.workers, progress=bar.update,
                                  on_total=functools.partial(setattr, bar, "total"))
        finally:
            bar.close()
        md, page = write_reports(report, out, floor)
        if args.print:
            print(render_markdown(report, floor))
        for m in report.survivors():
            if m.id not in report.reviewed:
                print(f"survived: {m.id}  {m.function}: {m.operator} (line {m.line})\n{m.diff}")
        if report.stale:
            print(f"warning: {spec.id}: reviewed survivors no longer made: {', '.join(report.stale)}",
                  file=sys.stderr)
        errors = sum(o == "error" for o in report.outcome.values())
        print(f"{spec.id}: {report.killed}/{len(report.counted)} mutants killed ({100 * report.score:.1f}%, "
              f"floor {100 * floor:.0f}%); {len(report.mutants)} graded of {report.made} made, "
              f"{report.graded} graded now, {report.reused} unchanged since the last run"
              + (f", {errors} grader error(s)" if errors else "")
              + f" in {report.seconds:.1f} s -> {md}, {page}")
        if report.score < floor or errors:
            under.append(spec.id)
    if under:
        print(f"under the floor of {100 * floor:.0f}% (or with grader errors): {', '.join(under)}",
              file=sys.stderr)
        return 1
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from .authoring.profile import profile, render
    spec = _course(args).get(args.exercise)
    notebooks = [Path(p) for p in args.notebooks]
    bar = _progress(len(notebooks) or args.n, f"profiling {spec.id}")
    try:
        result = profile(spec, notebooks or None, copies=args.n, progress=bar.update)
    finally:
        bar.close()
    print(render(result, top=args.top))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .pipeline.suite import SuiteError, collect_points
    course = _course(args)
    for spec in course.exercises.values():
        try:
            tests = collect_points(spec.tests_dir)
        except SuiteError as exc:
            raise CourseError(f"{spec.id}: {exc}") from None
        total = sum(tests.values())
        if abs(total - spec.points) > 1e-9:
            raise CourseError(f"course.yaml gives {spec.id} {fmt_points(spec.points)} points, but its "
                              f"{len(tests)} hidden tests are worth {fmt_points(total)} together; make "
                              "the two agree")
        kind = "optional companion of week" if spec.optional else "week"
        print(f"{spec.id}: {kind} {spec.week}, {fmt_points(spec.points)} points in {len(tests)} hidden "
              f"tests, cell timeout {spec.cell_timeout:g} s, budget {spec.notebook_budget:g} s, "
              f"device {spec.device}")
    print(f"course.yaml is valid ({len(course.exercises)} exercises)")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from . import data
    if args.action == "list":
        from .data.datasets import registry
        for name, dataset in sorted(registry().items()):
            real = data.real_path(name)
            state = "real copy cached" if real.is_file() else ("fetchable" if dataset.url else "offline only")
            print(f"{name:<12} {dataset.filename:<24} {state:<17} {dataset.description}")
        return 0
    if not args.name:
        raise data.DataError(f"`grader data {args.action}` needs a dataset NAME")
    if args.action == "fetch":
        print(data.fetch(args.name))
    elif args.action == "add":
        if not args.file:
            raise data.DataError("`grader data add NAME FILE` needs the FILE")
        print(data.add(args.name, Path(args.file)))
    elif args.action == "offline":
        print(data.offline_path(args.name))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .kernels.doctor import run_checks
    checks = run_checks(_container(args))
    width = max(len(c.measure) for c in checks)
    for check in checks:
        print(f"{'✔' if check.ok else '✘'} {check.measure:<{width}}  {check.detail}")
    missing = [c.measure for c in checks if not c.ok]
    print(f"\n{len(checks) - len(missing)}/{len(checks)} isolation measures in force on this machine"
          + (f"; missing: {', '.join(missing)}" if missing else ""))
    if not getattr(args, "container", None):
        from .kernels.container import ENGINES, Container, ContainerError
        found = []
        for engine in ENGINES:
            try:
                found.append(f"{engine} {Container(engine).check()}")
            except ContainerError:
                pass
        print("optional container wrapper: " + (
            f"{', '.join(found)} found; `grader doctor --container ENGINE` checks kernels in it"
            if found else "no podman or docker that works here (the default sandbox needs none)"))
    return 1 if missing else 0


# ------------------------------------------------------------------------------- parser

def default_workers() -> int:
    """Measured with benchmarks/bench_grading.py on 2 cores: 3 workers grade ~10 % faster
    than 2, whose cores stay idle ~25 % of the time (each worker waits for its kernel and the
    kernel for its worker); 4 are no faster than 3."""
    return min(os.cpu_count() or 1, 4) + 1


def _container_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--container", choices=["podman", "docker"], metavar="ENGINE",
                   help="also run every kernel in its own container (podman or docker, with "
                        "--network none, memory and process limits); optional, the default "
                        "sandbox needs no container")
    p.add_argument("--container-image", metavar="IMAGE",
                   help="with --container: an image with Python, ipykernel and the course's "
                        "libraries (podman can do without: it then runs this machine's Python "
                        "in an otherwise empty root filesystem)")


def _container(args: argparse.Namespace):
    from .kernels.container import Container
    if getattr(args, "container_image", None) and not getattr(args, "container", None):
        raise CourseError("--container-image needs --container podman|docker")
    if not getattr(args, "container", None):
        return None
    return Container(args.container, args.container_image)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description=__doc__)
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="say more on stderr: -v what the grader does, -vv its details")
    parser.add_argument("--course", metavar="DIR", help="course root (default: the folder with "
                        "course.yaml, searching upward from here)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="write student notebooks into assignments/")
    p.add_argument("exercises", nargs="*", metavar="EXERCISE")
    p.add_argument("--check", action="store_true",
                   help="exit 1 if assignments/ is out of date or leaks solutions or hidden tests")
    p.add_argument("--bundle", metavar="DIR", help="also write the student bundle to DIR")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("grade", help="grade a folder or zip of submissions")
    p.add_argument("exercise", metavar="EXERCISE")
    p.add_argument("submissions", metavar="SUBMISSIONS",
                   help="folder of <student>.ipynb or <student>/<exercise>.ipynb, or an LMS zip")
    p.add_argument("--out", metavar="DIR", help="output folder (default: grading/<exercise>)")
    p.add_argument("--workers", type=int, default=default_workers(),
                   help="submissions graded at once (default: one more than the cores, at most 4 "
                        "cores counted: a worker and its kernel take turns, so one worker keeps "
                        "about 0.8 of a core busy)")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"],
                   help="where kernels run (default: the exercise's device policy)")
    p.add_argument("--force", action="store_true", help="re-grade submissions that are unchanged")
    p.add_argument("--gradebook", metavar="URL", help="SQLAlchemy URL (default: OUT/gradebook.sqlite)")
    p.add_argument("--backend", choices=backends.names(), default="local",
                   help="local process pool (default) or a Ray cluster")
    p.add_argument("--address", metavar="ADDR",
                   help="with --backend ray: the cluster to join (default: start a local one)")
    p.add_argument("--roster", metavar="CSV", help="id,name,email,lms_id per student: LMS file names "
                   "(Canvas, Moodle) become these ids; names it does not know are reported")
    p.add_argument("--extensions", metavar="CSV", help="id,deadline per student with their own deadline "
                   "(for the exercise's late policy in course.yaml)")
    _container_options(p)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("grade-term", help="grade several exercises' submissions in one pool (a folder "
                       "holding one folder or LMS zip per exercise, named by the exercise's id)")
    p.add_argument("submissions", metavar="SUBMISSIONS",
                   help="folder holding <exercise>/ folders (laid out as for grader grade) or <exercise>.zip files")
    p.add_argument("--out", metavar="DIR", help="output folder (default: grading/term): OUT/<exercise>/ as "
                   "grader grade writes it, OUT/index.html, and one gradebook")
    p.add_argument("--workers", type=int, default=default_workers(),
                   help="submissions graded at once, across all exercises (default as for grade)")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"],
                   help="where kernels run (default: each exercise's device policy)")
    p.add_argument("--force", action="store_true", help="re-grade submissions that are unchanged")
    p.add_argument("--gradebook", metavar="URL", help="SQLAlchemy URL (default: OUT/gradebook.sqlite)")
    p.add_argument("--extensions", metavar="CSV", help="id,deadline per student (the late policies)")
    p.set_defaults(func=cmd_grade_term)

    p = sub.add_parser("report", help="the class report of graded batches (OUT/report.html), and a course "
                       "page linking them")
    p.add_argument("outs", nargs="+", metavar="OUT", help="a folder `grader grade` wrote")
    p.add_argument("--index", metavar="FILE", help="the course page (default with several OUT: "
                   "course-report.html here)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="export a graded batch for an LMS or a CI system")
    p.add_argument("out", metavar="OUT", help="a folder `grader grade` wrote")
    p.add_argument("--format", required=True, choices=["tests-csv", "canvas", "moodle", "junit", "gradescope"])
    p.add_argument("--roster", metavar="CSV", help="id,name,email,lms_id per student (canvas and moodle need it)")
    p.add_argument("--column", metavar="NAME", help="canvas: the assignment's column, as Canvas names it, "
                   "e.g. 'Week 2 (1234)' (default: the exercise id)")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write (default: OUT/export-<format>; - for stdout)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("override", help="change a grade by hand (a written answer, a regrade request): kept "
                       "with who, when and why, applied to every output")
    p.add_argument("exercise", metavar="EXERCISE")
    p.add_argument("student", metavar="STUDENT")
    p.add_argument("test", nargs="?", metavar="TEST", help="the test's id (default: an adjustment of the total)")
    p.add_argument("--points", type=float, required=True, help="the test's new points, or the adjustment")
    p.add_argument("--reason", required=True, help="why (the student sees it on the feedback page)")
    p.add_argument("--out", metavar="DIR", help="the batch's folder (default: grading/<exercise>)")
    p.add_argument("--gradebook", metavar="URL", help="SQLAlchemy URL (default: OUT/gradebook.sqlite)")
    p.set_defaults(func=cmd_override)

    p = sub.add_parser("regrade", help="grade one student's notebook again, into an existing batch")
    p.add_argument("exercise", metavar="EXERCISE")
    p.add_argument("notebook", metavar="NOTEBOOK")
    p.add_argument("--student", metavar="ID", help="the student's id (default: the notebook's file name)")
    p.add_argument("--out", metavar="DIR", help="the batch's folder (default: grading/<exercise>)")
    p.add_argument("--gradebook", metavar="URL", help="SQLAlchemy URL (default: OUT/gradebook.sqlite)")
    p.set_defaults(func=cmd_regrade)

    p = sub.add_parser("diff", help="which students and tests changed between two graded batches")
    p.add_argument("a", metavar="RUN_A", help="a folder `grader grade` wrote")
    p.add_argument("b", metavar="RUN_B", help="another one (after a suite fix, say)")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("check", help="run your notebook and its public checks before handing in")
    p.add_argument("notebook", metavar="NOTEBOOK")
    p.add_argument("--exercise", help="exercise id (default: from the notebook)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("demo", help="release, build a demo cohort, grade it, print the table")
    p.add_argument("--exercise", default="week02_autograd")
    p.add_argument("--out", default="demo", metavar="DIR")
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("data", help="datasets: list, fetch the real ones, add a local copy")
    p.add_argument("action", choices=["list", "fetch", "add", "offline"])
    p.add_argument("name", nargs="?", metavar="NAME")
    p.add_argument("file", nargs="?", metavar="FILE", help="with `add`: a local copy of the real file")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("doctor", help="check which isolation measures work on this machine")
    _container_options(p)
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("variants", help="grade an exercise's hand-written mutants and alternatives "
                       "(variants.yaml); exit 1 when one is graded against expectations")
    p.add_argument("exercise", metavar="EXERCISE")
    p.add_argument("names", nargs="*", metavar="NAME", help="only these variants (default: all, "
                   "with the reference and the untouched student version)")
    p.add_argument("--out", metavar="DIR", help="where the submissions and grades go (default: "
                   "grading/variants/<exercise>; unchanged variants are not graded again)")
    p.add_argument("--workers", type=int, default=default_workers())
    p.add_argument("--show", dest="verbose_failures", action="store_true",
                   help="print every failing test's message")
    p.add_argument("--seeds", type=int, default=0, metavar="N",
                   help="then grade the reference and the alternatives under N more grading seeds (the "
                   "course's + 1 ... + N): a test that fails a correct version for some seed is a problem")
    p.add_argument("--first-seed", type=int, metavar="S",
                   help="with --seeds N: sweep the seeds S ... S + N - 1 instead (to go on past seeds already "
                   "swept)")
    p.add_argument("--correct-only", action="store_true",
                   help="grade only the versions expected at full marks (the reference and the "
                   "alternatives), not the mutants: with --seeds, a sweep of the correct versions")
    p.set_defaults(func=cmd_variants)

    p = sub.add_parser("mutate", help="measure how strong a hidden suite is: grade automatic mutants of "
                       "the reference's solution regions; exit 1 under the floor")
    p.add_argument("exercise", metavar="EXERCISE", help="an exercise id, or `all`")
    p.add_argument("--sample", type=int, metavar="N", help="grade N mutants drawn the same way "
                   "every time, spread over the functions (default: all)")
    p.add_argument("--floor", type=float, metavar="F", help="fraction of counted mutants that must "
                   "lose points (default: 0.9)")
    p.add_argument("--workers", type=int, default=default_workers())
    p.add_argument("--out", metavar="DIR", help="grades and reports go to DIR/<exercise> (default: "
                   "grading/mutate; unchanged mutants are not graded again)")
    p.add_argument("--list", action="store_true", help="only list the mutants, grade nothing")
    p.add_argument("--diff", action="store_true", help="with --list: show each mutant's diff")
    p.add_argument("--print", action="store_true", help="print the markdown report too")
    p.set_defaults(func=cmd_mutate)

    p = sub.add_parser("profile", help="where grading one submission's time goes: phases and the "
                       "slowest hidden tests (kernel vs grader), medians over a few copies")
    p.add_argument("exercise", metavar="EXERCISE")
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                   help="notebooks to grade (default: --n copies of the reference solution)")
    p.add_argument("--n", type=int, default=3, help="copies of the reference (default 3)")
    p.add_argument("--top", type=int, default=15, help="tests to list, slowest first (0: all)")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("validate", help="check course.yaml and list the exercises")
    p.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                        format="grader: %(levelname)s: %(name)s: %(message)s", stream=sys.stderr)
    if getattr(args, "workers", 1) is not None and getattr(args, "workers", 1) < 1:
        parser.error("--workers must be at least 1")
    try:
        return args.func(args)
    except GraderError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in INSTRUCTOR_ONLY:
            raise
        # the student kit installs only what `grader check` needs
        print(f"grader: error: `grader {args.command}` needs {exc.name!r}, which is not installed "
              "here (the student kit has `grader check` only; instructors install the full "
              "grader)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("grader: interrupted; finished results are saved, run the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
