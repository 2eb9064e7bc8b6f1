"""What isolates a kernel, and the per-kernel uid pool.

Defaults (DESIGN.md section 5): a memory cap, a file-size cap, a private working directory, a
scrubbed environment, one CPU thread, an output cap and per-cell/whole-notebook time limits
apply everywhere. On Linux each kernel also gets a network namespace with no interface up and
an allow-list view of the filesystem (``grader/_launch.py``): the runtime read-only
(:func:`runtime_paths`), its own folder, a private ``/tmp`` and a minimal ``/dev``; nothing
else of the host. As root these are plain namespaces and each kernel also gets a uid of its
own (from a pool, so concurrent kernels cannot read each other's files and the process cap
counts only that kernel's processes); without root they are made inside a user namespace where
the machine allows one. ``grader doctor`` checks each measure on this machine.

On macOS and Windows (students checking a notebook: nothing is graded there) none of this
exists; :func:`supported` says so and kernels start as plain processes.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import OperatorError
from ..util import POOL_UIDS, try_lock

if TYPE_CHECKING:
    from .container import Container

UID_BASE, UID_COUNT = POOL_UIDS.start, len(POOL_UIDS)
_LOCK_DIR = Path("/tmp/grader-uids")
# of /etc, what the runtime reads (the dynamic loader's cache, name-service and time-zone
# settings, the targets of /usr/bin/* alternatives, fonts); passwd and group are written for
# each kernel instead of shown
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "nsswitch.conf", "host.conf", "hosts",
             "localtime", "timezone", "mime.types", "alternatives", "fonts", "os-release")
TOP_LEVEL_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def supported() -> bool:
    """The sandbox's launcher works on this platform (Linux: prctl, rlimits, namespaces)."""
    return sys.platform.startswith("linux")


def python_paths() -> list[str]:
    """The Python installation and virtual environment this grader runs in."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
    return sorted(p for p in paths if p and p != "/")


def runtime_paths() -> list[str]:
    """What a kernel sees of the host, read-only: ``/usr``, the top-level ``lib``/``bin``
    links, a few files of ``/etc``, the Python installation and virtual environment, and the
    folders named in ``LD_LIBRARY_PATH`` and ``CUDA_HOME``."""
    paths = ["/usr", *TOP_LEVEL_LINKS, *(f"/etc/{name}" for name in ETC_FILES), *python_paths()]
    for entry in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) + [os.environ.get("CUDA_HOME", "")]:
        if entry and os.path.isabs(entry) and os.path.isdir(entry):
            paths.append(os.path.normpath(entry))
    out: list[str] = []
    for path in paths:
        if os.path.lexists(path) and path not in out:
            out.append(path)
    return out


@dataclass
class Sandbox:
    """Isolation measures requested for a kernel (what applied is reported by the kernel)."""

    user: bool = True            # a uid of its own (needs root)
    network: bool = True         # a network namespace without interfaces
    view: bool = True            # the allow-list filesystem view
    processes: int | None = 256  # RLIMIT_NPROC for the kernel's uid (threads count too)
    hide: list[Path] = field(default_factory=list)  # covered even if inside a runtime path
    container: "Container | None" = None  # optional: each kernel in a podman/docker container

    def hidden_paths(self) -> list[str]:
        return [str(p) for p in self.hide]


class UidLease:
    """An exclusive uid from the pool, held with an fcntl lock until released."""

    def __init__(self) -> None:
        _LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
        os.chmod(_LOCK_DIR, 0o700)
        start = os.getpid() % UID_COUNT
        for step in range(UID_COUNT):
            uid = UID_BASE + (start + step) % UID_COUNT
            handle = try_lock(_LOCK_DIR / str(uid))
            if handle is None:
                continue
            self.uid, self._handle = uid, handle
            kill_uid(uid)  # nothing left over from an earlier holder that crashed
            return
        raise OperatorError("no free sandbox uid (more than 1000 kernels at once?)")

    def release(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()
            del self._handle


def processes_of(uid: int | range) -> list[int]:
    """Live (not zombie) processes running as ``uid`` (or any uid in a range)."""
    uids = uid if isinstance(uid, range) else range(uid, uid + 1)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as handle:
                zombie = False
                for line in handle:
                    if line.startswith("State:"):
                        zombie = line.split()[1] in ("Z", "X")  # dead, waiting to be reaped
                    elif line.startswith("Uid:"):
                        if int(line.split()[1]) in uids and not zombie:
                            pids.append(int(entry))
                        break
        except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
            continue
    return pids


def kill_uid(uid: int, seconds: float = 2.0) -> int:
    """SIGKILL every process running as ``uid`` (daemons and escaped children included), until
    none is left or ``seconds`` have passed. A killed process takes a few ms to go: the checks
    start 1 ms apart and back off to 50 ms."""
    killed = 0
    deadline = time.monotonic() + seconds
    delay = 0.001
    while True:
        pids = processes_of(uid)
        if not pids or time.monotonic() > deadline:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
