"""GPU slots: at most one grading kernel per GPU at a time, pinned with CUDA_VISIBLE_DEVICES.

Slots are fcntl locks in a machine-wide folder, so they hold across worker processes and even
across batches running side by side. The device list comes from, in order: ``GRADER_GPUS``
(e.g. ``0,1``; also how the tests fake a GPU machine), the ``CUDA_VISIBLE_DEVICES`` this
process was given (Ray sets it per task), or ``nvidia-smi -L``.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

_LOCK_DIR = Path("/tmp/grader-gpus")


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
        return [str(i) for i, line in enumerate(l for l in listing.splitlines() if l.startswith("GPU "))]
    return []


class GpuSlot:
    """Hold one GPU exclusively; ``device`` is what CUDA_VISIBLE_DEVICES is set to."""

    def __init__(self, devices: list[str] | None = None, poll: float = 0.05,
                 timeout: float | None = None):
        devices = visible_gpus() if devices is None else devices
        if not devices:
            raise RuntimeError("--device cuda was asked for, but no GPU is visible "
                               "(set GRADER_GPUS or CUDA_VISIBLE_DEVICES, or use --device cpu)")
        _LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        self.device: str | None = None
        self._handle = None
        while self.device is None:
            for device in devices:
                handle = open(_LOCK_DIR / f"gpu{device}.lock", "a")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    handle.close()
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
