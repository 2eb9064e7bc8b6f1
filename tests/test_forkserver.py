"""The kernel fork server: kernels forked from it are sandboxed like freshly started ones, and
nothing but the grader can ask it for a kernel."""
from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.kernels import forkserver
from grader.kernels.spec import KernelLimits
from grader.kernels.live import LiveKernel
from grader.kernels.launchers import fork_server
from grader.kernels.probe import ProbeError
from grader.kernels.sandbox import Sandbox, is_root

pytestmark = pytest.mark.slow  # real kernels or processes

ROOT = Path(__file__).resolve().parents[1]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return not any(line.startswith("State:") and line.split()[1] in "ZX" for line in handle)
    except FileNotFoundError:
        return False


def test_forked_kernel_is_sandboxed_and_answers(tmp_path):
    sandbox = Sandbox(hide=[ROOT])
    with LiveKernel(KernelLimits(memory=2 * 1024**3), sandbox=sandbox, preload=["numpy"]) as kernel:
        kernel.start()
        assert kernel.isolation["started_by"] == "the fork server"
        assert kernel.isolation["memory_cap"] == 2 * 1024**3
        assert kernel.eval("import numpy as np; int(np.arange(4).sum())") == 6
        # the preloaded library is already there; the notebook's namespace is not polluted
        assert kernel.eval("'numpy' in __import__('sys').modules") is True
        assert kernel.eval("'np' in globals()") is False
        assert kernel.eval("import os; os.getcwd()") == str(kernel.workdir)
        assert kernel.eval("import os; os.environ['HOME']") == str(kernel.workdir)
        assert kernel.eval("import tempfile; tempfile.gettempdir()") == str(kernel.workdir)
        # the pool uid has no passwd entry; libraries that ask for the user name still work
        assert kernel.eval("import getpass; getpass.getuser()") == "student"
        if is_root():
            assert kernel.isolation["unprivileged_uid"] == kernel.uid
            assert kernel.eval("import os; os.getuid()") == kernel.uid
            assert kernel.isolation["network"] == "none"
            assert kernel.isolation["filesystem"] == "allow-list"
            # only the Python installation is visible (here the venv inside the checkout)
            assert kernel.eval(f"import os; os.path.exists({str(ROOT / 'solutions')!r})") is False
            assert kernel.eval(f"import os; os.path.exists({str(ROOT / 'autograde_tests')!r})") is False
        pid = kernel.pid
        assert pid is not None and _alive(pid)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the forked kernel survived close()"


def test_interrupt_reaches_a_forked_kernel():
    with LiveKernel(KernelLimits(probe_timeout=2, tests_budget=60), sandbox=Sandbox(hide=[ROOT])) as kernel:
        kernel.start()
        assert kernel.isolation["started_by"] == "the fork server"
        started = time.monotonic()
        with pytest.raises(ProbeError):
            kernel.eval("while True: pass", timeout=2)
        assert time.monotonic() - started < 10
        # interrupted, not killed: the same kernel answers the next probe
        assert kernel.eval("40 + 2") == 42


def test_a_killed_stub_takes_its_kernel_along():
    kernel = LiveKernel(KernelLimits(), sandbox=Sandbox(hide=[ROOT]))
    try:
        kernel.start()
        pid, stub = kernel.pid, kernel._process_pid()
        assert pid != stub
        os.kill(stub, 9)
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid)
    finally:
        kernel.close()


def _ask(server: forkserver.ForkServer, argv: list[str]) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(server.path))
        body = json.dumps({"argv": argv, "env": {}, "cwd": "/"}).encode()
        socket.send_fds(sock, [struct.pack("!I", len(body)) + body], [0, 1, 2])
        try:
            return sock.recv(4)
        except OSError:
            return b""


def test_a_request_cannot_choose_weaker_limits(tmp_path):
    server = fork_server(KernelLimits(), Sandbox(hide=[ROOT]), [])
    report = str(tmp_path / "r.json")
    # a request naming its own limits (or none of the fixed ones) is refused: no kernel
    assert _ask(server, ["--report", report, "--memory", str(2**40), "--", "-f", "x"]) == b""
    assert _ask(server, ["--report", report, "--netns", "--", "-f", "x"]) == b""
    if is_root():
        # as root a kernel is only forked for a uid from the sandbox pool
        assert _ask(server, ["--report", report, "--", "-f", "x"]) == b""
        assert _ask(server, ["--report", report, "--uid", "0", "--gid", "0", "--", "-f", "x"]) == b""
    assert not Path(report).exists()
    assert server.alive()


@pytest.mark.skipif(not is_root(), reason="needs root to act as another uid (the guarantee only matters as root)")
def test_only_the_grader_user_may_use_the_server(tmp_path):
    server = fork_server(KernelLimits(), Sandbox(hide=[ROOT]), [])
    # the socket's folder is closed to other users, and the server checks the peer's uid too
    code = ("import os, socket, sys\n"
            "os.setgid(61999); os.setuid(61999)\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            "try:\n"
            f"    s.connect({str(server.path)!r})\n"
            "except OSError as e:\n"
            "    print('refused', e.errno); sys.exit(0)\n"
            "print('connected')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("refused"), out.stdout + out.stderr


def test_fork_server_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("GRADER_FORK_SERVER", "0")
    with LiveKernel(KernelLimits(), sandbox=Sandbox(hide=[ROOT])) as kernel:
        kernel.start()
        assert kernel.isolation["started_by"] == "a fresh process"
        assert kernel.eval("1 + 1") == 2
        assert kernel.eval("import getpass; getpass.getuser()") == "student"


def test_values_keep_their_shape_on_the_way_back():
    """A 0-d tensor or array arrives as shape () (np.ascontiguousarray made it (1,)), a
    transposed (non-contiguous) array with its values, NumPy scalars as Python numbers."""
    with LiveKernel(KernelLimits(), sandbox=Sandbox(), preload=["numpy", "torch"]) as kernel:
        kernel.start()
        got = kernel.eval("import numpy as np, torch\n"
                          "[np.array(3.5), torch.tensor(2.5), torch.tensor([[1., 2.], [3., 4.]]).T, "
                          "np.float32(1.5), np.zeros((0, 3)), np.arange(6).reshape(2, 3)[:, ::2]]")
    zero_np, zero_torch, transposed, scalar, empty, strided = got
    assert zero_np.shape == () and float(zero_np) == 3.5
    assert zero_torch.shape == () and float(zero_torch) == 2.5
    assert transposed.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert scalar == 1.5 and type(scalar) is float
    assert empty.shape == (0, 3)
    assert strided.tolist() == [[0, 2], [3, 5]]


def _kernel_in_forked_worker(conn) -> None:
    """A pool worker: a kernel from the server it inherited, used before and after its parent
    needed servers of its own."""
    try:
        with LiveKernel(KernelLimits(memory=2 * 1024**3), sandbox=Sandbox(), preload=["numpy"]) as kernel:
            kernel.start()
            first = kernel.eval("import os, numpy as np; [os.getpid(), int(np.arange(5).sum())]")
            conn.send(("started", first[1]))
            conn.recv()   # the parent has started two other servers meanwhile
            conn.send(("after", kernel.eval("import os; os.getpid()") == first[0]))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        conn.send(("error", repr(exc)))


def test_a_server_a_forked_worker_uses_is_not_closed_under_it():
    """grade-term: the workers inherit the first exercise's server; while they grade with it,
    the parent starts servers for the next exercises' references. Making room for those must
    not close the inherited server (its kernels die with it)."""
    import multiprocessing
    limits, sandbox = KernelLimits(memory=2 * 1024**3), Sandbox()
    fork_server(limits, sandbox, ["numpy"]).wait_ready()
    parent, child = multiprocessing.Pipe()
    worker = multiprocessing.get_context("fork").Process(target=_kernel_in_forked_worker, args=(child,))
    worker.start()
    try:
        assert parent.poll(120), "the worker's kernel did not start"
        assert parent.recv() == ("started", 10)
        for preload in (["json"], ["decimal"]):   # two more: more than this process keeps
            fork_server(limits, sandbox, preload).wait_ready()
        parent.send("go")
        assert parent.poll(60), "the worker did not answer"
        assert parent.recv() == ("after", True), "the worker's kernel died or was replaced"
    finally:
        worker.join(30)
        if worker.is_alive():
            worker.kill()


def test_kernels_name_cells_by_a_fast_stable_hash_and_keep_the_cell_line_in_errors():
    """ipykernel names a cell's code after a pure-Python MurmurHash2 of it (0.2 s per megabyte,
    paid by every probe that carries hidden pictures); the grader's kernels use CRC-32: still a
    number, the same for the same code, so error messages still read "(line n of the cell)"."""
    import zlib

    import nbformat

    from grader.pipeline.execute import execute

    big = "x" * 2_000_000
    with LiveKernel(KernelLimits(), sandbox=Sandbox(hide=[ROOT])) as kernel:
        kernel.start()
        name = kernel.eval("__import__('ipykernel.compiler').compiler.get_file_name('y = 1')")
        assert name.endswith(f"/{zlib.crc32(b'y = 1', 0xC70F6907)}.py")
        assert kernel.eval(f"len({big!r})") == len(big)  # a 2 MB probe goes through
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def f(:\n    pass")])
        report = execute(kernel, nb)
    assert report.first_failure == "In [1] raised SyntaxError: invalid syntax (line 1 of the cell)"


def test_forked_kernels_have_the_traceback_formatter_warm_and_errors_read_as_before():
    """The server formats one traceback before it forks, so a kernel's first error does not
    import IPython's traceback machinery (70 -> 24 ms); the student's traceback is the usual
    one, with the failing line in context."""
    import nbformat

    from grader.pipeline.execute import execute

    modules = ["stack_data", "executing", "pygments.lexers.python", "pygments.formatters.terminal256"]
    with LiveKernel(KernelLimits(), sandbox=Sandbox(hide=[ROOT])) as kernel:
        kernel.start()
        assert kernel.eval(f"[m in __import__('sys').modules for m in {modules!r}]") == [True] * len(modules)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def f(x):\n    return x.nope\n\nf(1)")])
        report = execute(kernel, nb)
    assert report.first_failure.startswith("In [1] raised AttributeError")
    traceback = "\n".join(nb.cells[0].outputs[0]["traceback"])
    assert "---->" in traceback and "x.nope" in traceback and "Cell" in traceback


HIGHLIGHT_CHECK = """
import sys
from IPython.core import ultratb
import stack_data.core
from grader.kernels import forkserver

def outer(values):
    return [inner(v) for v in values]

def inner(v):
    total = sum(v) + v.nope  # the failing node is highlighted within its line
    return total

def formatted(mode, theme):
    try:
        outer([[1, 2]])
    except Exception as exc:
        return ultratb.AutoFormattedTB(mode=mode, theme_name=theme).structured_traceback(
            type(exc), exc, exc.__traceback__)

kinds = [(m, t) for m in ("Context", "Verbose") for t in ("linux", "nocolor", "lightbg")]
before = [formatted(*k) for k in kinds]
original = stack_data.core._pygmented_with_ranges
forkserver._highlight_with_one_lexer()
forkserver._highlight_with_one_lexer()  # (a second call changes nothing)
assert stack_data.core._pygmented_with_ranges is not original
after = [formatted(*k) for k in kinds]
assert before == after, (before, after)
assert any("\\x1b[" in "".join(b) for b in before), before
assert any("sum(v) + v.nope" in "".join(b) for b in before), before
print("same")
"""


def test_tracebacks_highlighted_with_one_lexer_read_exactly_as_stack_data_writes_them(tmp_path):
    """The fork server's stand-in for stack_data's highlighting (one lexer class, not one per
    frame) gives the very lines stack_data gives, in every colour theme and mode."""
    script = tmp_path / "check_highlight.py"  # (a file: the frames' source lines are shown)
    script.write_text(HIGHLIGHT_CHECK)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0 and proc.stdout.strip() == "same", proc.stderr[-3000:]


def test_a_server_preloads_what_the_reference_imported_for_the_kernels_it_forks_later():
    """After the reference ran, the server imports the library modules it loaded (its import
    statements aside): kernels forked from then on hold them; only submodules of packages the
    server already holds, nothing named after CUDA."""
    from grader.kernels.launchers import _server_settings
    limits, sandbox = KernelLimits(memory=2 * 1024**3), Sandbox()
    names = ["numpy.polynomial.hermite_e", "json.tool", "this", "numpy.cuda_like", "not a module", "numpy.no_such"]
    with LiveKernel(limits, sandbox=sandbox, preload=["numpy"]) as before:
        before.start()
        server = forkserver.running(*_server_settings(limits, sandbox, ["numpy"], None))
        assert server is not None
        held = before.eval(f"[n in __import__('sys').modules for n in {names!r}]")
        assert held[2] is False  # ("this" prints the Zen of Python: never preloaded)
        new = [n for n, h in zip(names[:2], held[:2]) if not h]
        assert server.preload(names, wait=True) == len(new)
        assert before.eval(f"[n in __import__('sys').modules for n in {new!r}]") == [False] * len(new)
    with LiveKernel(limits, sandbox=sandbox, preload=["numpy"]) as after:
        after.start()
        assert after.eval(f"[n in __import__('sys').modules for n in {names!r}]")[:3] == [True, True, False]
        assert after.eval("'numpy.cuda_like' in __import__('sys').modules") is False


def test_a_preload_that_starts_a_thread_makes_later_kernels_start_afresh(tmp_path, monkeypatch):
    """A process with a second thread is not safe to fork (a lock the thread holds stays held
    in the child): after such a preload the server's children exec a fresh kernel instead."""
    from grader.kernels.launchers import _server_settings
    package = tmp_path / "gradertestpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "starter.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n")
    limits, sandbox, preload = KernelLimits(memory=2 * 1024**3), Sandbox(), ["gradertestpkg"]
    opts, pre, env = _server_settings(limits, sandbox, preload, None)
    server = forkserver.ForkServer(opts, pre, dict(env, PYTHONPATH=str(tmp_path)))
    monkeypatch.setitem(forkserver._SERVERS, (tuple(opts), tuple(pre), tuple(sorted(env.items()))), server)
    try:
        server.wait_ready()
        with LiveKernel(limits, sandbox=sandbox, preload=preload) as forked:
            forked.start()
            assert forked.eval("'gradertestpkg' in __import__('sys').modules") is True
        assert server.preload(["gradertestpkg.starter"], wait=True) == 1
        with LiveKernel(limits, sandbox=sandbox, preload=preload) as fresh:
            fresh.start()
            assert fresh.eval("'gradertestpkg' in __import__('sys').modules") is False
            assert fresh.eval("import os; os.getcwd()") == str(fresh.workdir)
        assert server.alive()
    finally:
        server.close()
