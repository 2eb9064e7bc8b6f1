"""How long a sandboxed kernel takes to start: from the fork server and as a fresh process.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_kernel_start.py [--n 20] [--out FILE]

For each way of starting, ``--n`` kernels are started one after the other with every sandbox
measure on (as ``grader grade`` starts them: limits, network namespace, the filesystem view,
a pool uid when run as root) and timed from the moment the grader asks for one until the kernel
answers its first request (``LiveKernel.start``), then closed. Reports the median and the 90th
percentile, and what the kernel reported about its filesystem. The fork server is started once
before the timed runs (a batch does that while the reference runs).

Writes benchmarks/results/bench_kernel_start.md unless ``--out -``.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.kernels import forkserver  # noqa: E402
from grader.kernels.spec import KernelLimits  # noqa: E402
from grader.kernels.live import LiveKernel  # noqa: E402
from grader.kernels.launchers import fork_server  # noqa: E402
from grader.kernels.sandbox import Sandbox, is_root  # noqa: E402


def _time_kernels(n: int, limits: KernelLimits, sandbox: Sandbox, preload: list[str]) -> tuple[list[float], dict]:
    seconds: list[float] = []
    isolation: dict = {}
    for _ in range(n):
        started = time.perf_counter()
        kernel = LiveKernel(limits, sandbox=sandbox, preload=preload, label="bench")
        try:
            kernel.start()
            seconds.append(time.perf_counter() - started)
            isolation = kernel.isolation
        finally:
            kernel.close()
    return seconds, isolation


def _row(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return f"| {name} | {len(values)} | {statistics.median(values) * 1000:.0f} ms | {p90 * 1000:.0f} ms |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--preload", default="numpy", help="comma-separated libraries the kernels preload")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_kernel_start.md"))
    args = parser.parse_args()
    limits = KernelLimits(memory=2 * 1024**3)
    sandbox = Sandbox()
    preload = [m for m in args.preload.split(",") if m]
    rows = []
    reports = {}
    os.environ["GRADER_FORK_SERVER"] = "1"
    fork_server(limits, sandbox, preload).wait_ready()
    _time_kernels(2, limits, sandbox, preload)  # warm the disk cache
    forked, reports["fork server"] = _time_kernels(args.n, limits, sandbox, preload)
    rows.append(_row("from the fork server", forked))
    forkserver.close_all()
    os.environ["GRADER_FORK_SERVER"] = "0"
    fresh, reports["fresh process"] = _time_kernels(max(3, args.n // 4), limits, sandbox, preload)
    rows.append(_row("as a fresh process", fresh))
    lines = [
        "# Sandboxed kernel start",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {'as root' if is_root() else 'as an ordinary user'}, with "
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_kernel_start.py --n {args.n}` "
        f"(kernels preload: {', '.join(preload) or 'nothing'}).",
        "",
        "| start | kernels | median | 90th percentile |",
        "|---|---|---|---|",
        *rows,
        "",
        "What the kernels reported:",
        "",
    ]
    for name, iso in reports.items():
        lines.append(f"- {name}: filesystem {iso.get('filesystem')!r}; uid {iso.get('unprivileged_uid')}; "
                     f"network {iso.get('network')!r}; not applied: {iso.get('not_applied') or 'nothing'}")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
