"""GPU slots: at most ``per_gpu`` grading kernels per GPU at a time (one unless the exercise's
``kernels_per_gpu`` says more), each pinned with CUDA_VISIBLE_DEVICES.

Slots are fcntl locks in a machine-wide folder, so they hold across worker processes and even
across batches running side by side. The device list comes from, in order: ``GRADER_GPUS``
(e.g. ``0,1``; also how the tests fake a GPU machine), the ``CUDA_VISIBLE_DEVICES`` this
process was given (Ray sets it per task), or ``nvidia-smi -L``.
"""
from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

from ..errors import OperatorError
from ..util import try_lock

_LOCK_DIR = Path("/tmp/grader-gpus")
DEV = Path("/dev")


def device_nodes() -> list[str]:
    """The NVIDIA device nodes of this machine (/dev/nvidia0, /dev/nvidiactl, /dev/nvidia-uvm,
    ...). A CPU kernel gets them hidden (covered with /dev/null): ``CUDA_VISIBLE_DEVICES=""``
    alone still lets CUDA open every GPU (seen on a real GPU: a CPU kernel that asked torch
    about CUDA had /dev/nvidia0 open), and a notebook can change its own environment before
    CUDA starts."""
    return sorted(str(p) for p in DEV.glob("nvidia*"))


def visible_gpus() -> list[str]:
    for var in ("GRADER_GPUS", "CUDA_VISIBLE_DEVICES"):
        value = os.environ.get(var)
        if value is not None and value.strip() not in ("", "-1"):
            return [d.strip() for d in value.split(",") if d.strip()]
    if shutil.which("nvidia-smi"):
        try:
            listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            return []
        return [str(i) for i, line in enumerate(ln for ln in listing.splitlines() if ln.startswith("GPU "))]
    return []


def keep_grader_off_gpus(gpus: list[str] | None = None) -> list[str]:
    """Keep this grader process (and the workers it forks) off the GPUs: the hidden tests'
    oracles run on the CPU. Records the GPU list for the slots in ``GRADER_GPUS`` first (given,
    or as found), then hides every GPU from this process's CUDA.

    Seen on a real GPU: otherwise torch's autograd engine opens every GPU at its first backward
    pass in a grader process, and workers forked after that fail every backward pass
    ("Unable to handle autograd's threading in combination with fork-based multiprocessing").
    Call it before anything in this process initialises CUDA."""
    gpus = visible_gpus() if gpus is None else gpus
    if gpus:
        os.environ["GRADER_GPUS"] = ",".join(gpus)
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    return gpus


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set these environment variables (None: remove) while the block runs; the old values
    come back afterwards."""
    saved = {name: os.environ.get(name) for name in values}

    def put(items: dict[str, str | None]) -> None:
        for name, value in items.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    put(values)
    try:
        yield
    finally:
        put(saved)


def off_gpus(func: Any) -> Any:
    """Decorator: ``keep_grader_off_gpus()`` while ``func`` runs; the caller's environment
    (``CUDA_VISIBLE_DEVICES``, ``GRADER_GPUS``) is put back afterwards."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with environment(CUDA_VISIBLE_DEVICES=os.environ.get("CUDA_VISIBLE_DEVICES"),
                         GRADER_GPUS=os.environ.get("GRADER_GPUS")):
            keep_grader_off_gpus()
            return func(*args, **kwargs)
    return wrapper


class GpuSlot:
    """Hold one of the ``per_gpu`` slots of a GPU; ``device`` is what CUDA_VISIBLE_DEVICES is
    set to. Free slots are taken spreading over the GPUs first; ``prefer`` names the GPU to try
    first (where a warm kernel is waiting)."""

    def __init__(self, devices: list[str] | None = None, poll: float = 0.05,
                 timeout: float | None = None, per_gpu: int = 1, prefer: str | None = None):
        devices = visible_gpus() if devices is None else devices
        if not devices:
            raise OperatorError("--device cuda was asked for, but no GPU is visible "
                                "(set GRADER_GPUS or CUDA_VISIBLE_DEVICES, or use --device cpu)")
        _LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        if prefer in devices:
            devices = [prefer] + [d for d in devices if d != prefer]
        order = [(device, i) for i in range(max(1, per_gpu)) for device in devices]
        self.device: str | None = None
        self._handle = None
        while self.device is None:
            for device, i in order:
                handle = try_lock(_LOCK_DIR / f"gpu{device}.{i}.lock")
                if handle is None:
                    continue
                self.device, self._handle = device, handle
                break
            else:
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError("no GPU slot became free in time")
                time.sleep(poll)

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "GpuSlot":
        return self

    def __exit__(self, *exc) -> None:
        self.release()
