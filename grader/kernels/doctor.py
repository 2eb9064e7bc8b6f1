"""`grader doctor`: which isolation measures actually work on this machine.

Each measure is checked by doing the forbidden thing from inside a real sandboxed kernel and
watching it fail (bounded so that a missing protection cannot hurt the machine).
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import forkserver
from .container import Container
from .gpus import device_nodes
from .live import LiveKernel
from .spec import NOT_ISOLATED, KernelLimits
from .probe import ProbeError
from .sandbox import Sandbox, is_root, processes_of, runtime_paths

CANARY = "GRADER_DOCTOR_CANARY"


# What a kernel sees of the filesystem: its top level, a world-readable file in another /tmp
# folder, its own /tmp, the users in /etc/passwd, and mounts of host folders other than the
# runtime and its own (the host's mount list would name them all).
FILESYSTEM_PROBE = """
import os
here = os.path.dirname(os.getcwd())
users = [line.split(":")[0] for line in open("/etc/passwd") if line.strip()]
mounted = [line.split()[4] for line in open("/proc/self/mountinfo")]
own = ("/", "/tmp", "/dev", "/proc", "/sys", here)
{"top": sorted(os.listdir("/")), "canary": os.path.exists(os.path.join(CANARY_DIR, "results.json")),
 "tmp": sorted(p for p in os.listdir("/tmp") if not here.startswith("/tmp/" + p)
              and not any(r.startswith("/tmp/" + p + "/") for r in RUNTIME)),
 "users": users, "host_users": [u for u in users if u not in ("root", "student", "nobody")],
 "mounts_outside": [m for m in mounted if not any(m == o or m.startswith(o.rstrip("/") + "/") for o in own)
                    and not any(m == r or m.startswith(r.rstrip("/") + "/") for r in RUNTIME)]}
"""


@dataclass
class Check:
    measure: str
    ok: bool
    detail: str


def _eval(kernel: LiveKernel, code: str, timeout: float = 20):
    try:
        return kernel.eval(code, timeout=timeout)
    except ProbeError as exc:
        return f"probe failed: {exc}"


def run_checks(container: Container | None = None) -> list[Check]:
    """``container``: check kernels started in that container engine instead."""
    if container is not None:
        container.ready()
    checks: list[Check] = []
    canary_dir = Path(tempfile.mkdtemp(prefix="grader-doctor-canary-"))  # not hidden by name
    os.chmod(canary_dir, 0o755)
    (canary_dir / "results.json").write_text("{}\n")
    os.chmod(canary_dir / "results.json", 0o644)
    secret_dir = Path(tempfile.mkdtemp(prefix="grader-doctor-secret-"))
    os.chmod(secret_dir, 0o755)
    secret = secret_dir / "hidden_tests.py"
    secret.write_text("SECRET = 42\n")
    os.chmod(secret, 0o644)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    os.environ[CANARY] = "visible"
    limits = KernelLimits(memory=256 * 1024**2, file_size=1024**2, cell_timeout=2,
                          notebook_budget=60, probe_timeout=20, output_limit=64 * 1024)
    sandbox = Sandbox(processes=64, hide=[secret_dir], container=container)
    kernel = LiveKernel(limits, sandbox=sandbox, label="doctor")
    uid = kernel.uid
    try:
        nb = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_code_cell("import time\ntime.sleep(30)"),
            nbformat.v4.new_code_cell("for i in range(2000):\n    print('x' * 1000)"),
        ])
        kernel.start(nb)
        kernel.begin(nb)
        stopped = {"ename": "CellTimeoutError", "evalue": "stopped", "traceback": []}
        timed_out = kernel.run_cell(nb.cells[0], 0, limits.cell_timeout, stopped)
        kernel.settle()
        kernel.run_cell(nb.cells[1], 1, 20, stopped)
        iso = kernel.isolation
        forked = iso.get("started_by") == "the fork server"
        if container is not None:
            root = container.image or "this machine's Python in an empty root"
            checks.append(Check("container", bool(iso.get("container")),
                                f"kernels start in {container.name} containers ({root})"))
        else:
            checks.append(Check("fork server", forked or not forkserver.enabled(),
                                "kernels are forked from a pre-imported server" if forked else
                                "kernels start as fresh processes" + (
                                    " (GRADER_FORK_SERVER=0)" if not forkserver.enabled() else
                                    "; the fork server did not start")))
        checks.append(Check("per-cell timeout", timed_out,
                            "a cell sleeping 30 s was stopped after 2 s"))
        kept = sum(len(str(o.get("text", ""))) for o in nb.cells[1].outputs)
        checks.append(Check("output cap", kept <= 70 * 1024,
                            f"a cell printing 2 MB kept {kept // 1024} KiB (cap 64 KiB)"))
        got = _eval(kernel, "b = bytearray(512 * 1024 * 1024); 'allocated'")
        checks.append(Check("memory cap", got != "allocated",
                            "allocating 512 MiB under a 256 MiB cap " + (
                                "failed with MemoryError" if "MemoryError" in str(got) else f"gave {got!r}")))
        got = _eval(kernel, "f = open('big.bin', 'wb')\ntry:\n    f.write(b'0' * (4 * 1024 * 1024)); f.flush(); r = 'wrote'\n"
                            "except OSError as e:\n    r = type(e).__name__\nfinally:\n    f.close()\nr")
        checks.append(Check("file-size cap", got != "wrote", f"writing 4 MiB under a 1 MiB cap: {got}"))
        got = _eval(kernel, "import os; os.getuid()")
        checks.append(Check("unprivileged user", isinstance(got, int) and got != 0,
                            f"the kernel runs as uid {got}" + ("" if is_root() else
                                                              " (the grader is not root: cannot switch)")))
        got = _eval(kernel, f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2); r = 'connected'\n"
                            "except OSError as e:\n    r = str(e)\nr")
        checks.append(Check("no network", got != "connected",
                            f"connecting to the grader's own port on 127.0.0.1: {got}"))
        got = _eval(kernel, f"import os\ntry:\n    r = open({str(secret)!r}).read()\nexcept OSError as e:\n    r = type(e).__name__\nr")
        checks.append(Check("hidden files", got != "SECRET = 42\n",
                            f"reading a world-readable file in a hidden folder: {got}"))
        runtime = sorted({os.path.realpath(p) for p in runtime_paths()})
        got = _eval(kernel, FILESYSTEM_PROBE.replace("CANARY_DIR", repr(str(canary_dir)))
                    .replace("RUNTIME", repr(runtime)))
        if isinstance(got, dict):
            foreign = got["mounts_outside"]
            ok = (iso.get("filesystem") != NOT_ISOLATED and not got["canary"] and got["tmp"] == []
                  and not got["host_users"] and not foreign)
            detail = (f"the kernel sees / = {' '.join(got['top'])}; a world-readable file in another "
                      f"folder of /tmp is {'VISIBLE' if got['canary'] else 'not there'}; its /tmp holds "
                      f"{got['tmp'] or 'nothing else'}; /etc/passwd lists {got['users']}; "
                      f"{len(foreign)} host mount(s) listed")
            if iso.get("filesystem") == NOT_ISOLATED:
                detail += f" ({iso.get('not_applied', {}).get('filesystem', 'not applied')})"
            else:
                detail += f"; read-only runtime: {', '.join(runtime_paths())}"
        else:
            ok, detail = False, str(got)
        checks.append(Check("filesystem allow-list", ok, detail))
        got = _eval(kernel, f"import os; os.environ.get({CANARY!r})")
        checks.append(Check("scrubbed environment", got is None, "a variable set in the grader is "
                            + ("absent" if got is None else "visible") + " in the kernel"))
        nodes = device_nodes()
        if nodes:  # a GPU machine: a CPU kernel must not reach the GPUs
            got = _eval(kernel, f"import os\nnull = os.stat('/dev/null').st_rdev\n"
                                f"[p for p in {nodes!r} if os.path.exists(p) and not os.path.isdir(p) "
                                "and os.stat(p).st_rdev != null]")
            checks.append(Check("no GPU for CPU kernels", got == [],
                                f"NVIDIA device nodes a CPU kernel can open: {got or 'none'} (of {len(nodes)})"))
        # forks that exit at once never hit the cap; hold them instead, bounded at 300
        got = _eval(kernel, "import os, time\nkids = []\nfor i in range(300):\n    try:\n        pid = os.fork()\n"
                            "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(20); os._exit(0)\n"
                            "    kids.append(pid)\nlen(kids)", timeout=30)
        checks.append(Check("process cap", isinstance(got, int) and got < 300,
                            f"holding child processes stopped at {got} (cap 64, bounded at 300)"))
        _eval(kernel, "import subprocess\nsubprocess.Popen(['sh', '-c', 'setsid sleep 600 &']); 'ok'")
    finally:
        kernel.close()
        server.close()
        os.environ.pop(CANARY, None)
        secret.unlink()
        secret_dir.rmdir()
        shutil.rmtree(canary_dir, ignore_errors=True)
    if uid is not None:
        left = processes_of(uid)
        checks.append(Check("process clean-up", not left,
                            f"a daemon started with setsid: {len(left)} process(es) left after closing"))
    else:
        checks.append(Check("process clean-up", False, "without a uid of its own only the kernel's "
                            "process group is killed; a setsid daemon can escape"))
    return checks
