"""What isolates a kernel, and the per-kernel uid pool.

Defaults (DESIGN.md section 5): a memory cap, a file-size cap, a private working directory, a
scrubbed environment, one CPU thread, an output cap and per-cell/whole-notebook time limits
apply everywhere. When the grader runs as root, each kernel also gets a uid of its own (from a
pool, so concurrent kernels cannot read each other's files and the process cap counts only that
kernel's processes), a network namespace with no interface up, and a mount namespace in which
the course repository, the submissions, the outputs and root's home are covered by empty
read-only mounts. ``grader doctor`` checks each measure on this machine.
"""
from __future__ import annotations

import fcntl
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .container import Container

UID_BASE = 61000
UID_COUNT = 1000
_LOCK_DIR = Path("/tmp/grader-uids")


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@dataclass
class Sandbox:
    """Isolation measures requested for a kernel (what applied is reported by the kernel)."""

    user: bool = True            # a uid of its own (needs root)
    network: bool = True         # a network namespace without interfaces (needs root)
    processes: int | None = 256  # RLIMIT_NPROC for the kernel's uid (threads count too)
    hide: list[Path] = field(default_factory=list)
    container: "Container | None" = None  # optional: each kernel in a podman/docker container

    def expose(self) -> list[str]:
        """What the kernel must still see to start: the Python installation and the venv."""
        paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                 os.path.dirname(os.path.realpath(sys.executable))}
        return sorted(p for p in paths if p)

    def hidden_paths(self) -> list[str]:
        paths = [str(p) for p in self.hide]
        if is_root():
            paths.append(os.path.expanduser("~root"))
        return paths


class UidLease:
    """An exclusive uid from the pool, held with an fcntl lock until released."""

    def __init__(self) -> None:
        _LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
        os.chmod(_LOCK_DIR, 0o700)
        start = os.getpid() % UID_COUNT
        for step in range(UID_COUNT):
            uid = UID_BASE + (start + step) % UID_COUNT
            handle = open(_LOCK_DIR / str(uid), "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            self.uid, self._handle = uid, handle
            kill_uid(uid)  # nothing left over from an earlier holder that crashed
            return
        raise RuntimeError("no free sandbox uid (more than 1000 kernels at once?)")

    def release(self) -> None:
        if getattr(self, "_handle", None) is not None:
            self._handle.close()
            self._handle = None


_SWEPT_KINDS: set[str] = set()


def sweep_leftovers(kind: str) -> None:
    """Remove ``/tmp/grader-<kind>-<pid>-*`` folders whose process is gone (killed before it
    could clean up); once per kind and process."""
    import re
    import shutil
    import tempfile
    if kind in _SWEPT_KINDS:
        return
    _SWEPT_KINDS.add(kind)
    owners = {os.geteuid(), *range(UID_BASE, UID_BASE + UID_COUNT)}
    for old in Path(tempfile.gettempdir()).glob(f"grader-{kind}-*"):
        match = re.match(rf"grader-{re.escape(kind)}-(\d+)-", old.name)
        try:
            if not match or not old.is_dir() or old.is_symlink() or old.stat().st_uid not in owners:
                continue
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass


def private_dir(kind: str) -> Path:
    """A new 0700 folder ``/tmp/grader-<kind>-<pid>-*``: its owner removes it when done; if the
    owner is killed first, the next process that makes one of this kind removes it."""
    import tempfile
    sweep_leftovers(kind)
    return Path(tempfile.mkdtemp(prefix=f"grader-{kind}-{os.getpid()}-"))


def process_tempdir(kind: str) -> Path:
    """A :func:`private_dir` that lasts as long as this process."""
    import atexit
    import shutil
    path = private_dir(kind)
    atexit.register(shutil.rmtree, path, True)
    return path


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
