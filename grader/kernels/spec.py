"""How a sandboxed kernel is described to jupyter_client: limits, launcher options, the
kernelspec and the kernel's scrubbed environment.

The launcher options fixed for one sandbox (``sandbox_options``) are the same for every kernel
of a batch, so a fork server can be started with them once; what is particular to one kernel
(its folder, report, uid) is added by :func:`write_kernelspec`.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .gpus import device_nodes
from .probe import STABLE_ORDER
from .sandbox import Sandbox, is_root, runtime_paths

if TYPE_CHECKING:
    from ..course import ExerciseSpec
    from .container import Container

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


def limit_options(limits: KernelLimits, sandbox: Sandbox | None) -> list[str]:
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
    argv = limit_options(limits, sandbox)
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
    checkout = Path(__file__).resolve().parents[2]  # the grader's own source checkout, if any
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
#
# ipykernel names every cell's code after a hash of it (the file name in tracebacks,
# ".../ipykernel_<pid>/<hash>.py", which the debugger matches against the frontend's), computed
# twice per execution by a pure-Python MurmurHash2: about 0.2 s per megabyte of code. Probes that
# carry hidden inputs (pictures as base64, hundreds of kilobytes to megabytes) paid that on every
# submission. The grader's kernels have no debugger frontend, so the name comes from zlib's
# CRC-32 instead (C speed; still a number, still the same for the same code).
#
# ``exit()`` or ``quit()`` left in a notebook stops a Jupyter kernel's event loop a moment after
# the cell; under the grader every hidden test then failed with "the kernel died". The kernels
# keep running instead (``ask_exit`` always keeps the kernel): the call does nothing, as a notebook
# frontend that ignores the request would do.
KERNEL_TWEAKS = '''
import ipykernel.iostream as m
if isinstance(getattr(m.OutStream, "_rotate_buffers", None), type(lambda: 0)):
    flush = m.OutStream.flush
    def quick_flush(self):
        if getattr(self, "_buffers", True) or getattr(self, "echo", None) is not None:
            return flush(self)
    m.OutStream.flush = quick_flush
import ipykernel.compiler as c
if callable(getattr(c, "murmur2_x86", None)):
    import zlib
    c.murmur2_x86 = lambda data, seed: zlib.crc32(data.encode("utf-8", "surrogatepass"), seed & 0xFFFFFFFF)
import ipykernel.zmqshell as z
if callable(getattr(z.ZMQInteractiveShell, "ask_exit", None)):
    ask_exit = z.ZMQInteractiveShell.ask_exit
    def keep_kernel(self):
        self.keepkernel_on_exit = True  # (exit() sets it to False just before)
        return ask_exit(self)
    z.ZMQInteractiveShell.ask_exit = keep_kernel
'''


def write_kernelspec(root: Path, command: list[str], uid: int | None, report: Path | None,
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
    argv.append("--IPKernelApp.exec_lines=__import__('gc').collect() and None or __import__('gc').freeze()")
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
