"""Sandboxed Jupyter kernels: start one, run a notebook's cells in it, keep it alive for probes.

jupyter_client starts the kernel from a kernelspec the grader writes (:mod:`.spec`), with the
command of a launcher (:mod:`.launchers`: the fork server, a fresh process, a container); the
launcher applies the sandbox and becomes ``ipykernel``. The kernel runs in a private folder with
a scrubbed environment and its own session (process group, and a uid of its own as root), which
is killed when the kernel is closed so nothing it started survives. Probes (:mod:`.probe`) ask
it questions and get plain data back.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import secrets
import select
import shutil
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.util import ensure_async, run_sync
from queue import Empty

from . import sandbox as sandboxing
from ..util import private_dir
from .launchers import KernelSetup, launch_for
from .probe import (CHANNEL_HEAD, CHANNEL_REPLY, HELPER_NAME, MAX_REPLY_BYTES, MIME, NO_FRAME, REPLY,
                    KernelDied, ProbeError, ProbeTimeout, compiled_probe, decode_reply, hashed_in,
                    helper_call, helper_code, probe_call)
from .sandbox import Sandbox, UidLease, is_root, kill_uid
from .spec import KERNEL_NAME, NOT_ISOLATED, KernelLimits, sandbox_env, write_kernelspec

log = logging.getLogger(__name__)


async def _ask(kc: AsyncKernelClient, code: str, frame: bytes | None,
               user_expressions: dict[str, str], timeout: float) -> dict:
    """Send ``code`` silently (with ``frame`` as the request's binary frame: a message's
    ``buffers``, not JSON, not signed, handed to the kernel as they are) and return the
    kernel's reply, raising TimeoutError past ``timeout``. Unlike ``execute_interactive`` it
    does not read the request's IOPub messages (its busy and idle status, what it printed),
    which a probe does not need: a quarter of a short probe's round trip. They are left
    unread; whatever reads IOPub next skips messages of other requests, as
    ``execute_interactive`` does."""
    content = {"code": code, "silent": True, "store_history": False,
               "user_expressions": user_expressions, "allow_stdin": False, "stop_on_error": False}
    msg = kc.session.msg("execute_request", content)
    if frame is not None:
        msg["buffers"] = [frame]
    kc.shell_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no reply within {timeout:g} s")
        try:
            reply: dict = await kc.get_shell_msg(timeout=left)
        except Empty:
            raise TimeoutError(f"no reply within {timeout:g} s") from None
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            return reply


# Runs a notebook's cells in one request (see LiveKernel.run_cells). It lives in a namespace of
# its own (the notebook sees no new name) and marks where each cell starts and ends with a
# display message of a private MIME type carrying this batch's token; publishing a display
# flushes stdout and stderr first, so every output lands between its cell's marks. Between two
# cells one message says both ("done 3 start 4 7": cell 3 ended, cell 4 starts as In [7]): each
# mark costs the kernel two stream flushes, a round trip to its IOPub thread each, which was
# most of a short cell's time.
CELL_MARK = "application/x-grader-cell"
_CELLS_DRIVER = r'''
def run_cells(cells, left, token, mark):
    import time
    from IPython import get_ipython
    from IPython.display import publish_display_data
    shell = get_ipython()
    stop = time.monotonic() + left
    done = ""
    for index, source in cells:
        if time.monotonic() >= stop:
            break  # the notebook's time budget is used up: the grader says so
        if "await" in source or "async" in source:
            try:
                awaits = shell.should_run_async(source, transformed_cell=shell.transform_cell(source))
            except Exception:
                awaits = False
            if awaits:
                break  # top-level await: the grader sends this cell on its own (the kernel's loop runs it)
        publish_display_data({mark: "%s%s start %d %d" % (token, done, index, shell.execution_count)})
        result = shell.run_cell(source, store_history=True)
        done = " done %d" % index
        if isinstance(result.error_in_exec, KeyboardInterrupt):
            break  # interrupted (past its time): the grader decides what runs next
    if done:
        publish_display_data({mark: token + done})
'''


@dataclass
class CellRun:
    """One cell of a batch that started: ``count`` is its ``In [n]``."""
    index: int
    count: int
    finished: bool = False
    timed_out: bool = False  # it was still running at its time limit and was interrupted
    by_budget: bool = False  # the limit was the notebook's budget, not the cell's own


@dataclass
class BatchRun:
    """What became of a batch of cells (LiveKernel.run_cells)."""
    runs: list[CellRun] = field(default_factory=list)
    died: bool = False  # the kernel died (while the last run cell ran, unless it finished)
    stuck: bool = False  # the last cell ignored the interrupt: the kernel no longer answers


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
    _output_bytes: dict[int, int]
    _truncated: set[int]

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
        # (no pool uid where there is no sandbox: macOS, Windows)
        self._lease = UidLease() if (sandbox is not None and sandbox.user and is_root()
                                     and sandboxing.supported()) else None
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
        launch = launch_for(KernelSetup(limits, sandbox, device, gpu, self._root, self.workdir,
                                        self.env, self.uid, list(preload or [])))
        self.plain = not launch.sandboxed
        self.started_by = launch.started_by
        self.container_name = launch.container_name
        kernel_dirs = write_kernelspec(self._root / "spec", launch.command, self.uid,
                                       self.report_path if launch.sandboxed else None,
                                       self.connection_file, None if launch.preloaded else preload)
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
        self._framed = True  # probes travel as a binary frame of the request (probe.probe_call)
        # the probe channel (probe.CHANNEL_HEAD): the socket to the kernel's serving loop, while
        # one runs; how often in a row opening one failed (after two, this kernel's probes go as
        # requests)
        self._channel: socket.socket | None = None
        self._channel_failures = 0 if self._channel_possible() else 2
        self._channel_seq = 0
        self._channel_request = ""  # the msg_id of the request that runs the serving loop
        self.channel_probes = 0  # probes answered through the channel (the rest went as requests)
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
            self._active().nb = nb
        run_sync(self._connect)()
        self.isolation = self._isolation()

    async def _connect(self) -> None:
        """nbclient's ``start_new_kernel_client`` without its fixed 0.2 s wait: the kernel is
        ready once it has answered kernel_info on the shell channel and IOPub is seen to be
        connected (a message arrived on it)."""
        client = self._active()
        kc = client.kc = self.km.client()
        kc.start_channels()
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
        if self.plain:
            report: dict[str, Any] = {"errors": {"sandbox": f"not available on {sys.platform}: the "
                                                            "notebook ran as a plain process"}}
        else:
            try:
                report = json.loads(self.report_path.read_text())
            except (OSError, ValueError):
                report = {"errors": {"report": "the launcher wrote no report"}}
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
        self._close_channel()
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
            if self.container_name is not None and self.container is not None:
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
        for pid in {self.pid, self._process_pid()}:
            if pid is None:
                continue
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def __enter__(self) -> "LiveKernel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _active(self) -> _LimitedClient:
        if self.client is None:
            raise KernelDied("the kernel was never started")
        return self.client

    def _kc(self) -> AsyncKernelClient:
        kc = self._active().kc
        if kc is None:
            raise KernelDied("the kernel was never started")
        return cast(AsyncKernelClient, kc)

    # execution (the notebook's cells are run by grader.pipeline.execute) -------------------
    max_restarts = 2

    def begin(self, nb: nbformat.NotebookNode) -> None:
        """Get ready to run ``nb``'s cells (starting the kernel if needed)."""
        # a kernel serving probes answers no request until its serving loop ends (the
        # kernel_info request below waited out its whole timeout, 60 s, after a probe)
        self._close_channel()
        if self.client is None or self.client.kc is None:
            self.start(nb)
        client = self._active()
        client.nb = nb
        client.reset_execution_trackers()
        try:
            info = run_sync(client.async_wait_for_reply)(self._kc().kernel_info())
            if info is not None:
                nb.metadata["language_info"] = info["content"]["language_info"]
        except Exception:  # noqa: BLE001 - metadata only
            pass

    def run_cell(self, cell: Any, index: int, timeout: float, timeout_error: dict[str, Any]) -> bool:
        """Run one cell of the notebook given to :meth:`begin` (outputs go into the cell);
        True if it was stopped at ``timeout`` seconds (``timeout_error`` is its error). Raises
        nbclient's DeadKernelError when the kernel dies."""
        self._close_channel()
        client = self._active()
        client.timeout = max(1, int(timeout + 0.999))
        client.error_on_timeout = timeout_error
        client.timed_out = False
        client.execute_cell(cell, index)
        return client.timed_out

    def run_cells(self, cells: list[tuple[int, Any]], cell_timeout: float, deadline: float,
                  settle: float = 5.0) -> BatchRun:
        """Run ``cells`` ((index, cell) of the notebook given to :meth:`begin`) in one request:
        one round trip for the whole notebook instead of one per cell (the kernel's share of
        each request, a few milliseconds, was most of a short notebook's time). Outputs go
        into their cells as nbclient puts them (the same message handling, the same output
        cap); each cell gets the ``execution_count`` it ran as. A cell still running at
        ``cell_timeout`` seconds or at ``deadline`` (monotonic) is interrupted and the batch
        ends after it; it also ends when the kernel dies or the budget is used up. The caller
        goes on with the cells after the last one that started."""
        return run_sync(self._run_cells)(cells, cell_timeout, deadline, settle)

    async def _run_cells(self, cells: list[tuple[int, Any]], cell_timeout: float, deadline: float,
                         settle: float) -> BatchRun:
        self._close_channel()
        client, kc = self._active(), self._kc()
        token = secrets.token_hex(8)
        by_index = dict(cells)
        call = (f"{_CELLS_DRIVER}\nrun_cells({[(i, c.source) for i, c in cells]!r}, "
                f"{max(0.0, deadline - time.monotonic())!r}, {token!r}, {CELL_MARK!r})")
        msg_id = kc.execute(f"__import__('builtins').exec({call!r}, {{}})", store_history=False,
                            allow_stdin=False, stop_on_error=False)
        batch = BatchRun()
        current: CellRun | None = None
        started = interrupted = 0.0
        while True:
            now = time.monotonic()
            if interrupted:
                wait = interrupted + settle - now
            elif current is not None and not current.finished:
                wait = min(started + cell_timeout, deadline) - now
            else:
                wait = 1.0
            try:
                msg = await ensure_async(kc.iopub_channel.get_msg(timeout=max(0.0, min(wait, 1.0))))
            except Empty:
                if not await ensure_async(self.km.is_alive()):
                    batch.died = True
                    break
                now = time.monotonic()
                if interrupted and now >= interrupted + settle:
                    batch.stuck = True
                    break
                if (not interrupted and current is not None and not current.finished
                        and now >= min(started + cell_timeout, deadline)):
                    current.timed_out = True
                    current.by_budget = deadline < started + cell_timeout
                    try:
                        await ensure_async(self.km.interrupt_kernel())
                    except Exception:  # noqa: BLE001 - then it is stuck, found out below
                        pass
                    interrupted = time.monotonic()
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            msg_type, content = msg["msg_type"], msg["content"]
            if msg_type == "status":
                if content.get("execution_state") == "idle":
                    break
                continue
            if msg_type == "execute_input":
                continue
            mark = content.get("data", {}).get(CELL_MARK) if msg_type == "display_data" else None
            if isinstance(mark, str) and mark.startswith(token + " "):
                # "[done <index>] [start <index> <count>]": a cell ended, the next one starts
                parts = mark.split()[1:]
                if parts[:1] == ["done"]:
                    if len(parts) > 1 and current is not None and parts[1] == str(current.index):
                        current.finished = True
                        interrupted = 0.0
                    parts = parts[2:]
                if (len(parts) == 3 and parts[0] == "start" and parts[1].isdigit() and parts[2].isdigit()
                        and int(parts[1]) in by_index):
                    current = CellRun(int(parts[1]), int(parts[2]))
                    batch.runs.append(current)
                    cell = by_index[current.index]
                    cell.outputs = []
                    cell.execution_count = current.count
                    client.clear_before_next_output = False
                    started, interrupted = time.monotonic(), 0.0
                continue
            if current is None:
                continue  # (the batch's own code: nothing of the notebook)
            # (after a cell's end mark too: what its threads print late still is its output)
            try:
                client.process_message(msg, by_index[current.index], current.index)
            except Exception:  # noqa: BLE001 - e.g. an output nbformat does not know
                log.debug("kernel %s: could not process a %s message", self.label, msg_type, exc_info=True)
        if not batch.died and not batch.stuck:
            try:  # the request's reply (sent before the idle status): not left queued
                while True:
                    reply = await ensure_async(kc.shell_channel.get_msg(timeout=1.0))
                    if reply.get("parent_header", {}).get("msg_id") == msg_id:
                        break
            except Empty:
                pass
        return batch

    def restart(self, replay: list[str], deadline: float) -> bool:
        """Start a fresh kernel after one died, and run ``replay`` (the cells that had run
        fine) again, so the cells after the fatal one are still graded."""
        try:
            self.kill()
            if self.container_name is not None and self.container is not None:
                self.container.remove(self.container_name)  # the new one gets the same name
            self._close_channel()
            run_sync(self.km.restart_kernel)(now=True)
            self._helper = False
            run_sync(self._kc().wait_for_ready)(timeout=self.limits.startup_timeout)
            self.isolation = self._isolation()  # the new kernel's pid (and measures)
            for source in replay:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._execute_raw(source, timeout=min(remaining, self.limits.cell_timeout))
            return True
        except Exception:  # noqa: BLE001 - then the notebook simply stops here
            log.info("kernel %s: restart failed", self.label, exc_info=True)
            return False

    def settle(self) -> bool:
        """After an interrupt, wait briefly until the kernel answers again."""
        try:
            self._execute_raw("None", timeout=5)
            return True
        except ProbeError:
            return False

    def kill(self) -> None:
        """Kill the kernel and everything it started (the whole uid where it has one)."""
        self._kill_group()
        if self.uid is not None:
            kill_uid(self.uid)

    # probes ----------------------------------------------------------------------------
    def _execute_raw(self, code: str, timeout: float, answer: bool = False,
                     frame: bytes | None = None) -> list[str]:
        """Run ``code``; its outputs are dropped. ``answer``: a probe call, sent silently (no
        execute_input, no display hook, which the probe does not need), whose answer is read
        from the reply: the probe helper's REPLY, as IPython formats it under MIME; only the
        reply is awaited (see :func:`_ask`). ``frame``: bytes sent with the request as a binary
        frame (the probe, see probe.probe_call, or the helper, probe.helper_call); without
        ``answer`` such a request is sent silently too, and what comes back is its status."""
        self._close_channel()  # the kernel's serving loop ends: this request runs next
        kc = self._kc()
        replies: list[str] = []
        try:
            if answer:
                reply = run_sync(_ask)(kc, code, frame, {"answer": REPLY}, timeout)
                found = reply.get("content", {}).get("user_expressions", {}).get("answer", {})
                text = found.get("data", {}).get(MIME) if isinstance(found, dict) else None
                if isinstance(text, str):
                    replies.append(text)
            elif frame is not None:  # silent, and only its status: "ok" when the code ran
                reply = run_sync(_ask)(kc, code, frame, {}, timeout)
                replies.append(str(reply.get("content", {}).get("status")))
            else:
                run_sync(kc.execute_interactive)(
                    code, store_history=False, allow_stdin=False, stop_on_error=False,
                    timeout=timeout, output_hook=lambda msg: None)
        except TimeoutError:
            raise self._timed_out(timeout) from None
        except (RuntimeError, OSError) as exc:
            if not self.is_alive():
                raise self._died() from None
            raise ProbeError(f"could not talk to the kernel: {exc}") from None
        return replies

    def _timed_out(self, timeout: float) -> ProbeError:
        """A probe got no answer within ``timeout``: KernelDied if the kernel is gone, else
        ProbeTimeout, with the kernel interrupted (the caller raises it)."""
        if not self.is_alive():
            return self._died()
        try:
            run_sync(self.km.interrupt_kernel)()
        except Exception:  # noqa: BLE001
            pass
        return ProbeTimeout(timeout)

    def _died(self) -> KernelDied:
        self.dead_reason = self.dead_reason or "the kernel died while answering a test"
        return KernelDied(self.dead_reason)

    def _probe(self, src: str, timeout: float) -> list[str]:
        """Run one probe; the helper is defined on first use (and again if the notebook's code
        removed it: then the call publishes nothing)."""
        if not self._helper:
            self._define_helper(timeout)
            self._helper = True
        replies = self._send_probe(src, timeout)
        if not replies and self.is_alive():
            self._define_helper(timeout)
            replies = self._send_probe(src, timeout)
        if self._framed and replies and NO_FRAME in replies[-1][:120]:
            self._framed = False  # a kernel (another ipykernel, in a container) without frames
            replies = self._send_probe(src, timeout)
        return replies

    def _define_helper(self, timeout: float) -> None:
        """Define the probe helper: sent as a binary frame (probe.helper_call), or as source
        where that did not work."""
        if self._framed:
            code, frame = helper_call(compiled=self.container is None)
            if self._execute_raw(code, timeout, frame=frame) == ["ok"]:
                return
        self._execute_raw(helper_code(), timeout)

    def _send_probe(self, src: str, timeout: float) -> list[str]:
        if self._channel is not None or self._channel_failures < 2:
            replies = self._channel_probe(src, timeout)
            if replies is not None:
                return replies
        call, frame = probe_call(src, self.seed, self.flip_order, compiled=self.container is None,
                                 framed=self._framed)
        return self._execute_raw(call, timeout, answer=True, frame=frame)

    # the probe channel (see probe.CHANNEL_HEAD) --------------------------------------------
    def _channel_possible(self) -> bool:
        """Unix sockets in the kernel's folder (the folder its IPC sockets are in): not on
        Windows, and not in a container (whose engine may map the socket's owner away)."""
        return (os.name != "nt" and hasattr(socket, "AF_UNIX") and self.container is None
                and os.environ.get("GRADER_PROBE_CHANNEL") != "0")

    def _open_channel(self, timeout: float) -> socket.socket | None:
        """Listen on a socket in the kernel's folder and have the kernel's serving loop connect
        to it (one request that runs until the channel is closed). None where that did not work
        within ``timeout`` (the request then ends, or its connection is refused): the probe goes
        as a request."""
        path = self._root / "ipc" / "probe"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                path.unlink(missing_ok=True)
                listener.bind(str(path))
                if self.uid is not None:
                    os.chown(path, self.uid, self.uid)
                listener.listen(1)
            except OSError:
                self._channel_failures = 2
                return None
            kc = self._kc()
            content = {"code": f"{HELPER_NAME}.serve({str(path)!r})", "silent": True, "store_history": False,
                       "user_expressions": {}, "allow_stdin": False, "stop_on_error": False}
            msg = kc.session.msg("execute_request", content)
            kc.shell_channel.send(msg)
            deadline = time.monotonic() + min(timeout, 10.0)
            while time.monotonic() < deadline:
                if select.select([listener], [], [], 0.02)[0]:
                    conn, _ = listener.accept()
                    self._channel_failures = 0
                    self._channel_request = msg["header"]["msg_id"]
                    return conn
                if self._request_ended(msg["header"]["msg_id"]):
                    break  # the loop did not start (no helper, no socket module...)
            self._channel_failures += 1
            return None
        finally:
            listener.close()  # (a loop that had not connected yet is refused)
            path.unlink(missing_ok=True)

    def _request_ended(self, msg_id: str) -> bool:
        """Whether the reply to request ``msg_id`` has come (other replies read meanwhile are
        of requests nobody waits for any more)."""
        kc = self._kc()
        while True:
            try:
                reply = run_sync(kc.get_shell_msg)(timeout=0)
            except Empty:
                return False
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return True

    def _loop_ended(self, grace: float = 2.0) -> bool:
        """After the channel's stream ended: True once the serving loop's request has ended
        (a probe left the loop, SystemExit; the kernel answers), False once the kernel is gone
        (killed for its memory, crashed): a kernel that died while answering is known at once,
        not after the probe's time limit. After ``grace`` seconds without either: alive."""
        deadline = time.monotonic() + grace
        while True:
            if not self.is_alive():
                return False
            if self._request_ended(self._channel_request) or time.monotonic() > deadline:
                return True
            time.sleep(0.005)

    def _close_channel(self) -> None:
        """End the kernel's serving loop (it sees the end of the stream and returns)."""
        if self._channel is not None:
            try:
                self._channel.close()
            finally:
                self._channel = None

    def _channel_probe(self, src: str, timeout: float) -> list[str] | None:
        """One probe through the channel: [the answer's text], [] when the channel broke
        before the answer came (the kernel alive: the caller sends the probe again), None when
        there is no channel (the caller sends the probe as a request)."""
        started = time.monotonic()
        if self._channel is None:
            self._channel = self._open_channel(timeout)
            if self._channel is None:
                return None
        payload = compiled_probe(src) if self.container is None else None
        kind = 1 if payload is not None else 2
        if payload is None:
            payload = src.encode("utf-8")
        self._channel_seq += 1
        try:
            head = CHANNEL_HEAD.pack(len(payload), self._channel_seq, int(self.seed), int(self.flip_order), kind)
        except struct.error:  # a seed outside 64 bits: as a request
            return None
        sock = self._channel
        try:
            sock.settimeout(max(0.001, timeout - (time.monotonic() - started)))
            sock.sendall(head + payload)
            size, seq = CHANNEL_REPLY.unpack(self._recv_exactly(sock, CHANNEL_REPLY.size, started, timeout))
            if seq != self._channel_seq or size > MAX_REPLY_BYTES:
                raise ConnectionError("the kernel's answer was out of step or too large")
            text = self._recv_exactly(sock, size, started, timeout).decode("utf-8", errors="replace")
        except (socket.timeout, TimeoutError):
            self._close_channel()
            raise self._timed_out(timeout) from None
        except OSError:  # the stream ended or broke: the loop stopped, or the kernel died
            self._close_channel()
            if not self._loop_ended():
                raise self._died() from None
            return []
        self.channel_probes += 1
        return [text] if text else []

    @staticmethod
    def _recv_exactly(sock: socket.socket, size: int, started: float, timeout: float) -> bytes:
        chunks, got = [], 0
        while got < size:
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
            chunk = sock.recv(min(size - got, 1 << 22))
            if not chunk:
                raise ConnectionError("the channel was closed")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def reply_text(self, src: str, timeout: float) -> str:
        """The raw JSON reply to a probe (no budget): for the trusted reference kernel."""
        replies = self._probe(src, timeout)
        if not replies:
            raise ProbeError("the kernel gave no answer")
        return replies[-1]

    def eval(self, src: str, timeout: float | None = None) -> Any:
        """The ``student`` fixture of a hidden test: run ``src`` in a copy of the notebook's
        globals (random, numpy and torch seeded with ``SEED``) and return the value of its last
        expression as plain data (None, bool, int, float, str, lists, dicts with str keys,
        NumPy arrays; tensors arrive as arrays). Raises ``StudentError`` when the student's
        code raised, ``ProbeTimeout`` past ``timeout`` (default: the exercise's
        ``test_timeout``) or when the submission's tests used up their budget, ``KernelDied``
        when the kernel is gone. Let them propagate: the grader turns them into the message."""
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
            if not self.settle():
                self.dead_reason = ("your code did not stop when interrupted while answering a "
                                    "test; the kernel was shut down")
                self.kill()
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
