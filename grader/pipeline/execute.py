"""Stage 3 of the pipeline: run the notebook's cells in a sandboxed kernel (DESIGN.md §4).

Errors do not stop later cells; a cell past its timeout is interrupted; the whole notebook has a
time budget; a kernel that dies (or ignores an interrupt) is restarted and the cells that had
run fine are run again, so the cells after the fatal one are still graded. The report names each
cell as the feedback page shows it (``In [n]``) and says what went wrong first.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbclient.exceptions import DeadKernelError

from ..cells import grade_id, is_public_check
from ..kernels.live import LiveKernel


def plain_error(evalue: str | None) -> str:
    """An error message as a student can place it: IPython names a cell's code after a hash
    ("(3195434712.py, line 1)"), which becomes "(line 1 of the cell)"."""
    return re.sub(r"\((?:[\w/.-]*/)?\d+\.py, line (\d+)\)", r"(line \1 of the cell)", evalue or "")


@dataclass
class CellReport:
    index: int
    status: str  # ok | error | timeout | skipped | died
    ename: str | None = None
    evalue: str | None = None
    label: str | None = None  # "In [n]", as the feedback page shows the cell


@dataclass
class ExecutionReport:
    status: str = "ok"  # ok | timeout | budget | died | error
    reason: str | None = None
    cells: list[CellReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> list[CellReport]:
        return [c for c in self.cells if c.status != "ok"]

    @property
    def first_failure(self) -> str | None:
        """The first cell that raised, one line: ``In [2] raised SyntaxError: invalid syntax``."""
        failed = next((c for c in self.cells if c.status == "error"), None)
        if failed is None:
            return None
        evalue = plain_error(failed.evalue)
        detail = f": {evalue}" if evalue else ""
        return f"{failed.label or f'cell {failed.index}'} raised {failed.ename}{detail}"


def execute(kernel: LiveKernel, nb: nbformat.NotebookNode) -> ExecutionReport:
    """Run every code cell of ``nb`` in ``kernel``; errors do not stop later cells. Outputs
    stay in ``nb``. Each cell is named as the feedback page shows it (``In [n]``)."""
    kernel.begin(nb)
    limits = kernel.limits
    report = ExecutionReport()
    started = time.monotonic()
    deadline = started + limits.notebook_budget
    cell_timeout = limits.cell_timeout
    restarts = 0
    last_run: str | None = None  # the label of the last cell that started
    sent = 0  # cells sent to this kernel: the n-th gets In [n] (probes are not counted)

    def label(cell: Any) -> str:
        """How the feedback page shows the cell: ``In [n]`` (the kernel's count)."""
        count = cell.get("execution_count")
        if count:
            return f"In [{count}]"
        return f"the cell after {last_run}" if last_run else "the first code cell"

    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            report.cells.append(CellReport(index, "skipped"))
            if report.status == "ok":
                report.status = "budget"
                report.reason = (f"the notebook used up its time budget of "
                                 f"{limits.notebook_budget:g} s before {label(cell)}")
            continue
        limit = min(cell_timeout, remaining)
        by_budget = limit < cell_timeout
        stopped = {
            "ename": "CellTimeoutError",
            "evalue": (f"the notebook used up its time budget of {limits.notebook_budget:g} s"
                       if by_budget else f"cell ran longer than {cell_timeout:g} s"),
            "traceback": [],
        }
        sent += 1
        try:
            timed_out = kernel.run_cell(cell, index, limit, stopped)
        except DeadKernelError:
            # whether the kernel said which cell it started before it died is a race: the
            # page shows the number it was given (the same in every run)
            cell.execution_count = cell.get("execution_count") or sent
            report.cells.append(CellReport(index, "died", label=label(cell)))
            reason = f"the kernel died while running {label(cell)}"
            if report.status == "ok":
                report.status, report.reason = "died", reason
            cell.outputs.append(nbformat.v4.new_output(
                "stream", name="stderr", text=f"[grader: {reason}]\n"))
            if restarts < kernel.max_restarts and kernel.restart(_replay(nb, report), deadline):
                restarts += 1
                sent = 0  # a new kernel counts from 1 (the cells run again are not counted)
                cell.outputs.append(nbformat.v4.new_output(
                    "stream", name="stderr", text="[grader: the kernel was restarted and the "
                    "earlier cells were run again; later cells continue]\n"))
                report.reason = f"{reason}; the kernel was restarted and later cells still ran"
                continue
            kernel.dead_reason = reason
            for later in range(index + 1, len(nb.cells)):
                if nb.cells[later].cell_type == "code":
                    report.cells.append(CellReport(later, "skipped"))
            break
        except Exception as exc:  # noqa: BLE001 - e.g. a kernel that never replies
            report.cells.append(CellReport(index, "error", type(exc).__name__, str(exc)[:300],
                                           label(cell)))
            continue
        finally:
            if cell.get("execution_count"):
                last_run = f"In [{cell.execution_count}]"
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        if timed_out:
            error = stopped
            cell.outputs.append(nbformat.v4.new_output(
                "stream", name="stderr", text=f"[grader: this cell was stopped: {error['evalue']}]\n"))
        if error is None:
            report.cells.append(CellReport(index, "ok", label=label(cell)))
            continue
        ename, evalue = error.get("ename"), str(error.get("evalue", ""))[:300]
        if ename == "CellTimeoutError":
            report.cells.append(CellReport(index, "timeout", ename, evalue, label(cell)))
            if report.status == "ok":
                report.status = "budget" if by_budget else "timeout"
                report.reason = (f"{label(cell)} was stopped: {evalue}")
            if not kernel.settle():
                # the code ignored the interrupt (e.g. it blocks SIGINT): start afresh
                if restarts < kernel.max_restarts and kernel.restart(_replay(nb, report), deadline):
                    restarts += 1
                    sent = 0
                    report.reason = f"{report.reason}; it ignored the interrupt, so the kernel was restarted"
                else:
                    kernel.dead_reason = (f"{label(cell)} did not stop when interrupted; "
                                          "the kernel was shut down")
                    report.reason = kernel.dead_reason
                    kernel.kill()
                    for later in range(index + 1, len(nb.cells)):
                        if nb.cells[later].cell_type == "code":
                            report.cells.append(CellReport(later, "skipped"))
                    break
        else:
            report.cells.append(CellReport(index, "error", ename, evalue, label(cell)))
            if ename == "MemoryError" and report.status == "ok":
                limit_text = _human(limits.memory) if limits.memory else "the limit"
                report.status = "memory"
                report.reason = f"{label(cell)} ran out of memory (limit {limit_text})"
    report.seconds = time.monotonic() - started
    return report


def _replay(nb: nbformat.NotebookNode, report: ExecutionReport) -> list[str]:
    """The sources of the cells that ran fine so far (run again in a restarted kernel)."""
    return [nb.cells[done.index].source for done in report.cells if done.status == "ok"]


def public_check_results(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """Pass/fail of every public check cell in an executed notebook."""
    results = []
    for cell in nb.cells:
        if not is_public_check(cell):
            continue
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        ran = cell.get("execution_count") is not None or bool(cell.get("outputs"))
        if error is not None:
            results.append({"id": grade_id(cell), "status": "failed",
                            "message": f"{error.get('ename')}: {error.get('evalue')}"[:300]})
        elif not ran:
            results.append({"id": grade_id(cell), "status": "not run", "message": "the cell did not run"})
        else:
            results.append({"id": grade_id(cell), "status": "passed", "message": ""})
    return results


def _human(n: int | float | None) -> str:
    if not n:
        return "none"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return str(n)
