"""Stage 1 of the pipeline: read a submission and rebuild it from the release (DESIGN.md §4).

A file that is not a notebook, a notebook of another exercise or one without cells becomes an
``invalid`` result with a plain reason. Otherwise the notebook to run is the release's cells in
the release's order, with each answer cell taken from the submission (matched by nbgrader
``grade_id``); locked cells always come from the release, and every change is noted.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from ..cells import grade_id, is_solution

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024


class InvalidNotebook(Exception):
    """The file cannot be graded as a notebook; ``str()`` is a one-line reason for students."""


def read_notebook(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> nbformat.NotebookNode:
    """Parse and validate a notebook file, or raise InvalidNotebook with a plain reason."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidNotebook(f"the file could not be read ({exc.strerror})") from None
    if size == 0:
        raise InvalidNotebook("the notebook file is empty")
    if size > max_bytes:
        raise InvalidNotebook(f"the notebook is {size / 1024**2:.0f} MB, more than the "
                              f"{max_bytes / 1024**2:.0f} MB allowed (clear large outputs and hand in again)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidNotebook(f"the notebook is not UTF-8 text (bad byte at position {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidNotebook(f"the notebook is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                              f"{exc.msg})") from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise InvalidNotebook("the file is JSON but not a Jupyter notebook (no cells)")
    major = data.get("nbformat")
    if not isinstance(major, int) or major not in (3, 4):
        raise InvalidNotebook(f"unsupported notebook format version {major!r} (expected 4)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - nbformat raises several kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidNotebook(f"the notebook is not a valid Jupyter notebook ({first[:200]})") from None
    return nb


def other_exercise(nb: nbformat.NotebookNode, exercise: str, release: nbformat.NotebookNode) -> str | None:
    """Why ``nb`` cannot be a submission of ``exercise`` (None when it can): it has no cells,
    its metadata names another exercise (released notebooks carry their id), or, with no id,
    none of the release's cells is in it."""
    if not nb.cells:
        return "the notebook has no cells"
    declared = (nb.metadata.get("grader") or {}).get("exercise")
    if declared and declared != exercise:
        return (f"this is the notebook of {declared}, not {exercise} (its metadata says so); "
                f"hand in the {exercise} notebook")
    if declared is None:
        released = {grade_id(c) for c in release.cells if grade_id(c)}
        if released and not released & {grade_id(c) for c in nb.cells if grade_id(c)}:
            return (f"none of the cells of {exercise} are in this notebook (is it the notebook of "
                    "another exercise, or were its cells copied into a new notebook?)")
    return None


@dataclass
class Sanitized:
    nb: nbformat.NotebookNode
    notes: list[str] = field(default_factory=list)


def restore_locked_cells(submission: nbformat.NotebookNode,
                         release: nbformat.NotebookNode) -> Sanitized:
    """Build the notebook to execute: the release's cells in the release's order, with each
    solution cell taken from the submission (matched by ``grade_id``) and the student's own
    extra cells kept after the cell they followed. Locked cells always come from the release,
    so a student cannot change data loading, parameters or public checks; every change is
    reported in ``notes``."""
    notes: list[str] = []
    spec = submission.get("metadata", {}).get("kernelspec", {}) or {}
    language = str(spec.get("language") or "python").lower()
    if language != "python":
        notes.append(f"the notebook was saved with the {spec.get('display_name') or language} kernel; "
                     "it was run with Python, as the exercise requires")
    by_id: dict[str, Any] = {}
    extras_after: dict[str | None, list[Any]] = {}
    released_ids = {grade_id(c) for c in release.cells if grade_id(c)}
    previous: str | None = None
    for cell in submission.cells:
        gid = grade_id(cell)
        if gid and gid in released_ids and gid not in by_id:
            by_id[gid] = cell
            previous = gid
        else:
            extras_after.setdefault(previous, []).append(cell)

    out = copy.deepcopy(release)
    cells: list[Any] = []
    cells.extend(_fresh(c) for c in extras_after.get(None, []))
    for cell in release.cells:
        gid = grade_id(cell)
        sub = by_id.get(gid) if gid else None
        if is_solution(cell):
            if sub is None:
                notes.append(f"answer cell '{gid}' is missing from the submission; the empty "
                             "version was used")
                cells.append(_fresh(cell))
            else:
                fresh = _fresh(cell)
                fresh.source = sub.get("source", "")
                if sub.get("cell_type") != cell.cell_type:
                    notes.append(f"answer cell '{gid}' was changed from {cell.cell_type} to "
                                 f"{sub.get('cell_type')}; it was turned back")
                cells.append(fresh)
        else:
            if gid and sub is None:
                notes.append(f"locked cell '{gid}' was deleted; it was put back")
            elif sub is not None and (sub.get("source") != cell.source
                                      or sub.get("cell_type") != cell.cell_type):
                notes.append(f"locked cell '{gid}' was edited; the original was restored")
            cells.append(_fresh(cell))
        if gid:
            cells.extend(_fresh(c) for c in extras_after.get(gid, []))
    out.cells = cells
    return Sanitized(out, notes)


def _fresh(cell: Any) -> Any:
    """A copy of a cell without outputs (nothing the student ran survives into grading)."""
    new = copy.deepcopy(cell)
    if new.get("cell_type") == "code":
        new["outputs"] = []
        new["execution_count"] = None
    new.pop("attachments", None) if new.get("cell_type") == "code" else None
    return new


