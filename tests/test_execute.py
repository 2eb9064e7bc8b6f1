"""Running a notebook's cells (grader.pipeline.execute): one request for the whole notebook,
and every cell reported as it would be had each gone to the kernel on its own."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from grader.kernels.live import CELL_MARK, LiveKernel
from grader.kernels.sandbox import Sandbox
from grader.kernels.spec import KernelLimits
from grader.pipeline.execute import execute

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _notebook(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(s[3:]) if s.startswith("md:") else nbformat.v4.new_code_cell(s)
        for s in sources])


def _run(nb: nbformat.NotebookNode, **limits: float):
    with LiveKernel(KernelLimits(**limits), sandbox=Sandbox(hide=[ROOT])) as kernel:
        kernel.start(nb)
        requests = []
        real = kernel.run_cells

        def counted(cells, *args, **kwargs):
            requests.append([index for index, _ in cells])
            return real(cells, *args, **kwargs)

        kernel.run_cells = counted  # type: ignore[method-assign]
        report = execute(kernel, nb)
        alive = kernel.is_alive() and kernel.eval("1 + 1") == 2
    return report, requests, alive


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_cells_run_in_one_request_with_their_own_outputs_and_counts():
    nb = _notebook("print('a')", "md:# words", "", "x = 2\nx * 21",
                   "from IPython.display import display, HTML\ndisplay(HTML('<b>b</b>'))\nprint('after')",
                   "raise ValueError('no')", "import sys\nprint('err', file=sys.stderr)\nprint('out')",
                   "x")
    report, requests, alive = _run(nb)
    assert requests == [[0, 3, 4, 5, 6, 7]]  # one request; the empty cell is not sent (nbclient's rule)
    a, md, empty, answer, html, raises, streams, last = nb.cells
    assert _text(a) == "a\n" and a.execution_count == 1
    assert empty.execution_count is None and not empty.outputs
    assert answer.execution_count == 2
    assert [o.output_type for o in answer.outputs] == ["execute_result"]
    assert answer.outputs[0].data["text/plain"] == "42" and answer.outputs[0].execution_count == 2
    assert [o.output_type for o in html.outputs] == ["display_data", "stream"]
    assert html.outputs[0].data["text/html"] == "<b>b</b>" and _text(html) == "after\n"
    assert [o.output_type for o in raises.outputs] == ["error"] and raises.outputs[0].ename == "ValueError"
    assert {o.name: o.text for o in streams.outputs} == {"stderr": "err\n", "stdout": "out\n"}
    assert last.outputs[0].data["text/plain"] == "2" and last.execution_count == 6
    assert not any(CELL_MARK in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert [(c.index, c.status, c.label) for c in report.cells] == [
        (0, "ok", "In [1]"), (2, "ok", "the cell after In [1]"), (3, "ok", "In [2]"),
        (4, "ok", "In [3]"), (5, "error", "In [4]"), (6, "ok", "In [5]"), (7, "ok", "In [6]")]
    assert report.status == "ok" and report.first_failure == "In [4] raised ValueError: no"
    assert alive


def test_a_cell_past_its_time_is_stopped_and_the_cells_after_it_still_run():
    nb = _notebook("n = 1", "import time\ntime.sleep(60)", "n += 1\nprint(n)",
                   "import time\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    print('caught')",
                   "print(n + 10)")
    report, requests, alive = _run(nb, cell_timeout=2)
    # a stopped cell ends its request; its own code may catch the interrupt and carry on
    assert requests == [[0, 1, 2, 3, 4], [2, 3, 4]]
    assert [c.status for c in report.cells] == ["ok", "timeout", "ok", "timeout", "ok"]
    assert report.status == "timeout" and report.reason == "In [2] was stopped: cell ran longer than 2 s"
    assert "[grader: this cell was stopped: cell ran longer than 2 s]" in _text(nb.cells[1])
    assert _text(nb.cells[2]) == "2\n" and nb.cells[2].execution_count == 3
    assert _text(nb.cells[3]).startswith("caught\n") and _text(nb.cells[4]) == "12\n"
    assert alive


def test_a_dead_kernel_is_restarted_and_a_cell_that_ignores_interrupts_is_cut_off():
    nb = _notebook("n = 5", "import os\nos._exit(1)", "print(n)",
                   "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(60)",
                   "print(n * 2)")
    report, requests, alive = _run(nb, cell_timeout=2)
    # which cell killed the kernel is not certain from a batch (a dying process loses its last
    # messages): that request's cells run again one request each, so the answer is the same
    # every time; the rest of the notebook goes that way too
    assert requests == [[0, 1, 2, 3, 4]]
    assert [(c.status, c.label) for c in report.cells] == [
        ("ok", "In [1]"), ("died", "In [2]"), ("ok", "In [1]"), ("timeout", "In [2]"), ("ok", "In [1]")]
    assert report.reason == ("the kernel died while running In [2]; the kernel was restarted and later "
                             "cells still ran; it ignored the interrupt, so the kernel was restarted")
    assert _text(nb.cells[2]) == "5\n"  # the cells that ran before were run again
    assert _text(nb.cells[4]) == "10\n"
    assert alive


def test_the_notebook_budget_stops_the_cell_that_runs_and_skips_the_rest():
    nb = _notebook("import time\ntime.sleep(1)", "time.sleep(60)", "print('never')", "print('nor this')")
    report, requests, _ = _run(nb, cell_timeout=30, notebook_budget=3)
    assert requests == [[0, 1, 2, 3]]
    assert [c.status for c in report.cells] == ["ok", "timeout", "skipped", "skipped"]
    assert report.status == "budget"
    assert report.reason == "In [2] was stopped: the notebook used up its time budget of 3 s"
    assert not nb.cells[2].outputs and nb.cells[2].execution_count is None


def test_forged_cell_marks_are_plain_outputs_and_a_broken_helper_falls_back_to_single_cells():
    forged = (f"from IPython.display import publish_display_data\n"
              f"publish_display_data({{{CELL_MARK!r}: 'x start 2 9'}})\nprint('forged')")
    nb = _notebook(forged, "print('next')", "__import__ = None  # the grader's request needs it",
                   "import time\ntime.sleep(60)", "print('last')")
    report, requests, _ = _run(nb, cell_timeout=2)
    assert _text(nb.cells[0]) == "forged\n" and _text(nb.cells[1]) == "next\n"
    # with __import__ gone the next request runs no cell: that cell goes on its own
    assert requests == [[0, 1, 2, 3, 4], [4]]
    assert [c.status for c in report.cells] == ["ok", "ok", "ok", "timeout", "ok"]
    assert _text(nb.cells[4]) == "last\n" and nb.cells[4].execution_count == 5


def test_cells_with_top_level_await_go_on_their_own_to_the_kernels_event_loop():
    nb = _notebook("x = 1", "import asyncio\nawait asyncio.sleep(0.01)\nprint('awaited', x)",
                   "async def f():\n    return 3", "print('sync again')", "await f()")
    report, requests, alive = _run(nb)
    # the batch stops before such a cell; a request that starts none is followed by that cell alone
    assert requests == [[0, 1, 2, 3, 4], [1, 2, 3, 4], [2, 3, 4], [4]]
    assert [c.status for c in report.cells] == ["ok"] * 5
    assert _text(nb.cells[1]) == "awaited 1\n" and _text(nb.cells[3]) == "sync again\n"
    assert nb.cells[4].outputs[0].data["text/plain"] == "3"
    assert [c.execution_count for c in nb.cells] == [1, 2, 3, 4, 5]
    assert alive


def test_exit_left_in_a_notebook_does_not_stop_the_kernel():
    """``exit()`` stops a Jupyter kernel's event loop a moment later; every hidden test then
    failed with "the kernel died". Grading kernels keep running."""
    nb = _notebook("x = 1", "exit()", "print(x)", "quit()", "x += 1")
    with LiveKernel(KernelLimits(), sandbox=Sandbox(hide=[ROOT])) as kernel:
        kernel.start(nb)
        report = execute(kernel, nb)
        import time
        time.sleep(0.5)  # (the loop used to stop 0.1 s after the cell)
        assert kernel.eval("x") == 2
    assert [c.status for c in report.cells] == ["ok"] * 5 and report.status == "ok"
    assert _text(nb.cells[2]) == "1\n"
