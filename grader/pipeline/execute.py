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
from ..kernels.live import BatchRun, LiveKernel


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
    stay in ``nb``. Each cell is named as the feedback page shows it (``In [n]``).

    The cells go to the kernel in one request (:meth:`LiveKernel.run_cells`); after a cell
    that was stopped, or a kernel that died and was restarted, the cells after it go in the
    next one. A request that starts no cell at all (a cell with top-level ``await``, which
    IPython runs in the kernel's event loop, or notebook code that broke the grader's helper)
    is followed by that cell alone, sent as an ordinary request."""
    kernel.begin(nb)
    limits = kernel.limits
    report = ExecutionReport()
    started = time.monotonic()
    deadline = started + limits.notebook_budget
    cell_timeout = limits.cell_timeout
    restarts = 0
    last_run: str | None = None  # the label of the last cell that started
    code = [(index, cell) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    pos = 0
    single = False  # one request per cell from here on (after a kernel died in a batch)
    counted = 0  # the last In [n] of the current kernel (a restarted one counts from 1 again)

    def label(cell: Any) -> str:
        """How the feedback page shows the cell: ``In [n]`` (the kernel's count)."""
        count = cell.get("execution_count")
        if count:
            return f"In [{count}]"
        return f"the cell after {last_run}" if last_run else "the first code cell"

    def stopped(by_budget: bool) -> dict[str, Any]:
        return {"ename": "CellTimeoutError",
                "evalue": (f"the notebook used up its time budget of {limits.notebook_budget:g} s"
                           if by_budget else f"cell ran longer than {cell_timeout:g} s"),
                "traceback": []}

    def skip_from(first: int) -> None:
        for index, _ in code[first:]:
            report.cells.append(CellReport(index, "skipped"))

    def settled(index: int, cell: Any, timed_out: bool, by_budget: bool) -> None:
        """Report a cell that ran to its end or was stopped at its time limit."""
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        if timed_out:
            error = stopped(by_budget)
            cell.outputs.append(nbformat.v4.new_output(
                "stream", name="stderr", text=f"[grader: this cell was stopped: {error['evalue']}]\n"))
        if error is None:
            report.cells.append(CellReport(index, "ok", label=label(cell)))
            return
        ename, evalue = error.get("ename"), str(error.get("evalue", ""))[:300]
        if ename == "CellTimeoutError":
            report.cells.append(CellReport(index, "timeout", ename, evalue, label(cell)))
            if report.status == "ok":
                report.status = "budget" if by_budget else "timeout"
                report.reason = f"{label(cell)} was stopped: {evalue}"
            return
        report.cells.append(CellReport(index, "error", ename, evalue, label(cell)))
        if ename == "MemoryError" and report.status == "ok":
            limit_text = _human(limits.memory) if limits.memory else "the limit"
            report.status = "memory"
            report.reason = f"{label(cell)} ran out of memory (limit {limit_text})"

    def reset_count() -> None:
        nonlocal counted
        counted = 0

    def died(index: int, cell: Any) -> bool:
        """The kernel died while running ``cell``: restart it (True: go on after the cell)."""
        nonlocal restarts
        report.cells.append(CellReport(index, "died", label=label(cell)))
        reason = f"the kernel died while running {label(cell)}"
        if report.status == "ok":
            report.status, report.reason = "died", reason
        cell.outputs.append(nbformat.v4.new_output(
            "stream", name="stderr", text=f"[grader: {reason}]\n"))
        if restarts < kernel.max_restarts and kernel.restart(_replay(nb, report), deadline):
            restarts += 1
            reset_count()
            cell.outputs.append(nbformat.v4.new_output(
                "stream", name="stderr", text="[grader: the kernel was restarted and the "
                "earlier cells were run again; later cells continue]\n"))
            report.reason = f"{reason}; the kernel was restarted and later cells still ran"
            return True
        kernel.dead_reason = reason
        return False

    def stuck(cell: Any) -> bool:
        """``cell`` ignored the interrupt (e.g. it blocks SIGINT): start afresh (True: go on)."""
        nonlocal restarts
        if restarts < kernel.max_restarts and kernel.restart(_replay(nb, report), deadline):
            restarts += 1
            reset_count()
            report.reason = f"{report.reason}; it ignored the interrupt, so the kernel was restarted"
            return True
        kernel.dead_reason = f"{label(cell)} did not stop when interrupted; the kernel was shut down"
        report.reason = kernel.dead_reason
        kernel.kill()
        return False

    while pos < len(code):
        index, cell = code[pos]
        if not _sent(cell):
            report.cells.append(CellReport(index, "ok", label=label(cell)))
            pos += 1
            continue
        if deadline - time.monotonic() <= 0:
            if report.status == "ok":
                report.status = "budget"
                report.reason = (f"the notebook used up its time budget of "
                                 f"{limits.notebook_budget:g} s before {label(cell)}")
            skip_from(pos)
            break
        batch = BatchRun()
        try:
            if not single:
                batch = kernel.run_cells([(i, c) for i, c in code[pos:] if _sent(c)], cell_timeout, deadline)
        except Exception as exc:  # noqa: BLE001 - e.g. the channels are gone
            report.cells.append(CellReport(index, "error", type(exc).__name__, str(exc)[:300], label(cell)))
            pos += 1
            continue
        if single or (not batch.runs and not batch.died and not batch.stuck):
            if not single and deadline - time.monotonic() < 0.1:
                deadline = time.monotonic()  # the kernel found the budget used up
                continue
            go_on = _one_cell(kernel, index, cell, report, settled, died, stuck, stopped, deadline,
                              counted + 1)
            pos += 1
            if cell.get("execution_count"):
                last_run = f"In [{cell.execution_count}]"
                if report.cells[-1].status != "died":  # (else the new kernel counts afresh)
                    counted = cell.execution_count
            if not go_on:
                skip_from(pos)
                break
            continue
        if batch.died:
            # Where it died is not certain: a dying process loses the messages it had not sent
            # yet, the last cells' ends among them. Start afresh from the cells of earlier
            # requests and run this request's cells again, one request each, as before
            # batches: the cell that kills the kernel is then known, and so reported the same
            # way every time.
            for _, again in code[pos:]:
                again.outputs, again.execution_count = [], None
            single = True
            counted = 0
            if kernel.restart(_replay(nb, report), deadline):
                continue
            pos += 1
            if not died(index, cell):
                skip_from(pos)
                break
            continue
        runs = {run.index: run for run in batch.runs}
        go_on = True
        while pos < len(code) and go_on:
            index, cell = code[pos]
            if not _sent(cell):
                report.cells.append(CellReport(index, "ok", label=label(cell)))
                pos += 1
                continue
            run = runs.get(index)
            if run is None:
                break  # not started: the next request starts here
            pos += 1
            if cell.get("execution_count"):
                last_run = f"In [{cell.execution_count}]"
                counted = cell.execution_count
            settled(index, cell, run.timed_out, run.by_budget)
            if batch.stuck and run is batch.runs[-1]:
                go_on = stuck(cell)
        if not go_on:
            skip_from(pos)
            break
    report.seconds = time.monotonic() - started
    return report


def _sent(cell: Any) -> bool:
    """Whether a code cell goes to the kernel: not an empty one, nor one tagged
    ``skip-execution`` (nbclient's rule)."""
    return bool(cell.source.strip()) and "skip-execution" not in cell.get("metadata", {}).get("tags", [])


def _one_cell(kernel: LiveKernel, index: int, cell: Any, report: ExecutionReport, settled: Any,
              died: Any, stuck: Any, stopped: Any, deadline: float, count: int) -> bool:
    """Run one cell as an ordinary request (nbclient): the fall-back when a batch started no
    cell, and after a kernel died in a batch. ``count``: the ``In [n]`` it gets unless the
    kernel says otherwise. False when the cells after it cannot run (the kernel is gone)."""
    limit = min(kernel.limits.cell_timeout, deadline - time.monotonic())
    by_budget = limit < kernel.limits.cell_timeout
    try:
        timed_out = kernel.run_cell(cell, index, max(limit, 0.001), stopped(by_budget))
    except DeadKernelError:
        cell.execution_count = cell.get("execution_count") or count
        return bool(died(index, cell))
    except Exception as exc:  # noqa: BLE001 - e.g. a kernel that never replies
        report.cells.append(CellReport(index, "error", type(exc).__name__, str(exc)[:300]))
        return True
    settled(index, cell, timed_out, by_budget)
    if timed_out and not kernel.settle():
        return bool(stuck(cell))
    return True


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
