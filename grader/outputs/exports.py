"""Exports of a graded batch for the systems grades go to: ``grader export OUT --format F``.

One function per format, each returning the file's text, all reading the batch's own results
(``OUT/results/*.json``: exactly the students of this batch, unlike the gradebook, which keeps
every batch graded into it):

- ``tests-csv``: one row per student, one column per test, and a second row with each column's
  maximum points;
- ``canvas``: Canvas's gradebook import CSV (``Student, ID, SIS User ID, SIS Login ID, Section``,
  then the assignment's column, and the ``Points Possible`` row Canvas reads first);
- ``moodle``: Moodle's assignment grading worksheet (``Identifier`` is ``Participant <id>``);
- ``junit``: JUnit XML, a ``testsuite`` per student and a ``testcase`` per test (CI systems);
- ``gradescope``: the batch's results as one JSON list in Gradescope's schema.

Canvas and Moodle match rows by their own user ids, which only a roster knows: a CSV with the
columns ``id, name, email, lms_id`` (the grader's student id, as in the results). A student the
roster does not list is reported, never guessed.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree as ET

from ..errors import GraderError
from .. import lms
from ..lms import Person
from ..results import GradeResult
from ..util import fmt_points

FORMATS = ("tests-csv", "canvas", "moodle", "junit", "gradescope")


class ExportError(GraderError):
    """An export that cannot be written as asked (a missing roster, students it does not know)."""


def load_roster(path: Path) -> dict[str, Person]:
    """The roster CSV (header ``id,name,email,lms_id``; extra columns are ignored)."""
    try:
        return lms.load_roster(path)
    except lms.RosterError as exc:
        raise ExportError(str(exc)) from None


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _people(results: list[GradeResult], roster: dict[str, Person] | None, fmt: str) -> list[tuple[GradeResult, Person]]:
    if roster is None:
        raise ExportError(f"--format {fmt} needs --roster: {fmt.capitalize()} matches rows by its own user ids, "
                          "which only a roster (CSV: id, name, email, lms_id) knows")
    unknown = [r.student for r in results if r.student not in roster]
    if unknown:
        raise ExportError(f"{len(unknown)} student(s) are not in the roster: {', '.join(unknown[:10])}"
                          f"{' ...' if len(unknown) > 10 else ''} (add them, or move their submissions aside)")
    return [(r, roster[r.student]) for r in results]


def tests_csv(results: list[GradeResult], **_: object) -> str:
    tests: dict[str, float] = {}
    for r in results:
        for t in r.tests:
            tests.setdefault(t.id, t.max_score)
    top = max((r.max_score for r in results), default=0.0)
    rows = [["student", "status", "total", *tests],
            ["max points", "", fmt_points(top), *(fmt_points(v) for v in tests.values())]]
    for r in results:
        got = {t.id: t.score for t in r.tests}
        rows.append([r.student, str(r.status), fmt_points(r.score),
                     *(fmt_points(got[t]) if t in got else "" for t in tests)])
    return _csv(rows)


def canvas(results: list[GradeResult], roster: dict[str, Person] | None = None, column: str = "", **_: object) -> str:
    people = _people(results, roster, "canvas")
    top = max((r.max_score for r in results), default=0.0)
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
            ["Points Possible", "", "", "", "", fmt_points(top)]]
    rows += [[p.name, p.lms_id, p.id, p.email, "", fmt_points(r.score)] for r, p in people]
    return _csv(rows)


def moodle(results: list[GradeResult], roster: dict[str, Person] | None = None, **_: object) -> str:
    people = _people(results, roster, "moodle")
    rows = [["Identifier", "Full name", "Email address", "Grade", "Maximum Grade", "Feedback comments"]]
    rows += [[f"Participant {p.lms_id}", p.name, p.email, fmt_points(r.score), fmt_points(r.max_score), r.summary]
             for r, p in people]
    return _csv(rows)


def junit(results: list[GradeResult], **_: object) -> str:
    root = ET.Element("testsuites", name="grader")
    for r in results:
        failures = sum(1 for t in r.tests if t.status == "failed")
        errors = sum(1 for t in r.tests if t.status not in ("passed", "failed"))
        suite = ET.SubElement(root, "testsuite", name=r.student, tests=str(len(r.tests)), failures=str(failures),
                              errors=str(errors), skipped="0", time=f"{r.seconds:.3f}", timestamp=r.graded_at)
        props = ET.SubElement(suite, "properties")
        for key, value in (("exercise", r.exercise), ("status", str(r.status)), ("score", fmt_points(r.score)),
                           ("max_score", fmt_points(r.max_score)), ("reason", r.reason or "")):
            ET.SubElement(props, "property", name=key, value=value)
        for t in r.tests:
            case = ET.SubElement(suite, "testcase", classname=f"{r.exercise}.{r.student}", name=t.id, time="0")
            if t.status == "passed":
                continue
            kind = "failure" if t.status == "failed" else "error"
            first = (t.message or t.status).strip().splitlines()[0] if (t.message or "").strip() else t.status
            node = ET.SubElement(case, kind, message=first[:500], type=t.status)
            node.text = f"{fmt_points(t.score)} / {fmt_points(t.max_score)} points\n{t.message}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def gradescope(results: list[GradeResult], **_: object) -> str:
    return json.dumps([r.to_gradescope() for r in results], indent=1) + "\n"


WRITERS: dict[str, Callable[..., str]] = {
    "tests-csv": tests_csv, "canvas": canvas, "moodle": moodle, "junit": junit, "gradescope": gradescope}


def export(results: list[GradeResult], fmt: str, *, roster: dict[str, Person] | None = None,
           column: str = "") -> str:
    if fmt not in WRITERS:
        raise ExportError(f"unknown format {fmt!r} (one of: {', '.join(FORMATS)})")
    return WRITERS[fmt](results, roster=roster, column=column)


SUFFIX = {"tests-csv": "tests.csv", "canvas": "canvas.csv", "moodle": "moodle.csv", "junit": "junit.xml",
          "gradescope": "gradescope.json"}
