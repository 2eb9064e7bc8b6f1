"""The class report: one self-contained HTML page per graded batch (``OUT/report.html``) and one
for the course, for the TA and the instructor.

It reads what a batch wrote (``OUT/results/*.json``, Gradescope's schema with our details in
``extra_data``) and shows the score distribution, the status counts, per-test pass rates worst
first with the most common failure messages, the run-time distribution and the slowest
submissions, students who handed in byte-identical notebooks, and a link to every feedback page.
Plots are Matplotlib SVG drawn when the page is built; the page has no script and loads nothing
(a strict Content-Security-Policy), so it opens offline, from a zip, or from an LMS upload.
"""
from __future__ import annotations

import html
import io
import json
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from .. import __version__
from ..errors import GraderError
from ..results import GradeResult, Status
from ..util import fmt_points, write_atomic

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em} h2{margin-top:1.8em;border-bottom:1px solid #ddd}
.meta{color:#666} table{border-collapse:collapse;margin:.6em 0} td,th{padding:.25em .7em;
border-bottom:1px solid #eee;text-align:left;vertical-align:top} th{background:#f6f6f6}
td.num,th.num{text-align:right} .bar{display:inline-block;height:.8em;background:#4a7;
vertical-align:middle} .bad{color:#b00} .plots{display:flex;flex-wrap:wrap;gap:1.5em}
.plots figure{margin:0} figcaption{color:#666;font-size:.9em} code{font-size:.92em}
ul.msgs{margin:.2em 0;padding-left:1.2em} ul.msgs li{margin:.15em 0}
"""


def _number_key(message: str) -> str:
    """Messages that differ only in their numbers are one kind of failure."""
    return re.sub(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", "#", message)


@dataclass
class TestStats:
    id: str
    name: str
    max_score: float
    attempts: int = 0
    passed: int = 0
    points: float = 0.0
    messages: Counter = field(default_factory=Counter)
    example: dict[str, str] = field(default_factory=dict)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.attempts if self.attempts else 0.0

    def common(self, n: int = 3) -> list[tuple[str, int]]:
        return [(self.example[key], count) for key, count in self.messages.most_common(n)]


@dataclass
class ExerciseReport:
    exercise: str
    out: Path
    results: list[GradeResult]
    unreadable: list[str]

    @property
    def max_score(self) -> float:
        return max((r.max_score for r in self.results), default=0.0)

    @property
    def scores(self) -> list[float]:
        return [r.score for r in self.results]

    def statuses(self) -> Counter:
        return Counter(str(r.status) for r in self.results)

    def tests(self) -> list[TestStats]:
        """Per-test statistics over the graded submissions, worst pass rate first."""
        stats: dict[str, TestStats] = {}
        for result in self.results:
            if result.status == Status.INVALID:
                continue   # nothing ran: it says nothing about a test
            for test in result.tests:
                s = stats.setdefault(test.id, TestStats(test.id, test.name, test.max_score))
                s.attempts += 1
                s.points += test.score
                if test.status == "passed":
                    s.passed += 1
                else:
                    first = (test.message or "").strip().splitlines()[0] if (test.message or "").strip() else test.status
                    first = first if len(first) <= 300 else first[:299] + "…"
                    key = _number_key(first)
                    s.messages[key] += 1
                    s.example.setdefault(key, first)
        return sorted(stats.values(), key=lambda s: (s.pass_rate, s.id))

    def identical(self) -> list[list[str]]:
        """Groups of students whose notebooks are byte-identical."""
        groups: dict[str, list[str]] = defaultdict(list)
        for r in self.results:
            if r.notebook_sha256:
                groups[r.notebook_sha256].append(r.student)
        return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def load(out: Path) -> ExerciseReport:
    """The results a batch wrote under ``out``."""
    out = Path(out)
    folder = out / "results"
    if not folder.is_dir():
        raise GraderError(f"{out} holds no graded batch (no results/ folder): grade into it first")
    results, unreadable = [], []
    for path in sorted(folder.glob("*.json")):
        try:
            results.append(GradeResult.from_gradescope(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError):
            unreadable.append(path.name)
    exercises = sorted({r.exercise for r in results})
    exercise = exercises[0] if len(exercises) == 1 else (", ".join(exercises) or out.name)
    results.sort(key=lambda r: r.student)
    return ExerciseReport(exercise, out, results, unreadable)


# --------------------------------------------------------------------------- plots
def _svg(fig) -> str:  # noqa: ANN001
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _histogram(values: list[float], *, bins, xlabel: str, title: str) -> str:  # noqa: ANN001
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    matplotlib.rcParams["svg.hashsalt"] = "grader-report"   # the same page for the same data
    fig, ax = plt.subplots(figsize=(5.2, 2.8))
    try:
        ax.hist(values, bins=bins, color="#4a7", edgecolor="white")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("submissions")
        ax.set_title(title, fontsize=11)
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig)
    finally:
        plt.close(fig)


def score_plot(report: ExerciseReport) -> str:
    top = report.max_score or 1.0
    bins = [top * i / 20 for i in range(21)]
    return _histogram(report.scores, bins=bins, xlabel=f"points (of {fmt_points(top)})", title="Scores")


def time_plot(report: ExerciseReport) -> str:
    seconds = [r.seconds for r in report.results]
    return _histogram(seconds, bins=min(20, max(1, len(seconds))), xlabel="seconds per submission",
                      title="Grading time")


# --------------------------------------------------------------------------- pages
def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def _e(value: object) -> str:
    return html.escape(str(value))


def _link(student: str) -> str:
    return f'<a href="feedback/{quote(student)}.html">{_e(student)}</a>'


def render(report: ExerciseReport, course: str | None = None, now: str | None = None) -> str:
    """The exercise's class report as one HTML page."""
    now = now or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    n = len(report.results)
    top = report.max_score
    scores = report.scores
    parts = [f"<h1>Class report: {_e(report.exercise)}</h1>",
             f'<p class="meta">{_e(course) + " · " if course else ""}{n} submissions · built {now} · '
             f"grader {__version__}</p>"]
    if report.unreadable:
        parts.append(f'<p class="bad">{len(report.unreadable)} results file(s) could not be read: '
                     f"{_e(', '.join(report.unreadable[:10]))}</p>")
    if not n:
        parts.append("<p>No graded submissions yet.</p>")
        return _page(f"Class report: {report.exercise}", "\n".join(parts))
    full = sum(1 for s in scores if s >= top > 0)
    summary = [("mean", f"{statistics.fmean(scores):.2f}"), ("median", fmt_points(statistics.median(scores))),
               ("lowest", fmt_points(min(scores))), ("highest", fmt_points(max(scores))),
               ("full marks", f"{full} ({100 * full / n:.0f}%)"),
               ("zero", str(sum(1 for s in scores if s == 0)))]
    parts.append("<h2>Scores</h2>")
    parts.append('<table id="summary"><tr>' + "".join(f"<th>{k}</th>" for k, _ in summary) + "</tr><tr>"
                 + "".join(f'<td class="num">{v}</td>' for _, v in summary) + f"</tr></table>"
                 f'<p class="meta">out of {fmt_points(top)} points</p>')
    statuses = report.statuses()
    parts.append('<div class="plots">'
                 f'<figure id="score-plot">{score_plot(report)}<figcaption>Score distribution</figcaption></figure>'
                 f'<figure id="time-plot">{time_plot(report)}<figcaption>Grading time per submission'
                 "</figcaption></figure></div>")
    parts.append('<h2>How grading ended</h2><table id="statuses"><tr><th>status</th><th class="num">submissions'
                 "</th></tr>" + "".join(f'<tr><td>{_e(s.value)}</td><td class="num">{statuses.get(s.value, 0)}</td></tr>'
                                        for s in Status) + "</table>")
    rows = []
    for t in report.tests():
        width = round(100 * t.pass_rate)
        msgs = "".join(f"<li>{count} × <code>{_e(msg)}</code></li>" for msg, count in t.common())
        rows.append(f"<tr><td><b>{_e(t.name)}</b><br><code>{_e(t.id)}</code>"
                    + (f'<ul class="msgs">{msgs}</ul>' if msgs else "")
                    + f'</td><td class="num">{fmt_points(t.max_score)}</td>'
                    f'<td class="num">{t.points / max(t.attempts, 1):.2f}</td>'
                    f'<td class="num">{t.passed}/{t.attempts}</td>'
                    f'<td><span class="bar" style="width:{width * 0.8:.0f}px"></span> {width}%</td></tr>')
    parts.append("<h2>Tests, worst pass rate first</h2><p class=\"meta\">with the most common failure messages "
                 "(messages that differ only in their numbers counted together)</p>"
                 '<table id="tests"><tr><th>test</th><th class="num">points</th><th class="num">mean</th>'
                 '<th class="num">passed</th><th>pass rate</th></tr>' + "".join(rows) + "</table>")
    slow = sorted(report.results, key=lambda r: -r.seconds)[:10]
    seconds = [r.seconds for r in report.results]
    parts.append(f"<h2>Grading time</h2><p>median {statistics.median(seconds):.1f} s, slowest {max(seconds):.1f} s, "
                 f"total {sum(seconds):.0f} s.</p>"
                 '<table id="slowest"><tr><th>slowest submissions</th><th class="num">seconds</th><th>status</th></tr>'
                 + "".join(f'<tr><td>{_link(r.student)}</td><td class="num">{r.seconds:.1f}</td><td>{_e(r.status.value)}'
                           "</td></tr>" for r in slow) + "</table>")
    groups = report.identical()
    parts.append("<h2>Identical notebooks</h2>" + (
        "<p>No two students handed in the same file.</p>" if not groups else
        '<table id="identical"><tr><th>students with byte-identical notebooks</th></tr>'
        + "".join("<tr><td>" + ", ".join(_link(s) for s in g) + "</td></tr>" for g in groups) + "</table>"))
    parts.append('<h2>Every submission</h2><table id="students"><tr><th>student</th><th class="num">points</th>'
                 '<th>status</th><th class="num">failed tests</th><th class="num">seconds</th></tr>'
                 + "".join(f'<tr><td>{_link(r.student)}</td><td class="num">{fmt_points(r.score)}</td>'
                           f"<td>{_e(r.status.value)}{(': ' + _e(r.reason)) if r.reason else ''}</td>"
                           f'<td class="num">{len(r.failed)}</td><td class="num">{r.seconds:.1f}</td></tr>'
                           for r in report.results) + "</table>")
    return _page(f"Class report: {report.exercise}", "\n".join(parts))


def render_course(reports: list[tuple[str, ExerciseReport]], course: str | None = None,
                  now: str | None = None) -> str:
    """The course page: one row per exercise, linking to its report (``href``, relative)."""
    now = now or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    for href, r in reports:
        scores = r.scores
        top = r.max_score
        statuses = r.statuses()
        not_graded = sum(v for k, v in statuses.items() if k != Status.GRADED.value)
        rows.append(f'<tr><td><a href="{_e(href)}">{_e(r.exercise)}</a></td><td class="num">{len(scores)}</td>'
                    f'<td class="num">{(statistics.fmean(scores) if scores else 0):.2f} / {fmt_points(top)}</td>'
                    f'<td class="num">{sum(1 for s in scores if s >= top > 0)}</td>'
                    f'<td class="num">{not_graded}</td>'
                    f'<td>{_e(r.tests()[0].name) if r.tests() else ""}</td></tr>')
    body = (f"<h1>Course report{': ' + _e(course) if course else ''}</h1>"
            f'<p class="meta">{len(reports)} exercises · built {now} · grader {__version__}</p>'
            '<table id="exercises"><tr><th>exercise</th><th class="num">submissions</th><th class="num">mean</th>'
            '<th class="num">full marks</th><th class="num">not graded</th><th>hardest test</th></tr>'
            + "".join(rows) + "</table>")
    return _page(f"Course report{': ' + course if course else ''}", body)


def write(out: Path, course: str | None = None, report: ExerciseReport | None = None) -> Path:
    """Write ``out/report.html`` for the batch under ``out`` (``report``: it, already loaded);
    returns its path."""
    path = Path(out) / "report.html"
    write_atomic(path, render(report or load(out), course))
    return path
