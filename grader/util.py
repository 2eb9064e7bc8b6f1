"""Small helpers shared by the grader's modules: atomic file writes, file hashes, private
temporary folders that are cleaned up even after a crash, and points as people write them.
Standard library only, so every command (and the student kit) can use them."""
from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

# the uids sandboxed kernels run as (grader.kernels.sandbox hands them out)
POOL_UIDS = range(61000, 62000)


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file so that readers see the old or the new content, never half of it. The file
    gets the permissions a plain ``open(path, "w")`` would give it (mkstemp's are 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False,
                                  default=str) + "\n")


def fmt_points(value: float) -> str:
    """Points as people write them: 20, 0.5, 1.333."""
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def try_lock(path: Path) -> Any:
    """An exclusive lock on ``path`` held by the returned open file (closing it releases the
    lock), or None when another process holds it. (fcntl: Linux and macOS.)"""
    import fcntl
    handle = open(path, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    owners = {os.geteuid(), *POOL_UIDS}
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


@contextlib.contextmanager
def loading_for_long() -> Iterator[None]:
    """Around a process's heavy start-up (the libraries the hidden tests and the kernels need,
    nbconvert's templates): no cyclic garbage collection meanwhile, then everything loaded so
    far is frozen (``gc.freeze``: never examined again by the collector) and collection goes on
    as before. Importing torch and its kin with the collector on cost a grader process about
    0.7 s of full collections, each walking every object loaded so far; afterwards every full
    collection walked them again, though none of them ever becomes garbage. Frozen before
    the workers are forked, those pages also stay shared with them. Garbage made while loading
    stays (a few megabytes at most)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
