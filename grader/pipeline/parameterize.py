"""Stage 2 of the pipeline: papermill injects the grading parameters (DESIGN.md section 4).

A cell tagged ``injected-parameters`` goes after the cell tagged ``parameters``: ``SEED``,
``FAST=True``, ``DEVICE``, ``DATA_DIR`` and the exercise's own ``parameters`` from course.yaml.
"""
from __future__ import annotations

from typing import Any

import nbformat
from papermill.parameterize import parameterize_notebook


def parameterize(nb: nbformat.NotebookNode, parameters: dict[str, Any]) -> nbformat.NotebookNode:
    """papermill's parameter injection: a cell tagged ``injected-parameters`` after the cell
    tagged ``parameters``."""
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3",
                                          "language": "python"})
    nb.metadata["kernelspec"]["language"] = "python"
    # what papermill.load_notebook_node does before parameterizing
    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    return parameterize_notebook(nb, parameters, kernel_name="python3", language="python")
