"""Sandboxed Jupyter kernels: start one, execute a notebook in it, keep it alive for probes.

A notebook is executed with nbclient in a real IPython kernel that jupyter_client starts from
a kernelspec the grader writes (``grader._launch`` applies the resource limits and then
becomes ``ipykernel_launcher``). The kernel runs in a fresh temporary working directory with a
scrubbed environment and its own session (process group), which is killed when the kernel is
closed so nothing it started survives.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async, run_sync
from queue import Empty

from . import forkserver
from . import sandbox as sandboxing
from .gpus import device_nodes
from .probe import (MIME, STABLE_ORDER, KernelDied, ProbeError, ProbeTimeout, decode_reply,
                    hashed_in, helper_code, probe_call)
from .sandbox import Sandbox, UidLease, is_root, kill_uid, private_dir, runtime_paths

if TYPE_CHECKING:
    from .container import Container
    from .course import ExerciseSpec

KERNEL_NAME = "grader-sandbox"
NOT_ISOLATED = "the host's (not isolated)"
# Variables a kernel may inherit from the grader; everything else is dropped.
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
             "CUDA_HOME", "LD_LIBRARY_PATH", "SYSTEMROOT")


@dataclass
class KernelLimits:
    memory: int | None = 4 * 1024**3
    file_size: int | None = 512 * 1024**2
    cell_timeout: float = 60.0
    notebook_budget: float = 600.0
    probe_timeout: float = 30.0
    tests_budget: float = 600.0  # all probes of one submission together
    output_limit: int = 1024**2
    startup_timeout: float = 60.0
    threads: int = 1


def _limit_options(limits: KernelLimits, sandbox: Sandbox | None) -> list[str]:
    """The launcher's resource limits (rlimits)."""
    argv: list[str] = []
    if limits.memory:
        argv += ["--memory", str(int(limits.memory))]
    if limits.file_size:
        argv += ["--fsize", str(int(limits.file_size))]
    if sandbox is not None and sandbox.user and is_root() and sandbox.processes:
        argv += ["--nproc", str(int(sandbox.processes))]
    return argv


def sandbox_options(limits: KernelLimits, sandbox: Sandbox | None, gpu: str | None = None) -> list[str]:
    """The launcher options that are the same for every kernel of one sandbox (and GPU: only a
    kernel with a GPU sees the NVIDIA device nodes)."""
    argv = _limit_options(limits, sandbox)
    if sandbox is not None:
        if sandbox.network:
            argv += ["--netns"]
        if sandbox.view:
            argv += ["--view"]
            for path in runtime_paths():
                argv += ["--ro", path]
            for path in device_nodes() if gpu is not None else []:
                argv += ["--dev", path]
        for path in sandbox.hidden_paths():
            argv += ["--hide", path]
    return argv


def limits_for(spec: "ExerciseSpec") -> KernelLimits:
    """The kernel limits an exercise asks for in course.yaml."""
    return KernelLimits(memory=spec.memory, cell_timeout=spec.cell_timeout,
                        notebook_budget=spec.notebook_budget, probe_timeout=spec.test_timeout,
                        tests_budget=spec.notebook_budget,
                        output_limit=spec.output_limit)


def default_sandbox(spec: "ExerciseSpec", *extra_hidden: Path, container: "Container | None" = None) -> Sandbox:
    """Every isolation measure on; hide the course repository (solutions, hidden tests, git
    history, outputs) and whatever else the caller names. ``container``: also run each kernel
    in a podman/docker container."""
    hide = [spec.course.root, *extra_hidden]
    checkout = Path(__file__).resolve().parents[1]  # the grader's own source checkout, if any
    if (checkout / ".git").exists() or (checkout / "course.yaml").exists():
        hide.append(checkout)
    return Sandbox(processes=spec.processes, hide=hide, container=container)


# Run in every kernel as it starts (IPKernelApp.exec_lines, in a namespace of its own, so the
# notebook sees no new name). At the end of each execution ipykernel flushes stdout and stderr
# by handing a flush to its IOPub thread and waiting for it, even with nothing to send; that
# handshake cost ~1 ms per cell and per probe. With nothing buffered there is nothing to wait
# for: whatever was sent before is already queued ahead of the idle status on the same thread,
# so outputs keep their order. (ipykernel 6.29-7.x keep pending text in ``OutStream._buffers``;
# without that attribute nothing is changed.)
KERNEL_TWEAKS = '''
import ipykernel.iostream as m
if isinstance(getattr(m.OutStream, "_rotate_buffers", None), type(lambda: 0)):
    flush = m.OutStream.flush
    def quick_flush(self):
        if getattr(self, "_buffers", True) or getattr(self, "echo", None) is not None:
            return flush(self)
    m.OutStream.flush = quick_flush
'''


def _write_kernelspec(root: Path, command: list[str], uid: int | None, report: Path | None,
                      connection: Path, preload: list[str] | None = None) -> Path:
    """``command``: how to start a sandboxed kernel (the launcher with its sandbox options, or
    the fork server's stub); this adds what is particular to this kernel. ``report`` None: the
    command is ipykernel itself (no sandbox on this platform)."""
    argv = list(command)
    if report is not None:
        argv += ["--report", str(report), "--home", str(report.parent)]
        if uid is not None:
            argv += ["--uid", str(uid), "--gid", str(uid), "--chown", str(connection)]
        argv.append("--")
    argv += ["-f", "{connection_file}", "--HistoryManager.enabled=False",
             # ipykernel sleeps 0.5 ms (1-2 ms in practice) before every execute_reply "to let
             # output flush"; clients that wait for the idle status (nbclient, probes) need no
             # such pause
             "--IPythonKernel._execute_sleep=0",
             f"--IPKernelApp.exec_lines=exec({KERNEL_TWEAKS!r}, {{}})",
             f"--IPKernelApp.exec_lines=exec({STABLE_ORDER!r}, {{}})"]
    for module in preload or []:
        # imported while the kernel boots (before any notebook code), bound to no name: the
        # notebook still has to import what it uses; it only finds it already loaded
        argv.append(f"--IPKernelApp.exec_lines=__import__({module!r}) and None")
    spec_dir = root / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "Python 3 (grader sandbox)", "language": "python",
         "env": {}}))
    return root / "kernels"


def sandbox_env(workdir: Path, *, threads: int = 1, device: str = "cpu", gpu: str | None = None,
                extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
    env.update({
        "HOME": str(workdir),
        # the pool uids have no passwd entry: without these getpass.getuser() raises KeyError
        # (torch's compile/triton caches ask for it; seen on a real GPU)
        "USER": "student",
        "LOGNAME": "student",
        "TMPDIR": str(workdir),
        "IPYTHONDIR": str(workdir / ".ipython"),
        "MPLCONFIGDIR": str(workdir / ".matplotlib"),
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "NUMEXPR_NUM_THREADS": str(threads),
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "JUPYTER_PLATFORM_DIRS": "1",
    })
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    elif gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"  # CUDA numbers GPUs as nvidia-smi does
    if extra:
        env.update(extra)
    return env


def _without_settle_sleep(method: Any) -> Any:
    """jupyter_client's ``in_pending_state`` (on start_kernel, shutdown_kernel, restart_kernel)
    sleeps 10 ms after the work is done, "to ensure tests can capture the state": 20 ms of every
    submission (a spare kernel started, a kernel shut down) on the grader's critical path. The
    same bookkeeping of the ``ready`` future, without the sleep; the method as it is where
    jupyter_client does not look like that."""
    inner = getattr(method, "__wrapped__", None)
    try:
        from jupyter_client.manager import _get_future
    except ImportError:
        return method
    if inner is None:
        return method

    @functools.wraps(inner)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self._attempted_start or not self._ready:
            self._ready = _get_future()
        try:
            out = await inner(self, *args, **kwargs)
        except Exception as exc:
            self._ready.set_exception(exc)
            raise
        if self.owns_kernel:
            self._ready.set_result(None)
        return out
    return wrapper


class _KernelManager(AsyncKernelManager):
    _async_start_kernel = _without_settle_sleep(AsyncKernelManager._async_start_kernel)
    _async_shutdown_kernel = _without_settle_sleep(AsyncKernelManager._async_shutdown_kernel)
    _async_restart_kernel = _without_settle_sleep(AsyncKernelManager._async_restart_kernel)
    start_kernel = _async_start_kernel
    shutdown_kernel = _async_shutdown_kernel
    restart_kernel = _async_restart_kernel


class _LimitedClient(NotebookClient):
    """nbclient with a cap on the output kept per cell (a cell printing gigabytes must not
    exhaust the grader's memory)."""

    output_limit: int = 1024**2

    timed_out: bool = False

    def output(self, outs, msg, display_id, cell_index):  # noqa: D102 - nbclient hook
        if cell_index in self._truncated:
            return None
        used = self._output_bytes.get(cell_index, 0)
        content = msg.get("content", {})
        size = len(json.dumps(content, default=str))
        left = self.output_limit - used
        if size > left:
            self._truncated.add(cell_index)
            if msg.get("msg_type") == "stream" and left > 0:
                outs.append(nbformat.v4.new_output("stream", name=content.get("name", "stdout"),
                                                   text=str(content.get("text", ""))[:left]))
            outs.append(nbformat.v4.new_output(
                "stream", name="stderr",
                text=f"\n[grader: output of this cell cut off after {self.output_limit} bytes]\n"))
            return None
        self._output_bytes[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)

    async def _async_handle_timeout(self, timeout, cell=None):  # noqa: D102 - nbclient hook
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)


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


def fork_server(limits: KernelLimits, sandbox: Sandbox | None,
                preload: list[str] | None) -> forkserver.ForkServer:
    """The fork server for kernels with these limits, sandbox and preloaded libraries."""
    template = sandbox_env(Path("/"), threads=limits.threads, device="cpu")
    return forkserver.shared(sandbox_options(limits, sandbox), list(preload or []), template)


class LiveKernel:
    """A sandboxed kernel that executes one notebook and then answers probes."""

    def __init__(self, limits: KernelLimits, *, device: str = "cpu", seed: int = 0,
                 files: dict[str, Path] | None = None, env: dict[str, str] | None = None,
                 label: str = "kernel", sandbox: Sandbox | None = None, gpu: str | None = None,
                 preload: list[str] | None = None):
        self.limits = limits
        self.gpu = gpu
        self.seed = seed
        self.label = label
        self.sandbox = sandbox
        if sandbox is not None and sandbox.container is not None:  # before anything is held
            sandbox.container.ready(device if gpu is None else "cuda")
        self.plain = not sandboxing.supported()  # macOS, Windows: `grader check` only
        self._lease = UidLease() if (sandbox is not None and sandbox.user and is_root()
                                     and not self.plain) else None
        self.uid = self._lease.uid if self._lease else None
        self._root = private_dir("kernel")
        self.workdir = self._root / "work"
        self.workdir.mkdir()
        for name, source in (files or {}).items():
            target = self.workdir / name
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        (self._root / "ipc").mkdir()
        self.report_path = self._root / "isolation.json"
        self.connection_file = self._root / "connection.json"
        self.env = sandbox_env(self.workdir, threads=limits.threads, device=device, gpu=gpu, extra=env)
        self.container = sandbox.container if sandbox is not None else None
        self.container_name: str | None = None
        self.started_by = "a fresh process"
        if self.plain:
            command = [sys.executable, "-m", "ipykernel_launcher"]
            self.started_by = f"a plain process (no sandbox on {sys.platform})"
        elif self.container is not None:
            command, self.container_name = self.container.kernel_command(
                root=self._root, workdir=self.workdir, env=self.env, memory=limits.memory,
                processes=sandbox.processes, threads=limits.threads,
                launcher_options=_limit_options(limits, sandbox), uid=self.uid)
            self.started_by = f"a {self.container.name} container"
        else:
            command = [sys.executable, "-m", "grader._launch", *sandbox_options(limits, sandbox, gpu)]
        if not self.plain and self.container is None and gpu is None and device == "cpu" and forkserver.enabled():
            # boot from the fork server: ipykernel and the preloaded libraries are imported once
            try:
                command = fork_server(limits, sandbox, preload).stub_argv()
                preload = None  # already imported in the server
                self.started_by = "the fork server"
            except forkserver.ForkServerError:
                pass
        kernel_dirs = _write_kernelspec(self._root / "spec", command, self.uid,
                                        None if self.plain else self.report_path,
                                        self.connection_file, preload)
        if self.uid is not None:
            for path in [self._root, *self._root.rglob("*")]:
                os.chown(path, self.uid, self.uid)
        self._ksm = KernelSpecManager(kernel_dirs=[str(kernel_dirs)], ensure_native_kernel=False)
        # IPC (unix sockets in the sandbox folder) rather than TCP: no port is opened, and it
        # keeps working when the kernel has no network at all.
        # (Windows has no IPC sockets: TCP on the loopback there.)
        ipc = os.name != "nt"
        self.km = _KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=self._ksm,
                                 transport="ipc" if ipc else "tcp",
                                 ip=str(self._root / "ipc" / "kernel") if ipc else "127.0.0.1",
                                 connection_file=str(self.connection_file))
        self.log_path = self._root / "kernel.log"
        self.client: _LimitedClient | None = None
        self.dead_reason: str | None = None
        self.pid: int | None = None
        self.isolation: dict[str, Any] = {}
        self.probe_seconds = 0.0
        self._helper = False  # the probe helper is defined in the kernel
        # probes order the objects they first hash the opposite way (a failing test is run
        # again so, to see whether its result depends on set iteration order; probe.STABLE_ORDER)
        self.flip_order = False
        self.hashed = 0  # objects of notebook classes first hashed by probes (see flip_order)

    # lifecycle -------------------------------------------------------------------------
    def _client(self, nb: nbformat.NotebookNode) -> _LimitedClient:
        client = _LimitedClient(
            nb, km=self.km, timeout=int(self.limits.cell_timeout), allow_errors=True,
            interrupt_on_timeout=True, startup_timeout=int(self.limits.startup_timeout),
            record_timing=True, kernel_name=KERNEL_NAME,
            resources={"metadata": {"path": str(self.workdir)}},
        )
        client.output_limit = int(self.limits.output_limit)
        client._output_bytes = {}
        client._truncated = set()
        return client

    def launch(self) -> "LiveKernel":
        """Start the kernel process without waiting for it (a warm spare boots meanwhile)."""
        if self.client is None:
            self.client = self._client(nbformat.v4.new_notebook())
            self._log = open(self.log_path, "wb")
            # a container engine runs with the grader's environment; the kernel's own is in its
            # command line (-e)
            env = dict(os.environ) if self.container is not None else self.env
            run_sync(self.client.async_start_new_kernel)(cwd=str(self.workdir), env=env,
                                                         stdout=self._log, stderr=self._log)
        return self

    def start(self, nb: nbformat.NotebookNode | None = None) -> None:
        """Launch (unless launched already) and wait until the kernel answers."""
        self.launch()
        if nb is not None:
            self.client.nb = nb
        run_sync(self._connect)()
        self.isolation = self._isolation()

    async def _connect(self) -> None:
        """nbclient's ``start_new_kernel_client`` without its fixed 0.2 s wait: the kernel is
        ready once it has answered kernel_info on the shell channel and IOPub is seen to be
        connected (a message arrived on it)."""
        client = self.client
        kc = client.kc = self.km.client()
        await ensure_async(kc.start_channels())
        deadline = time.monotonic() + self.limits.startup_timeout
        while True:
            msg_id = kc.kernel_info()
            try:
                while True:
                    reply = await ensure_async(kc.shell_channel.get_msg(timeout=0.5))
                    if reply.get("parent_header", {}).get("msg_id") == msg_id:
                        break
                await ensure_async(kc.iopub_channel.get_msg(timeout=0.2))
                break
            except Empty:
                pass
            if not await ensure_async(self.km.is_alive()):
                raise RuntimeError("the kernel died before it answered")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the kernel did not answer within {self.limits.startup_timeout:g} s")
        while True:  # drop what is already queued (the status messages of kernel_info)
            try:
                await ensure_async(kc.iopub_channel.get_msg(timeout=0))
            except Empty:
                break
        kc.allow_stdin = False

    def _process(self) -> Any:
        """The process jupyter_client started (the kernel itself, the fork server's stub, or
        the container engine's client)."""
        return getattr(getattr(self.km, "provisioner", None), "process", None)

    def _process_pid(self) -> int | None:
        return getattr(self._process(), "pid", None)

    def _isolation(self) -> dict[str, Any]:
        """Which measures are in force for this kernel (as the launcher reported them)."""
        try:
            report = json.loads(self.report_path.read_text())
        except (OSError, ValueError):
            report = {"errors": {"report": "the launcher wrote no report"}}
        if self.plain:
            report = {"errors": {"sandbox": f"not available on {sys.platform}: the notebook ran as a "
                                            "plain process"}}
        if self.container is not None:
            # the report's pid is the kernel's pid inside the container's pid namespace
            self.pid = self._process_pid()
            report["network"] = f"none ({self.container.name} --network none)"
            report["filesystem"] = (f"{self.container.name} container: the kernel's folder and the "
                                    "runtime only")
        else:
            self.pid = report.get("pid") if isinstance(report.get("pid"), int) else self._process_pid()
        return {
            "memory_cap": report.get("memory"),
            "file_size_cap": report.get("file_size"),
            "process_cap": report.get("processes"),
            "unprivileged_uid": report.get("uid"),
            "network": report.get("network") or "not isolated",
            # "allow-list": the kernel sees only the runtime, its folder, /tmp, /dev, /proc, /sys
            "filesystem": report.get("filesystem") or NOT_ISOLATED,
            "visible": report.get("visible") or [],
            "hidden_paths": report.get("hidden") or [],
            "cpu_threads": self.limits.threads,
            "output_cap": self.limits.output_limit,
            "cell_timeout": self.limits.cell_timeout,
            "notebook_budget": self.limits.notebook_budget,
            "private_workdir": True,
            "scrubbed_environment": True,
            "cleanup": "all processes of the kernel's uid" if self.uid is not None else "process group",
            "gpu": self.gpu,
            "started_by": self.started_by,
            "container": self.container_name,
            "not_applied": report.get("errors", {}),
        }

    def is_alive(self) -> bool:
        try:
            return bool(run_sync(self.km.is_alive)())
        except Exception:  # noqa: BLE001
            return False

    def close(self) -> None:
        swept = False  # every process of the uid was killed (no need to look again below)
        try:
            if self.client is not None and self.client.kc is not None:
                self.client.kc.stop_channels()
            # kill first and reap: jupyter_client's own shutdown then finds the process gone
            # instead of polling for it every 0.1 s
            self._kill_group()
            if self.uid is not None:
                kill_uid(self.uid)
                swept = True
            process = self._process()
            if process is not None:
                process.wait(timeout=5)
            if self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - best effort, the process group is killed below
            pass
        finally:
            self._kill_group()
            if self.uid is not None and not swept:
                kill_uid(self.uid)
            if self.container_name is not None:
                self.container.remove(self.container_name)
                self.container_name = None
            if self._lease is not None:
                self._lease.release()
                self._lease = None
            if getattr(self, "_log", None) is not None:
                self._log.close()
            shutil.rmtree(self._root, ignore_errors=True)

    def _kill_group(self) -> None:
        """SIGKILL the kernel's process group (and the stub standing in for a forked kernel)."""
        if not hasattr(os, "killpg"):  # Windows: jupyter_client's shutdown kills the kernel
            return
        for pid in {self.pid, self._process_pid()} - {None}:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def __enter__(self) -> "LiveKernel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # execution -------------------------------------------------------------------------
    def execute(self, nb: nbformat.NotebookNode) -> ExecutionReport:
        """Run every code cell; errors do not stop later cells. Outputs stay in ``nb``."""
        if self.client is None:
            self.start(nb)
        client = self.client
        assert client is not None
        client.nb = nb
        client.reset_execution_trackers()
        report = ExecutionReport()
        started = time.monotonic()
        deadline = started + self.limits.notebook_budget
        cell_timeout = self.limits.cell_timeout
        try:
            info = run_sync(client.async_wait_for_reply)(client.kc.kernel_info())
            nb.metadata["language_info"] = info["content"]["language_info"]
        except Exception:  # noqa: BLE001 - metadata only
            pass
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
                                     f"{self.limits.notebook_budget:g} s before {label(cell)}")
                continue
            limit = min(cell_timeout, remaining)
            by_budget = limit < cell_timeout
            client.timeout = max(1, int(limit + 0.999))
            client.error_on_timeout = {
                "ename": "CellTimeoutError",
                "evalue": (f"the notebook used up its time budget of {self.limits.notebook_budget:g} s"
                           if by_budget else f"cell ran longer than {cell_timeout:g} s"),
                "traceback": [],
            }
            client.timed_out = False
            sent += 1
            try:
                client.execute_cell(cell, index)
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
                if restarts < self.max_restarts and self._restart(nb, report, deadline):
                    restarts += 1
                    sent = 0  # a new kernel counts from 1 (the cells run again are not counted)
                    cell.outputs.append(nbformat.v4.new_output(
                        "stream", name="stderr", text="[grader: the kernel was restarted and the "
                        "earlier cells were run again; later cells continue]\n"))
                    report.reason = f"{reason}; the kernel was restarted and later cells still ran"
                    continue
                self.dead_reason = reason
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
            if client.timed_out:
                error = client.error_on_timeout
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
                if not self._settle_after_interrupt():
                    # the code ignored the interrupt (e.g. it blocks SIGINT): start afresh
                    if restarts < self.max_restarts and self._restart(nb, report, deadline):
                        restarts += 1
                        sent = 0
                        report.reason += "; it ignored the interrupt, so the kernel was restarted"
                    else:
                        self.dead_reason = (f"{label(cell)} did not stop when interrupted; "
                                            "the kernel was shut down")
                        report.reason = self.dead_reason
                        self._kill_group()
                        if self.uid is not None:
                            kill_uid(self.uid)
                        for later in range(index + 1, len(nb.cells)):
                            if nb.cells[later].cell_type == "code":
                                report.cells.append(CellReport(later, "skipped"))
                        break
            else:
                report.cells.append(CellReport(index, "error", ename, evalue, label(cell)))
                if ename == "MemoryError" and report.status == "ok":
                    limit_text = _human(self.limits.memory) if self.limits.memory else "the limit"
                    report.status = "memory"
                    report.reason = f"{label(cell)} ran out of memory (limit {limit_text})"
        report.seconds = time.monotonic() - started
        return report

    max_restarts = 2

    def _restart(self, nb: nbformat.NotebookNode, report: ExecutionReport, deadline: float) -> bool:
        """Start a fresh kernel after one died, and re-run the cells that had run fine, so
        the cells after the fatal one are still graded."""
        try:
            self._kill_group()
            if self.uid is not None:
                kill_uid(self.uid)
            if self.container_name is not None:
                self.container.remove(self.container_name)  # the new one gets the same name
            run_sync(self.km.restart_kernel)(now=True)
            self._helper = False
            run_sync(self.client.kc.wait_for_ready)(timeout=self.limits.startup_timeout)
            self.isolation = self._isolation()  # the new kernel's pid (and measures)
            for done in report.cells:
                if done.status != "ok":
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._execute_raw(nb.cells[done.index].source, timeout=min(remaining, self.limits.cell_timeout))
            return True
        except Exception:  # noqa: BLE001 - then the notebook simply stops here
            return False

    def _settle_after_interrupt(self) -> bool:
        """After an interrupt, wait briefly until the kernel answers again."""
        try:
            self._execute_raw("None", timeout=5)
            return True
        except ProbeError:
            return False

    # probes ----------------------------------------------------------------------------
    def _execute_raw(self, code: str, timeout: float) -> list[str]:
        if self.client is None or self.client.kc is None:
            raise KernelDied("the kernel was never started")
        replies: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["header"]["msg_type"] in ("display_data", "execute_result"):
                data = msg["content"].get("data", {})
                if MIME in data:
                    replies.append(data[MIME])

        kc = self.client.kc
        try:
            run_sync(kc.execute_interactive)(code, store_history=False, allow_stdin=False,
                                             stop_on_error=False, timeout=timeout,
                                             output_hook=hook)
        except TimeoutError:
            if not self.is_alive():
                raise self._died() from None
            try:
                run_sync(self.km.interrupt_kernel)()
            except Exception:  # noqa: BLE001
                pass
            raise ProbeTimeout(timeout) from None
        except (RuntimeError, OSError) as exc:
            if not self.is_alive():
                raise self._died() from None
            raise ProbeError(f"could not talk to the kernel: {exc}") from None
        return replies

    def _died(self) -> KernelDied:
        self.dead_reason = self.dead_reason or "the kernel died while answering a test"
        return KernelDied(self.dead_reason)

    def _probe(self, src: str, timeout: float) -> list[str]:
        """Run one probe; the helper is defined on first use (and again if the notebook's code
        removed it: then the call publishes nothing)."""
        if not self._helper:
            self._execute_raw(helper_code(), timeout)
            self._helper = True
        call = probe_call(src, self.seed, self.flip_order)
        replies = self._execute_raw(call, timeout)
        if not replies and self.is_alive():
            self._execute_raw(helper_code(), timeout)
            replies = self._execute_raw(call, timeout)
        return replies

    def reply_text(self, src: str, timeout: float) -> str:
        """The raw JSON reply to a probe (no budget): for the trusted reference kernel."""
        replies = self._probe(src, timeout)
        if not replies:
            raise ProbeError("the kernel gave no answer")
        return replies[-1]

    def eval(self, src: str, timeout: float | None = None) -> Any:
        if self.dead_reason:
            raise KernelDied(self.dead_reason)
        timeout = self.limits.probe_timeout if timeout is None else timeout
        left = self.limits.tests_budget - self.probe_seconds
        if left <= 0:
            raise ProbeTimeout(timeout, budget=self.limits.tests_budget)
        started = time.monotonic()
        try:
            replies = self._probe(src, min(timeout, left))
        except ProbeTimeout:
            if not self._settle_after_interrupt():
                self.dead_reason = ("your code did not stop when interrupted while answering a "
                                    "test; the kernel was shut down")
                self._kill_group()
                if self.uid is not None:
                    kill_uid(self.uid)
            raise ProbeTimeout(timeout) if timeout <= left else \
                ProbeTimeout(timeout, budget=self.limits.tests_budget) from None
        finally:
            self.probe_seconds += time.monotonic() - started
        if not replies:
            if not self.is_alive():
                raise self._died()
            raise ProbeError("the kernel gave no answer (was the probe interrupted?)")
        self.hashed += hashed_in(replies[-1])
        return decode_reply(replies[-1])


def _human(n: int | float | None) -> str:
    if not n:
        return "none"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return str(n)
