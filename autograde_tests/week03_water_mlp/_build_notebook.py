"""Build solutions/week03_water_mlp.ipynb, the reference-solution notebook of Week 03.

The notebook is generated so that its cell metadata (nbgrader schema 3) and cell ids stay
consistent; edit the text here and rerun:

    python autograde_tests/week03_water_mlp/_build_notebook.py

The grade_ids of the solution cells are referenced by variants.yaml in this folder.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat import v4

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "solutions" / "week03_water_mlp.ipynb"

cells = []
_seen_ids: set[str] = set()


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, points=None) -> dict:
    if grade_id in _seen_ids:
        raise ValueError(f"duplicate grade_id {grade_id}")
    _seen_ids.add(grade_id)
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
    }
    if grade:
        meta["points"] = points
    return meta


def _add(cell, grade_id: str, **kw) -> None:
    cell.id = grade_id.replace("_", "-")
    cell.metadata["nbgrader"] = _meta(grade_id, **kw)
    cells.append(cell)


def md(grade_id: str, text: str) -> None:
    """A locked prose cell."""
    _add(v4.new_markdown_cell(dedent(text).strip()), grade_id)


def code(grade_id: str, src: str, tags: list[str] | None = None) -> None:
    """A locked code cell (given code, demos)."""
    cell = v4.new_code_cell(dedent(src).strip())
    if tags:
        cell.metadata["tags"] = tags
    _add(cell, grade_id)


def solution(grade_id: str, src: str) -> None:
    """A code cell the student edits; its solution regions become stubs in the release."""
    _add(v4.new_code_cell(dedent(src).strip()), grade_id, solution=True)


def check(name: str, src: str) -> None:
    """A visible public check (0 points: the hidden tests give the marks)."""
    _add(v4.new_code_cell(dedent(src).strip()), f"check_{name}", grade=True, points=0)


