"""Per-student feedback HTML: the executed notebook and a table of tests.

The table shows each test's name, points and failure message. It never contains hidden test
source: messages are assertion texts and exception summaries only (see hidden_tests.py).
"""
from __future__ import annotations

import html
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import nbformat

from .gradebook import fmt_points

_EXPORTER = None


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file so that readers see the old or the new content, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False,
                                  default=str) + "\n")


def _exporter():
    global _EXPORTER
    if _EXPORTER is None:
        from nbconvert import HTMLExporter
        _EXPORTER = HTMLExporter(template_name="lab")
        _EXPORTER.exclude_input_prompt = False
    return _EXPORTER




def summary_html(result: dict[str, Any]) -> str:
    extra = result["extra_data"]
    rows = []
    for test in result["tests"]:
        ok = test["status"] == "passed"
        rows.append(
            "<tr class='{cls}'><td>{mark}</td><td>{name}</td><td>{score} / {max}</td><td>{msg}</td></tr>"
            .format(cls="pass" if ok else "fail", mark="&#10004;" if ok else "&#10008;",
                    name=html.escape(test["name"]), score=fmt_points(test["score"]),
                    max=fmt_points(test["max_score"]), msg=html.escape(test.get("output") or "")))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in extra.get("notes", []))
    checks = "".join(
        f"<li>{html.escape(str(c['id']))}: {html.escape(c['status'])}"
        f"{(' - ' + html.escape(c['message'])) if c.get('message') else ''}</li>"
        for c in extra.get("public_checks", []))
    reason = extra.get("reason")
    return f"""
<section id="grader-feedback" style="font-family: sans-serif; margin: 1em 2em;">
<style>
#grader-feedback table {{ border-collapse: collapse; margin: .5em 0; }}
#grader-feedback td, #grader-feedback th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
#grader-feedback tr.pass td:first-child {{ color: #1a7f37; }}
#grader-feedback tr.fail td:first-child {{ color: #cf222e; }}
</style>
<h1>{html.escape(extra['exercise'])}: {html.escape(extra['student'])}</h1>
<p><b>Score: {fmt_points(result['score'])} / {fmt_points(extra['max_score'])}</b>
 &mdash; status: {html.escape(extra['status'])}{(' &mdash; ' + html.escape(reason)) if reason else ''}</p>
{f'<p>Notes on your submission:</p><ul>{notes}</ul>' if notes else ''}
<table><tr><th></th><th>Test</th><th>Points</th><th>What went wrong</th></tr>{''.join(rows)}</table>
{f'<p>Public checks in your notebook:</p><ul>{checks}</ul>' if checks else ''}
<p>Below is your notebook as the grader ran it.</p>
<hr/>
</section>
"""


def feedback_html(executed: nbformat.NotebookNode | None, result: dict[str, Any]) -> str:
    summary = summary_html(result)
    if executed is None:
        return f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{summary}</body></html>"
    body, _ = _exporter().from_notebook_node(executed)
    marker = body.find("<body")
    if marker == -1:
        return summary + body
    end = body.find(">", marker) + 1
    return body[:end] + summary + body[end:]
