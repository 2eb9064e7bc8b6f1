"""Kernel launcher: applies resource limits to itself, then becomes an IPython kernel.

Started by jupyter_client through the kernelspec that :mod:`grader.kernel` writes, as
``python -m grader._launch --memory BYTES --fsize BYTES -- <ipykernel args>``. It imports
nothing from the grader except this file, and applies the limits before any notebook code
exists in the process.
"""
from __future__ import annotations

import os
import resource
import sys


def _set(limit: int, value: int) -> bool:
    try:
        soft, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(limit, (value, value))
        return True
    except (ValueError, OSError):
        return False


def main(argv: list[str]) -> None:
    sep = argv.index("--")
    opts, kernel_args = argv[:sep], argv[sep + 1:]
    values = dict(zip(opts[0::2], opts[1::2]))
    if "--memory" in values:
        # RLIMIT_DATA (heap + private anonymous mappings) rather than RLIMIT_AS: CUDA-enabled
        # torch reserves huge virtual ranges it never touches, which RLIMIT_AS would refuse.
        _set(resource.RLIMIT_DATA, int(values["--memory"]))
    if "--fsize" in values:
        _set(resource.RLIMIT_FSIZE, int(values["--fsize"]))
    _set(resource.RLIMIT_CORE, 0)
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *kernel_args])


if __name__ == "__main__":
    main(sys.argv[1:])
