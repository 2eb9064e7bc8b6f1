"""Probes in a real kernel (grader.kernels.live.LiveKernel.eval): the answer comes back in the
request's reply, never a previous probe's, and probes are seeded like ``torch.manual_seed``."""
from __future__ import annotations

import contextlib
import random
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.kernels.live import LiveKernel
from grader.kernels.probe import KernelDied, ProbeError, ProbeTimeout, StudentError
from grader.kernels.sandbox import Sandbox
from grader.kernels.spec import KernelLimits

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = """\
import random, numpy as np, torch
def double(x):
    return np.asarray(x) * 2
def forget_the_helper():
    del globals()['__grader_probe__']
    return 5
"""


@pytest.fixture(scope="module")
def kernel():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK)])
    with LiveKernel(KernelLimits(), sandbox=Sandbox(hide=[ROOT]), seed=123) as live:
        live.start(nb)
        live.begin(nb)
        assert all(run.finished for run in live.run_cells(list(enumerate(nb.cells)), 60,
                                                          time.monotonic() + 120).runs)
        yield live


def test_answers_errors_and_a_helper_deleted_by_the_notebook(kernel):
    np.testing.assert_array_equal(kernel.eval("double([1, 2])"), [2, 4])
    assert kernel.eval("print('noise')\n'a'") == "a"
    with pytest.raises(StudentError, match="ZeroDivisionError"):
        kernel.eval("1 / 0")
    assert kernel.eval("forget_the_helper()") == 5   # answered, though the helper's name is gone
    assert kernel.eval("double(1)") == 2             # defined again for the next probe


def test_a_probe_that_does_not_finish_never_gets_the_last_answer(kernel):
    assert kernel.eval("7") == 7
    with pytest.raises(ProbeError) as raised:
        kernel.eval("raise SystemExit")
    assert not isinstance(raised.value, StudentError)
    with pytest.raises(ProbeTimeout):
        kernel.eval("import time\ntime.sleep(30)", timeout=1)
    assert kernel.eval("8") == 8


def test_a_notebook_without_import_still_answers(kernel):
    kernel._execute_raw("__import__ = None", timeout=10)
    try:
        assert kernel.eval("3 * 3") == 9
    finally:
        kernel._execute_raw("del __import__", timeout=10)


def test_probes_are_seeded_as_torch_manual_seed_does(kernel):
    torch = pytest.importorskip("torch")
    got = kernel.eval("[torch.rand(3), np.random.rand(2), random.random(), "
                      "__import__('traceback').format_stack.__name__]")
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    np.testing.assert_array_equal(got[0], torch.rand(3).numpy())
    np.testing.assert_array_equal(got[1], np.random.rand(2))
    assert got[2] == random.random()
    assert got[3] == "format_stack"  # put back after seeding
    assert kernel.eval("torch.rand(2)").tolist() == kernel.eval("torch.rand(2)").tolist()


@pytest.mark.parametrize("src", [
    "double([1.5, 2])", "_a = 2; _a * double(3)", "_x = 1\nif _x:\n    _y = 5\n", "(\n  1 +\n  2\n)",
    "def _f(x: 'int') -> int:\n    return x + 1\n_f(1)", "1 +", "undefined_name", "[random.random(), np.random.rand()]"])
def test_probes_compiled_by_the_grader_answer_as_the_kernel_compiling_them_does(kernel, src):
    """Kernels that run the grader's Python get a probe compiled once by the grader (marshal
    data); a container's kernel compiles the source itself. Both must answer the same, whether
    the probe travels in the request's code or as its binary frame."""
    from grader.kernels.probe import compiled_probe, probe_call
    assert (compiled_probe(src) is None) == (src == "1 +")
    assert kernel.eval("None") is None  # (the helper is defined: this test may run first)
    answers = []
    for compiled in (True, False):
        for framed in (True, False):
            call, frame = probe_call(src, 5, compiled=compiled, framed=framed)
            assert (frame is not None) == framed and (len(call) < 60 or not framed)
            answers.append(kernel._execute_raw(call, 10, answer=True, frame=frame))
    assert answers[0] and all(answer == answers[0] for answer in answers), answers


@contextlib.contextmanager
def as_requests(kernel):
    """Probes sent as requests of their own (the way without the probe channel)."""
    kernel._close_channel()
    kernel._channel_failures = 2
    try:
        yield
    finally:
        kernel._channel_failures = 0


def test_a_large_probe_travels_as_a_frame_and_a_kernel_without_frames_gets_it_inline(kernel, monkeypatch):
    """Where probes go as requests: a probe of megabytes (hidden pictures as base64) is sent as
    a binary frame of the request, not through IPython's parsing of the request's code; a kernel
    whose ipykernel does not keep a request's frames answers GraderNoFrame, and gets every later
    probe inline."""
    with as_requests(kernel):
        _large_probe_as_request(kernel, monkeypatch)


def _large_probe_as_request(kernel, monkeypatch):
    import base64
    data = base64.b64encode(bytes(range(256)) * 8000).decode("ascii")  # 2.7 MB of source
    # what the probe decodes, and the size of the code of the request that carried it
    src = (f"[len(__import__('base64').b64decode({data!r})), "
           "len(get_ipython().kernel.get_parent('shell')['content']['code'])]")
    assert kernel._framed
    size, code = kernel.eval(src)
    assert size == 256 * 8000 and code < 100, code
    kernel._framed = False
    size, code = kernel.eval(src)
    assert size == 256 * 8000 and code > len(data), code
    kernel._framed = True
    # a kernel that drops the frames of a request (here: they are never sent)
    from grader.kernels import live
    ask = live._ask

    async def without_frame(kc, code, frame, user_expressions, timeout):
        return await ask(kc, code, None, user_expressions, timeout)

    monkeypatch.setattr(live, "_ask", without_frame)
    try:
        assert kernel.eval("double(4)") == 8
        assert not kernel._framed
        size, code = kernel.eval(src)
        assert size == 256 * 8000 and code > len(data), code
    finally:
        monkeypatch.undo()
        kernel._framed = True
    assert kernel.eval("double(5)") == 10 and kernel._framed


def test_the_helper_is_defined_from_a_frame_and_from_source_where_that_fails(kernel, monkeypatch):
    """The probe helper is defined through a short request carrying it (compiled) as a frame;
    a notebook that shadowed a name the request needs gets it as source, and answers all the
    same."""
    from grader.kernels import live, probe
    sent_as_source = []
    monkeypatch.setattr(live, "helper_code", lambda: sent_as_source.append(1) or probe.helper_code())
    for shadow in ("", "_kept = get_ipython; get_ipython = None"):
        kernel._execute_raw(shadow + "\nglobals().pop('__grader_probe__', None)", timeout=10)
        kernel._helper = False
        try:
            with as_requests(kernel):
                assert kernel.eval("double(3)") == 6
        finally:
            kernel._execute_raw("if get_ipython is None: get_ipython = _kept", timeout=10)
        assert len(sent_as_source) == (1 if shadow else 0), shadow
    for compiled in (True, False):  # the frame holds the helper compiled, or its source (a container)
        code, frame = probe.helper_call(compiled)
        assert kernel._execute_raw(code, 10, frame=frame) == ["ok"]
        assert kernel.eval("double(2)") == 4
    assert kernel._execute_raw("1/0", 10, frame=b"") == ["error"]


def test_notebook_value_reads_a_global_or_answers_none(kernel):
    """grader.testing.notebook_value: the notebook's own global through an expression of it, and
    None (never an error) where the name is missing, the expression raises or its value cannot
    be sent; a probe that cannot finish still raises."""
    from grader.testing import notebook_value
    assert notebook_value(kernel, "double", "_v(3)") == 6
    assert notebook_value(kernel, "double", "_v.__name__") == "double"
    assert notebook_value(kernel, "no_such_name") is None
    assert notebook_value(kernel, "double", "_v('x') + 1") is None  # raises in the kernel
    assert notebook_value(kernel, "double") is None  # a function cannot be sent
    kernel._execute_raw("_grader_test_n = np.arange(4)", 10)
    np.testing.assert_array_equal(notebook_value(kernel, "_grader_test_n"), [0, 1, 2, 3])
    with pytest.raises(ProbeTimeout):
        notebook_value(kernel, "double", "__import__('time').sleep(5)", timeout=1)


def test_probes_go_through_the_channel_and_answer_as_requests_do(kernel):
    """Once the notebook has run, probes go through the probe channel (one request runs the
    kernel's serving loop; each probe is a few bytes on a socket), and answer exactly what the
    same probe sent as a request of its own answers: values, arrays, seeding, errors."""
    probes = ["double([1, 2.5])", "[torch.rand(2), np.random.rand(2), random.random()]", "1 / 0", "1 +",
              "undefined_name", "print('noise')\n'a'", "{'k': [None, True, 3]}"]

    def answers():
        out = []
        for src in probes:
            try:
                out.append(repr(kernel.eval(src)))
            except StudentError as exc:
                out.append(f"StudentError {exc}")
        return out

    before = kernel.channel_probes
    through_channel = answers()
    assert kernel.channel_probes == before + len(probes)
    with as_requests(kernel):
        as_requests_ = answers()
    assert kernel.channel_probes == before + len(probes)
    assert through_channel == as_requests_
    assert "ZeroDivisionError" in through_channel[2] and "SyntaxError" in through_channel[3]


def test_cells_run_after_probes_without_waiting_for_the_serving_loop(kernel):
    """A kernel serving probes answers no request until its serving loop ends: running cells
    after a probe (begin's kernel_info request, then the cells) ends it first. begin used to
    wait out its 60-s timeout there, and the notebook lost its language_info."""
    assert kernel.eval("double(3)") == 6
    assert kernel._channel is not None  # the serving loop runs
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("z = double(4)")])
    kernel.begin(nb)
    assert nb.metadata.get("language_info", {}).get("name") == "python"
    assert kernel.eval("double(5)") == 10  # the loop runs again
    assert all(run.finished for run in kernel.run_cells(list(enumerate(nb.cells)), 60, time.monotonic() + 60).runs)
    assert kernel.eval("int(z.sum())") == 8


def test_the_channel_survives_what_a_probe_can_do_to_it(kernel):
    """A probe that times out (the kernel is interrupted), one that leaves the serving loop
    (SystemExit), one that deletes the helper: the next probe still answers, through a new
    channel; the grader listens and the kernel connects, and the socket is gone once it has."""
    assert kernel.eval("2") == 2 and kernel._channel is not None
    assert not (kernel._root / "ipc" / "probe").exists()  # unlinked once the kernel connected
    with pytest.raises(ProbeTimeout):
        kernel.eval("import time\ntime.sleep(30)", timeout=1)
    assert kernel._channel is None
    assert kernel.eval("3") == 3 and kernel._channel is not None
    with pytest.raises(ProbeError):
        kernel.eval("raise SystemExit")
    assert kernel.eval("4") == 4
    assert kernel.eval("forget_the_helper()") == 5
    assert kernel.eval("double(6)") == 12  # the loop holds the helper it started with
    kernel._close_channel()
    assert kernel.eval("double(7)") == 14  # a new loop: the helper is defined again first
    assert kernel._channel_failures == 0


def test_a_kernel_without_the_channel_answers_by_requests(kernel, monkeypatch):
    """Where the serving loop cannot start (here: the notebook shadowed socket), the first
    probe goes as a request after all, and after two failures every probe does."""
    kernel._close_channel()
    kernel._execute_raw("import sys as _s\n_s.modules['_real_socket'] = _s.modules['socket']\n"
                        "_s.modules['socket'] = None", timeout=10)
    try:
        opened = kernel.channel_probes
        assert kernel.eval("double(8)") == 16 and kernel._channel_failures == 1
        assert kernel.eval("double(9)") == 18 and kernel._channel_failures == 2
        assert kernel.eval("double(10)") == 20 and kernel.channel_probes == opened
    finally:
        kernel._execute_raw("import sys as _s\n_s.modules['socket'] = _s.modules.pop('_real_socket')", timeout=10)
        kernel._channel_failures = 0
    assert kernel.eval("double(11)") == 22 and kernel.channel_probes == opened + 1


def test_each_probe_fires_the_execute_events_as_a_request_does(kernel):
    """IPython's pre_execute and post_execute events (the inline backend closes a probe's
    figures on post_execute, pre_execute clears the warnings already shown) fire once per
    probe, through the channel as for a probe sent as a request."""
    kernel._execute_raw("_grader_events = []\n_grader_hooks = [lambda: _grader_events.append('pre'), "
                        "lambda: _grader_events.append('post')]\n"
                        "get_ipython().events.register('pre_execute', _grader_hooks[0])\n"
                        "get_ipython().events.register('post_execute', _grader_hooks[1])", 10)
    try:
        for channel in (True, False):
            with contextlib.nullcontext() if channel else as_requests(kernel):
                before = kernel.channel_probes
                first = kernel.eval("list(_grader_events)")
                second = kernel.eval("list(_grader_events)")
                assert second == first + ["post", "pre"], (channel, first, second)
                assert kernel.channel_probes == before + (2 if channel else 0)
    finally:
        kernel._execute_raw("get_ipython().events.unregister('pre_execute', _grader_hooks[0])\n"
                            "get_ipython().events.unregister('post_execute', _grader_hooks[1])", 10)


def test_a_kernel_that_dies_while_answering_is_known_at_once():
    """A probe that ends the kernel (killed for its memory, a crash; here os._exit) raises
    KernelDied as soon as the channel's stream ends, not after the probe's time limit."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    with LiveKernel(KernelLimits(), sandbox=Sandbox(hide=[ROOT])) as live:
        live.start(nb)
        live.begin(nb)
        live.run_cells(list(enumerate(nb.cells)), 60, time.monotonic() + 120)
        assert live.eval("x") == 1 and live.channel_probes == 1
        started = time.monotonic()
        with pytest.raises(KernelDied):
            live.eval("import os\nos._exit(3)", timeout=120)
        assert time.monotonic() - started < 60  # (the time limit was 120 s)
        with pytest.raises(KernelDied):
            live.eval("x")
