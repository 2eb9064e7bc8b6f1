"""Reading a submission and rebuilding it from the release (pipeline.sanitize)."""
from __future__ import annotations

import json

import nbformat
import pytest

from grader.pipeline.sanitize import InvalidNotebook, read_notebook, restore_locked_cells



# ----------------------------------------------------------------------------- notebooks

@pytest.mark.parametrize("content, reason", [
    (b"", "the notebook file is empty"),
    (b"\xff\xfe{}", "the notebook is not UTF-8 text"),
    (b"{\"cells\": [", "the notebook is not valid JSON"),
    (b"[1, 2]", "the file is JSON but not a Jupyter notebook"),
    (json.dumps({"cells": [], "metadata": {}, "nbformat": 5, "nbformat_minor": 0}).encode(),
     "unsupported notebook format version 5"),
    (json.dumps({"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4,
                 "nbformat_minor": 5}).encode(), "the notebook is not a valid Jupyter notebook"),
])
def test_unreadable_notebooks_get_plain_reasons(tmp_path, content, reason):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(InvalidNotebook) as info:
        read_notebook(path)
    assert str(info.value).startswith(reason)


def test_oversized_notebook(tmp_path):
    path = tmp_path / "big.ipynb"
    path.write_bytes(b" " * 2048)
    with pytest.raises(InvalidNotebook, match="more than"):
        read_notebook(path, max_bytes=1024)


def _cell(kind, source, gid, solution=False):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    return make(source, metadata={"nbgrader": {"grade_id": gid, "solution": solution,
                                               "locked": not solution, "grade": False}})


def test_restore_locked_cells_keeps_answers_and_extras():
    release_nb = nbformat.v4.new_notebook(cells=[
        _cell("markdown", "intro", "intro"), _cell("code", "X = 1", "setup"),
        _cell("code", "raise NotImplementedError()", "answer", solution=True),
        _cell("code", "assert f()", "check")])
    submission = nbformat.v4.new_notebook(cells=[
        _cell("code", "X = 1000", "setup"),                       # edited locked cell
        _cell("code", "def f(): return 1", "answer", solution=True),
        nbformat.v4.new_code_cell("print('scratch')"),           # the student's own cell
        _cell("markdown", "intro", "intro")])                    # moved; check deleted
    out = restore_locked_cells(submission, release_nb)
    sources = [c.source for c in out.nb.cells]
    assert sources == ["intro", "X = 1", "def f(): return 1", "print('scratch')", "assert f()"]
    assert out.notes == ["locked cell 'setup' was edited; the original was restored",
                         "locked cell 'check' was deleted; it was put back"]
