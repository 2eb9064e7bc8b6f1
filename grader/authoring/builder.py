"""Writing solution notebooks from Python: cells with nbgrader metadata (schema 3), stable cell
ids and unique grade ids. Each exercise's ``autograde_tests/<id>/_build_notebook.py`` uses it::

    from grader.authoring.builder import NotebookBuilder
    book = NotebookBuilder("week02_autograd")
    book.md("intro", "# Week 02 ...")
    book.code("parameters", "SEED = 0 ...", tags=["parameters"])
    book.solution("value_core", "class Value: ...  ### BEGIN SOLUTION ... ### END SOLUTION")
    book.check("worked_graph", "assert ...")
    book.write()          # solutions/week02_autograd.ipynb
"""
from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat import v4


class NotebookBuilder:
    def __init__(self, exercise_id: str, root: Path | None = None):
        self.exercise_id = exercise_id
        self.root = root or Path(__file__).resolve().parents[2]
        self.cells: list = []
        self._seen: set[str] = set()

    def _meta(self, grade_id: str, *, solution: bool = False, grade: bool = False, points=None) -> dict:
        if grade_id in self._seen:
            raise ValueError(f"duplicate grade_id {grade_id}")
        self._seen.add(grade_id)
        meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": 3,
                "solution": solution}
        if grade:
            meta["points"] = points
        return meta

    def _add(self, cell, grade_id: str, **kw) -> None:
        cell.id = grade_id.replace("_", "-")
        cell.metadata["nbgrader"] = self._meta(grade_id, **kw)
        self.cells.append(cell)

    def md(self, grade_id: str, text: str) -> None:
        """A locked prose cell."""
        self._add(v4.new_markdown_cell(dedent(text).strip()), grade_id)

    def code(self, grade_id: str, src: str, tags: list[str] | None = None) -> None:
        """A locked code cell (given code, demos)."""
        cell = v4.new_code_cell(dedent(src).strip())
        if tags:
            cell.metadata["tags"] = tags
        self._add(cell, grade_id)

    def solution(self, grade_id: str, src: str) -> None:
        """A code cell the student edits; its solution regions become stubs in the release."""
        self._add(v4.new_code_cell(dedent(src).strip()), grade_id, solution=True)

    def check(self, name: str, src: str) -> None:
        """A visible public check (0 points: the hidden tests give the marks)."""
        self._add(v4.new_code_cell(dedent(src).strip()), f"check_{name}", grade=True, points=0)

    def build(self) -> nbformat.NotebookNode:
        nb = v4.new_notebook()
        nb.cells = self.cells
        nb.metadata = {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
        nbformat.validate(nb)
        return nb

    def write(self) -> Path:
        out = self.root / "solutions" / f"{self.exercise_id}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(self.build(), out)
        print(f"wrote {out.relative_to(self.root)} ({len(self.cells)} cells)")
        return out
