"""`grader mutate`: how strong an exercise's hidden suite is, measured by automatic mutants.

Every solution region of the reference notebook (the code between ``### BEGIN SOLUTION`` and
``### END SOLUTION``) is changed one small step at a time -- an operator swapped, a constant
moved by one, a slice bound shifted, a ``dim`` changed, ``keepdim`` or another keyword argument
left at its default, two arguments swapped, ``+=`` turned into ``=``, a call such as
``zero_grad()`` or ``.eval()`` removed, ``.detach()`` dropped, a return value removed -- and
each such *mutant* is handed in as a student would hand it in and graded by the real engine
(sandboxed kernels, the hidden suite, the reference's answers cached), in parallel. A mutant
that loses points is *killed*; one that keeps full marks *survives*: either the suite misses a
mistake, or the change does not change behaviour (an *equivalent* mutant).

The generic operators (numbers, operators, comparisons, ``+=``, ``not``, ``is``/``in``,
``True``/``False``, conditional expressions) are mutmut's (``mutmut.mutation.mutators``, on
libcst trees); the ones for deep-learning code are ours. The grading is ours.

Survivors an author has reviewed are recorded in ``autograde_tests/<id>/mutants.yaml`` with a
reason; equivalent ones are left out of the score, ungradable ones count as surviving. Results
are cached: the grades live in the output folder, keyed by the fingerprint of the mutant
notebook, the suite and the reference (a batch's resume), so a second run grades only what
changed.
"""
from __future__ import annotations

import difflib
import hashlib
import html
import logging
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import nbformat
import yaml

from ..cells import grade_id, is_solution
from ..course import ExerciseSpec
from ..errors import VariantError
from ..util import write_atomic
from .variants import as_submission

log = logging.getLogger(__name__)

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
SURVIVORS_FILE = "mutants.yaml"
KINDS = ("equivalent", "ungradable")
# methods and functions whose first positional argument is a dimension
DIM_FIRST = {"sum", "mean", "max", "min", "argmax", "argmin", "softmax", "log_softmax", "std",
             "var", "prod", "cumsum", "logsumexp", "norm", "unsqueeze", "squeeze", "flatten", "size"}
COPIES = {"detach", "clone", "copy"}


@dataclass(frozen=True)
class AutoMutant:
    id: str          # stable while the lines it changes are unchanged
    cell: str        # grade_id of the solution cell
    function: str    # the enclosing function (or "<cell grade_id>" at top level)
    operator: str    # what was changed, in words
    line: int        # 1-based line in the cell
    source: str      # the cell's mutated source
    diff: str        # a unified diff of the cell


@dataclass
class Survivor:
    id: str
    kind: str
    reason: str


@dataclass
class MutationReport:
    exercise: str
    mutants: list[AutoMutant]
    outcome: dict[str, str] = field(default_factory=dict)     # id -> killed | survived | error
    failed_tests: dict[str, list[str]] = field(default_factory=dict)
    reviewed: dict[str, Survivor] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)           # reviewed ids no longer generated
    made: int = 0                                            # mutants generated before sampling
    seconds: float = 0.0
    graded: int = 0
    reused: int = 0

    def equivalent(self, m: AutoMutant) -> bool:
        r = self.reviewed.get(m.id)
        return r is not None and r.kind == "equivalent"

    @property
    def counted(self) -> list[AutoMutant]:
        """Mutants the score counts: not reviewed as equivalent, graded without a grader error."""
        return [m for m in self.mutants if not self.equivalent(m) and self.outcome.get(m.id) in ("killed", "survived")]

    @property
    def killed(self) -> int:
        return sum(self.outcome[m.id] == "killed" for m in self.counted)

    @property
    def score(self) -> float:
        counted = self.counted
        return self.killed / len(counted) if counted else 1.0

    def survivors(self) -> list[AutoMutant]:
        return [m for m in self.mutants if self.outcome.get(m.id) == "survived"]

    def by_function(self) -> dict[str, dict[str, int]]:
        rows: dict[str, dict[str, int]] = {}
        for m in self.mutants:
            row = rows.setdefault(m.function, {"made": 0, "killed": 0, "survived": 0, "equivalent": 0, "error": 0})
            row["made"] += 1
            if self.equivalent(m) and self.outcome.get(m.id) != "killed":
                row["equivalent"] += 1
            else:
                row[self.outcome.get(m.id, "error")] += 1
        return rows


# ------------------------------------------------------------------------------ generation

def _operators() -> list[tuple[type, str, Callable[[Any], Iterable[Any]]]]:
    import libcst as cst
    from mutmut.mutation import mutators as mm

    def minus_one(node: Any) -> Iterator[Any]:
        if isinstance(node, (cst.Integer, cst.Float)):
            value = node.evaluated_value - 1
            if isinstance(value, float):
                value = float(f"{value:.12g}")  # 0.8 - 1 is -0.2, not -0.19999999999999996
            if value >= 0:
                yield node.with_changes(value=repr(value))
            else:
                yield cst.UnaryOperation(cst.Minus(), node.with_changes(value=repr(-value)))

    def as_int(node: Any) -> int | None:
        if isinstance(node, cst.Integer):
            return int(node.evaluated_value)
        if (isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus)
                and isinstance(node.expression, cst.Integer)):
            return -int(node.expression.evaluated_value)
        return None

    def other_dims(value: int) -> list[int]:
        return [0] if value != 0 else [1]

    def dim_changed(node: Any) -> Iterator[Any]:
        args = list(node.args)
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else \
            node.func.value if isinstance(node.func, cst.Name) else ""
        for i, arg in enumerate(args):
            keyword = arg.keyword.value if arg.keyword else None
            positional_dim = (keyword is None and i == 0 and method in DIM_FIRST
                              and isinstance(node.func, cst.Attribute))
            if keyword in ("dim", "axis") or positional_dim:
                value = as_int(arg.value)
                if value is None:
                    continue
                for new in other_dims(value):
                    new_arg = arg.with_changes(value=cst.Integer(str(new)) if new >= 0 else
                                               cst.UnaryOperation(cst.Minus(), cst.Integer(str(-new))))
                    yield node.with_changes(args=[*args[:i], new_arg, *args[i + 1:]])

    def keyword_default(node: Any) -> Iterator[Any]:
        args = list(node.args)
        for i, arg in enumerate(args):
            if arg.keyword is not None and not arg.star:
                rest = [*args[:i], *args[i + 1:]]
                if rest:  # no dangling comma after the last argument
                    rest[-1] = rest[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                yield node.with_changes(args=rest)

    def args_swapped(node: Any) -> Iterator[Any]:
        args = list(node.args)
        for i in range(len(args) - 1):
            a, b = args[i], args[i + 1]
            if a.keyword or b.keyword or a.star or b.star:
                continue
            if cst.Module([]).code_for_node(a.value) == cst.Module([]).code_for_node(b.value):
                continue
            swapped = list(args)
            swapped[i] = a.with_changes(value=b.value)
            swapped[i + 1] = b.with_changes(value=a.value)
            yield node.with_changes(args=swapped)

    def copy_removed(node: Any) -> Iterator[Any]:
        if (isinstance(node.func, cst.Attribute) and node.func.attr.value in COPIES
                and not node.args):
            yield node.func.value

    def call_removed(node: Any) -> Iterator[Any]:
        if (len(node.body) == 1 and isinstance(node.body[0], cst.Expr)
                and isinstance(node.body[0].value, cst.Call)):
            yield node.with_changes(body=[cst.Pass()])

    def return_value_removed(node: Any) -> Iterator[Any]:
        if node.value is not None:
            yield node.with_changes(value=None, whitespace_after_return=cst.SimpleWhitespace(""))

    def shifted(expr: Any) -> Iterator[Any]:
        if as_int(expr) is not None:
            return  # literals: the constant operators move them
        simple = isinstance(expr, (cst.Name, cst.Attribute, cst.Call, cst.Subscript))
        inner = expr if simple or expr.lpar else expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        for op in (cst.Add(), cst.Subtract()):
            yield cst.BinaryOperation(left=inner, operator=op, right=cst.Integer("1"))

    def slice_shifted(node: Any) -> Iterator[Any]:
        for part in ("lower", "upper"):
            bound = getattr(node, part)
            if bound is not None:
                for new in shifted(bound):
                    yield node.with_changes(**{part: new})

    def range_shifted(node: Any) -> Iterator[Any]:
        if isinstance(node.func, cst.Name) and node.func.value == "range" and node.args:
            args = list(node.args)
            stop = 0 if len(args) == 1 else 1
            if args[stop].keyword is None and not args[stop].star:
                for new in shifted(args[stop].value):
                    yield node.with_changes(args=[*args[:stop], args[stop].with_changes(value=new),
                                                  *args[stop + 1:]])

    return [
        (cst.BaseNumber, "constant + 1", mm.operator_number),
        (cst.BaseNumber, "constant - 1", minus_one),
        (cst.Name, "True/False swapped", mm.operator_name),
        (cst.AugAssign, "augmented assignment turned into =", mm.operator_augmented_assignment),
        (cst.UnaryOperation, "not / ~ removed", mm.operator_remove_unary_ops),
        (cst.CSTNode, "is/in/break swapped", mm.operator_keywords),
        (cst.CSTNode, "operator swapped", mm.operator_swap_op),
        (cst.Lambda, "lambda body replaced", mm.operator_lambda),
        (cst.IfExp, "condition forced", mm.operator_if_exp),
        (cst.Call, "dim/axis changed", dim_changed),
        (cst.Call, "keyword argument left at its default", keyword_default),
        (cst.Call, "two arguments swapped", args_swapped),
        (cst.Call, ".detach()/.clone()/.copy() removed", copy_removed),
        (cst.Call, "range stop shifted by one", range_shifted),
        (cst.Slice, "slice bound shifted by one", slice_shifted),
        (cst.SimpleStatementLine, "call removed", call_removed),
        (cst.Return, "return value removed", return_value_removed),
    ]


def _regions(lines: list[str]) -> list[tuple[int, int]]:
    """1-based (begin, end) line numbers of the solution markers of a cell."""
    regions, start = [], None
    for n, line in enumerate(lines, 1):
        if line.strip() == BEGIN:
            start = n
        elif line.strip() == END and start is not None:
            regions.append((start, n))
            start = None
    return regions


def _functions(source: str) -> list[tuple[int, int, str]]:
    import ast
    found = []

    def walk(node: Any, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    found.append((child.lineno, child.end_lineno or child.lineno, name))
                walk(child, f"{name}.")
            else:
                walk(child, prefix)
    walk(ast.parse(source), "")
    return found


def _function_at(functions: list[tuple[int, int, str]], line: int, default: str) -> str:
    inside = [f for f in functions if f[0] <= line <= f[1]]
    return max(inside, key=lambda f: f[0])[2] if inside else default


def mutants_of_cell(cell_id: str, source: str) -> list[AutoMutant]:
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    lines = source.splitlines()
    regions = _regions(lines)
    if not regions:
        return []
    try:
        wrapper = MetadataWrapper(cst.parse_module(source))
    except cst.ParserSyntaxError as exc:
        log.warning("cell %s is not plain Python (%s): no mutants made from it", cell_id, exc)
        return []
    positions = wrapper.resolve(PositionProvider)
    module = wrapper.module
    functions = _functions(source)
    nodes: list[cst.CSTNode] = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            nodes.append(node)
            return True

    module.visit(Collect())
    operators = _operators()
    seen: set[str] = {source}
    made: list[AutoMutant] = []
    for node in nodes:
        pos = positions.get(node)
        if pos is None or not any(b < pos.start.line < e for b, e in regions):
            continue
        for kind, name, operator in operators:
            if not isinstance(node, kind):
                continue
            try:
                replacements = list(operator(node))
            except Exception as exc:  # noqa: BLE001 - an operator that does not fit this node
                log.debug("%s on line %d of %s: %s", name, pos.start.line, cell_id, exc)
                continue
            for new in replacements:
                try:
                    code = module.deep_replace(node, new).code
                except Exception as exc:  # noqa: BLE001 - an operator that does not fit this node
                    log.debug("%s on line %d of %s: %s", name, pos.start.line, cell_id, exc)
                    continue
                if code in seen:
                    continue
                try:
                    compile(code, cell_id, "exec")
                except SyntaxError:
                    continue
                seen.add(code)
                diff = "".join(difflib.unified_diff(source.splitlines(True), code.splitlines(True),
                                                    f"cell {cell_id} (reference)", f"cell {cell_id} (mutant)", n=1))
                changed = [d for d in diff.splitlines()[2:] if d[:1] in "+-"]
                ident = hashlib.sha1("\n".join([cell_id, name, *changed]).encode()).hexdigest()[:10]
                made.append(AutoMutant(ident, cell_id, _function_at(functions, pos.start.line, f"<{cell_id}>"),
                                       name, pos.start.line, code, diff))
    return made


def generate(spec: ExerciseSpec) -> list[AutoMutant]:
    """Every automatic mutant of the solution regions of the exercise's reference notebook."""
    solution = nbformat.read(spec.solution, as_version=4)
    made: list[AutoMutant] = []
    ids: set[str] = set()
    for cell in solution.cells:
        if cell.cell_type == "code" and is_solution(cell):
            for m in mutants_of_cell(grade_id(cell) or "?", cell.source):
                if m.id not in ids:
                    ids.add(m.id)
                    made.append(m)
    return made


def sample(mutants: list[AutoMutant], n: int | None, seed: str) -> list[AutoMutant]:
    """``n`` mutants drawn the same way every time (seeded by ``seed``), spread over functions."""
    if n is None or n >= len(mutants):
        return list(mutants)
    rng = random.Random(seed)
    by_function: dict[str, list[AutoMutant]] = {}
    for m in mutants:
        by_function.setdefault(m.function, []).append(m)
    for group in by_function.values():
        rng.shuffle(group)
    picked: list[AutoMutant] = []
    while len(picked) < n:  # round robin over the functions
        for name in sorted(by_function):
            if by_function[name] and len(picked) < n:
                picked.append(by_function[name].pop())
    order = {m.id: i for i, m in enumerate(mutants)}
    return sorted(picked, key=lambda m: order[m.id])


def mutant_notebook(mutant: AutoMutant, solution: nbformat.NotebookNode,
                    assignment: nbformat.NotebookNode) -> nbformat.NotebookNode:
    filled = nbformat.from_dict(solution)
    for cell in filled.cells:
        if grade_id(cell) == mutant.cell:
            cell.source = mutant.source
    return as_submission(assignment, filled)


# ------------------------------------------------------------------------------ reviewed survivors

def load_reviewed(spec: ExerciseSpec) -> dict[str, Survivor]:
    path = spec.tests_dir / SURVIVORS_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise VariantError(f"{path}: not valid YAML ({exc})") from None
    reviewed: dict[str, Survivor] = {}
    for n, entry in enumerate(data.get("survivors") or [], 1):
        if not isinstance(entry, dict) or not entry.get("id") or not str(entry.get("reason", "")).strip():
            raise VariantError(f"{path}: survivor {n} needs an id and a reason")
        kind = entry.get("kind", "equivalent")
        if kind not in KINDS:
            raise VariantError(f"{path}: survivor {entry['id']}: kind must be one of {', '.join(KINDS)}")
        reviewed[str(entry["id"])] = Survivor(str(entry["id"]), kind, str(entry["reason"]).strip())
    return reviewed


# ------------------------------------------------------------------------------ grading

def planned(spec: ExerciseSpec, n: int | None = None, *, unreviewed: bool = False) -> MutationReport:
    """The report of a mutation run before grading: the mutants made, the seeded sample of
    ``n`` of them to grade (all when ``n`` is None), the reviewed survivors. With
    ``unreviewed``, the sample is drawn from the mutants not listed in mutants.yaml (CI's
    check: every one of them must lose points, so none is graded only to be left out)."""
    made = generate(spec)
    reviewed = load_reviewed(spec)
    ids = {m.id for m in made}
    pool = [m for m in made if m.id not in reviewed] if unreviewed else made
    return MutationReport(spec.id, sample(pool, n, spec.id), reviewed=reviewed, made=len(made),
                          stale=sorted(i for i in reviewed if i not in ids))


def write_mutants(spec: ExerciseSpec, mutants: list[AutoMutant], folder: Path, prefix: str = "m") -> None:
    """Each mutant as a student's submission, ``<prefix><id>.ipynb`` under ``folder``."""
    solution = nbformat.read(spec.solution, as_version=4)
    assignment = nbformat.read(spec.assignment, as_version=4)
    folder.mkdir(parents=True, exist_ok=True)
    for m in mutants:
        nbformat.write(mutant_notebook(m, solution, assignment), folder / f"{prefix}{m.id}.ipynb")


def score_outcomes(report: MutationReport, results: dict[str, dict], prefix: str = "m") -> MutationReport:
    """Fill ``report``'s outcomes from graded results (student ``<prefix><id>`` -> its results
    document): killed when the mutant lost points, survived at full marks, error when the
    grader could not grade it."""
    for m in report.mutants:
        res = results.get(f"{prefix}{m.id}")
        if res is None or res["extra_data"]["status"] == "error":
            report.outcome[m.id] = "error"
            continue
        report.failed_tests[m.id] = [t["id"] for t in res["tests"] if t["status"] != "passed"]
        report.outcome[m.id] = "killed" if res["score"] < res["extra_data"]["max_score"] else "survived"
    return report


def run_mutation(spec: ExerciseSpec, out: Path, *, n: int | None = None, workers: int = 1,
                 progress: Callable[[int], Any] | None = None,
                 on_total: Callable[[int], Any] | None = None) -> MutationReport:
    """Generate the mutants (a seeded sample of ``n`` if given), grade them into ``out`` (results
    of an earlier run whose mutant, suite and reference are unchanged are reused) and report."""
    from ..batch import grade_batch

    report = planned(spec, n)
    if not report.mutants:
        return report
    subs = out / "submissions"
    if subs.exists():
        shutil.rmtree(subs)
    write_mutants(spec, report.mutants, subs)
    if on_total:
        on_total(len(report.mutants))
    summary = grade_batch(spec, subs, out / "grades", workers=workers, progress=progress)
    report.seconds, report.graded, report.reused = summary.seconds, summary.graded, summary.reused
    return score_outcomes(report, summary.results)


# ------------------------------------------------------------------------------ reports

def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render_markdown(report: MutationReport, floor: float) -> str:
    counted = report.counted
    lines = [f"# Mutation analysis: {report.exercise}", "",
             f"{len(report.mutants)} automatic mutants graded"
             + (f" (a sample of the {report.made} made)" if len(report.mutants) < report.made else "")
             + f"; **{report.killed} of {len(counted)} killed ({_pct(report.score)})**, floor "
             f"{_pct(floor)}. Reviewed equivalent survivors are not counted; grader errors are not "
             "counted and are listed.", "",
             "| function | made | killed | survived | equivalent | error |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, row in sorted(report.by_function().items()):
        lines.append(f"| `{name}` | {row['made']} | {row['killed']} | {row['survived']} | "
                     f"{row['equivalent']} | {row['error']} |")
    for title, want in (("Surviving mutants (not reviewed)", None), ("Accepted as ungradable", "ungradable"),
                        ("Reviewed as equivalent", "equivalent")):
        group = [m for m in report.survivors()
                 if getattr(report.reviewed.get(m.id), "kind", None) == want]
        if not group:
            continue
        lines += ["", f"## {title} ({len(group)})", ""]
        for m in group:
            why = f" -- {report.reviewed[m.id].reason}" if m.id in report.reviewed else ""
            lines += [f"### `{m.id}` {m.function}: {m.operator} (line {m.line}){why}", "",
                      "```diff", m.diff.rstrip(), "```", ""]
    errors = [m for m in report.mutants if report.outcome.get(m.id) == "error"]
    if errors:
        lines += ["", f"## Grader errors ({len(errors)})", ""] + [f"- `{m.id}` {m.function}: {m.operator}" for m in errors]
    if report.stale:
        lines += ["", f"Reviewed survivors no longer made (remove them from {SURVIVORS_FILE}): "
                  + ", ".join(f"`{s}`" for s in report.stale)]
    return "\n".join(lines).rstrip() + "\n"


def render_html(report: MutationReport, floor: float) -> str:
    esc = html.escape
    rows = "".join(f"<tr><td><code>{esc(name)}</code></td><td>{r['made']}</td><td>{r['killed']}</td>"
                   f"<td>{r['survived']}</td><td>{r['equivalent']}</td><td>{r['error']}</td></tr>"
                   for name, r in sorted(report.by_function().items()))
    blocks = []
    for m in report.survivors():
        reviewed = report.reviewed.get(m.id)
        label = f"{reviewed.kind}: {reviewed.reason}" if reviewed else "not reviewed"
        diff = "".join(f'<span class="{"add" if ln.startswith("+") else "del" if ln.startswith("-") else "ctx"}">'
                       f"{esc(ln)}</span>\n" for ln in m.diff.splitlines())
        blocks.append(f"<section><h3><code>{esc(m.id)}</code> {esc(m.function)}: {esc(m.operator)} "
                      f"(line {m.line})</h3><p>{esc(label)}</p><pre>{diff}</pre></section>")
    verdict = "meets" if report.score >= floor else "is under"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mutation analysis: {esc(report.exercise)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2rem .6rem;text-align:right}}
td:first-child{{text-align:left}}pre{{background:#f6f8fa;padding:.5rem;overflow-x:auto}}
.add{{background:#e6ffec}}.del{{background:#ffebe9}}</style></head><body>
<h1>Mutation analysis: {esc(report.exercise)}</h1>
<p>{report.killed} of {len(report.counted)} counted mutants killed: <strong>{_pct(report.score)}</strong>,
which {verdict} the floor of {_pct(floor)} ({len(report.mutants)} graded of {report.made} made).</p>
<table><tr><th>function</th><th>made</th><th>killed</th><th>survived</th><th>equivalent</th><th>error</th></tr>
{rows}</table>
<h2>Survivors ({len(report.survivors())})</h2>
{''.join(blocks) or '<p>None.</p>'}
</body></html>
"""


def write_reports(report: MutationReport, out: Path, floor: float) -> tuple[Path, Path]:
    md, page = out / "report.md", out / "report.html"
    write_atomic(md, render_markdown(report, floor))
    write_atomic(page, render_html(report, floor))
    return md, page


__all__ = ["AutoMutant", "MutationReport", "generate", "sample", "run_mutation", "load_reviewed",
           "render_markdown", "render_html", "write_reports", "mutants_of_cell"]
