"""Check the GPU path on a machine with a real NVIDIA GPU, and time it against the CPU path.

    OMP_NUM_THREADS=1 python benchmarks/gpu_check.py [--n 12] [--workers 4] [--exercises ...]
        [--modes cpu cuda cuda-fresh cuda-cold cuda-x4]

1. What the grader sees: ``nvidia-smi -L`` and the GPU list the slots use.
2. A sandboxed GPU kernel (the real sandbox: pool uid, memory cap, process cap, no network,
   hidden course repo), cold (a fresh process) and warm (forked from the fork server, torch
   preloaded, CUDA never started there), imports torch, multiplies two matrices on the GPU and
   reports what it saw (device name, CUDA_VISIBLE_DEVICES, uid); times from launch to a usable
   GPU, cold vs warm.
3. For each exercise: a deterministic cohort (reference, alternatives, every mutant, the stub;
   as benchmarks/grade_week02.py builds it) graded side by side in these modes, with the same
   number of workers: ``cpu``; ``cuda`` (one kernel per GPU, warm spare kernels);
   ``cuda-fresh`` (GPU kernels started as fresh processes, not forked warm from the fork server);
   ``cuda-cold`` (the same without spares: every GPU kernel starts cold, as before spares
   existed on GPU); ``cuda-x4`` (``kernels_per_gpu: 4``). The scores must agree with the CPU's
   (order-dependent mutants aside; the differing tests are listed), every GPU result must name
   its GPU, and a sampler counts the processes that have the GPU open at once: kernels (the slot rule;
   a reference kernel started for a cache miss shares its student's slot) and others (none:
   the graders' own torch stays off the GPU).

Writes a markdown report to benchmarks/results/gpu_check.md (and $OUT/gpu_check.md when $OUT
is set). Exits 1 when a check fails. Needs no GPU to import; without one it says so.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from grade_week02 import build  # noqa: E402
from grader.course import load_course  # noqa: E402
from grader.kernels.spec import default_sandbox, limits_for  # noqa: E402
from grader.batch import grade_batch  # noqa: E402
from grader.kernels.gpus import GpuSlot, visible_gpus  # noqa: E402
from grader.kernels.live import LiveKernel  # noqa: E402
from grader.kernels.sandbox import UID_BASE, UID_COUNT  # noqa: E402

GPU_PROBE = """
import os, time, torch
_t = time.perf_counter()
_x = torch.randn(2048, 2048, device="cuda")
_y = float((_x @ _x).sum().item())
torch.cuda.synchronize()
(torch.cuda.get_device_name(0), torch.cuda.device_count(), os.environ.get("CUDA_VISIBLE_DEVICES"),
 os.getuid(), round(time.perf_counter() - _t, 3), torch.cuda.memory_allocated() // 2**20, torch.__version__)
"""


class GpuSampler(threading.Thread):
    """Every ``every`` seconds, counts the processes that have a GPU open (``/dev/nvidia<N>``
    among their file descriptors): sandboxed kernels (pool uids) and others (the graders);
    keeps the largest counts. (nvidia-smi's process list came back empty on the lent VM.)"""

    def __init__(self, every: float = 0.1):
        super().__init__(daemon=True)
        self.every, self.kernels, self.others, self.samples = every, 0, 0, 0
        self._halt = threading.Event()

    @staticmethod
    def holders() -> dict[int, int]:
        found = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
                uid = os.stat(f"/proc/{pid}").st_uid
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("/dev/nvidia") and target[len("/dev/nvidia"):].isdigit():
                    found[int(pid)] = uid
                    break
        return found

    def run(self) -> None:
        while not self._halt.is_set():
            uids = list(self.holders().values())
            kernels = sum(UID_BASE <= u < UID_BASE + UID_COUNT for u in uids)
            self.kernels = max(self.kernels, kernels)
            self.others = max(self.others, len(uids) - kernels)
            self.samples += 1
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _gpu_kernel(spec, gpu: str, fork_server: bool) -> tuple[float, float, list, dict]:
    """Launch a sandboxed GPU kernel (torch preloaded) from the fork server or as a fresh
    process; the seconds until it answers, until its first GPU product is done, what it saw."""
    os.environ["GRADER_FORK_SERVER"] = "1" if fork_server else "0"
    try:
        started = time.monotonic()
        kernel = LiveKernel(limits_for(spec), device="cuda", gpu=gpu, label="gpu-check",
                            sandbox=default_sandbox(spec), seed=spec.kernel_seed, preload=["torch"])
        try:
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
            kernel.start(nb)
            ready = time.monotonic() - started
            got = kernel.eval(GPU_PROBE, timeout=120)
            return ready, time.monotonic() - started, got, dict(kernel.isolation)
        finally:
            kernel.close()
    finally:
        os.environ.pop("GRADER_FORK_SERVER", None)


def sandbox_probe(spec, lines: list[str], failures: list[str]) -> None:
    """A sandboxed GPU kernel, cold (a fresh process) and warm (forked from the fork server,
    which imported torch but never started CUDA): both must see exactly their slot's GPU."""
    lines += ["## A sandboxed GPU kernel: cold (fresh process) vs warm (fork server)", "",
              "| start | kernel ready | first 2048x2048 GPU product done | started by | GPU seen | "
              "CUDA_VISIBLE_DEVICES (slot) | uid |", "|---|---|---|---|---|---|---|"]
    times: dict[str, list[tuple[float, float]]] = {}
    with GpuSlot() as slot:
        _gpu_kernel(spec, slot.device, True)   # the fork server boots once (as in a batch)
        for label, fork in (("cold", False), ("warm", True), ("cold", False), ("warm", True)):
            ready, total, got, iso = _gpu_kernel(spec, slot.device, fork)
            name, count, visible, uid, cuda_s, mib, torch_version = got
            times.setdefault(label, []).append((ready, total))
            lines.append(f"| {label} | {ready:.2f} s | {total:.2f} s | {iso.get('started_by')} | {count} x {name} | "
                         f"{visible} ({slot.device}) | {uid} |")
            if count != 1 or visible != slot.device or uid == 0:
                failures.append(f"{label} GPU kernel: wrong device pinning or uid ({count}, {visible}, {uid})")
            if fork and iso.get("started_by") != "the fork server":
                failures.append(f"warm GPU kernel started by {iso.get('started_by')}, not the fork server")
    cold = min(t for _, t in times["cold"])
    warm = min(t for _, t in times["warm"])
    lines += ["", f"- torch {torch_version}; launch to a finished GPU product: cold {cold:.2f} s, warm {warm:.2f} s "
              f"({cold / warm:.1f}x); isolation of the last: " +
              str({k: iso.get(k) for k in ('memory_cap', 'process_cap', 'unprivileged_uid', 'network', 'gpu',
                                           'not_applied')}), ""]


MODES = {  # name: (device, kernels per GPU, warm spare kernels, kernels from the fork server)
    "cpu": ("cpu", 1, True, True),
    "cuda": ("cuda", 1, True, True),
    "cuda-fresh": ("cuda", 1, True, False),
    "cuda-cold": ("cuda", 1, False, False),
    "cuda-x4": ("cuda", 4, True, True),
}


def course_sharing(root: Path, tmp: Path, share: int) -> Path:
    """A copy of the course whose exercises let ``share`` kernels use one GPU at once."""
    if share == 1:
        return root
    copy = tmp / f"course-x{share}"
    for name in ("solutions", "assignments", "autograde_tests"):
        shutil.copytree(root / name, copy / name)
    text = (root / "course.yaml").read_text()
    (copy / "course.yaml").write_text(text.replace("kernels_per_gpu: 1", f"kernels_per_gpu: {share}"))
    return copy


def failed_tests(result: dict) -> dict[str, str]:
    return {t["name"]: t["output"] for t in result["tests"] if t["status"] != "passed"}


def compare(exercise: str, n: int, workers: int, modes: list[str], lines: list[str],
            failures: list[str]) -> None:
    lines += [f"## {exercise}: {n} submissions, {workers} workers", "",
              "| mode | device | kernels per GPU | warm spares | fork server | seconds | per submission | total score | "
              "most kernels / other processes with the GPU open at once |", "|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        spec = load_course(ROOT).get(exercise)
        subs = Path(tmp) / "subs"
        unstable = build(spec, subs, n)
        runs = {}
        for mode in modes:
            device, share, warm, fork = MODES[mode]
            spec = load_course(course_sharing(ROOT, Path(tmp), share)).get(exercise)
            assert spec.kernels_per_gpu == share
            os.environ["GRADER_WARM_KERNELS"] = "1" if warm else "0"
            os.environ["GRADER_FORK_SERVER"] = "1" if fork else "0"
            sampler = GpuSampler()
            sampler.start()
            started = time.monotonic()
            try:
                summary = grade_batch(spec, subs, Path(tmp) / f"out-{mode}", workers=workers, device=device)
            finally:
                sampler.stop()
                os.environ.pop("GRADER_WARM_KERNELS", None)
                os.environ.pop("GRADER_FORK_SERVER", None)
            seconds = time.monotonic() - started
            runs[mode] = summary.results
            total = sum(r["score"] for r in summary.results.values())
            lines.append(f"| {mode} | {device} | {share} | {'yes' if warm else 'no'} | {'yes' if fork else 'no'} | {seconds:.1f} | "
                         f"{seconds / n:.2f} s | {total:g} | {sampler.kernels} / {sampler.others} |")
            print(lines[-1], flush=True)
            errors = [f"{s}: {r['extra_data'].get('reason')}" for s, r in summary.results.items()
                      if r["extra_data"].get("status") == "error"]
            if errors:
                failures.append(f"{exercise} {mode}: internal errors: {errors}")
            if device == "cuda":
                pins = {str(r["extra_data"].get("isolation", {}).get("gpu")) for r in summary.results.values()
                        if r["extra_data"].get("status") != "invalid"}
                if pins != set(visible_gpus()):
                    failures.append(f"{exercise} {mode}: results pinned to {sorted(pins)}")
                # a reference kernel started for a cache miss shares its student's slot
                if sampler.kernels > 2 * share * len(visible_gpus()):
                    failures.append(f"{exercise} {mode}: {sampler.kernels} kernels had the GPU open at once")
            if sampler.others:
                failures.append(f"{exercise} {mode}: {sampler.others} grader process(es) opened the GPU")
    lines.append("")
    base = runs.get("cpu")
    for mode, results in runs.items():
        if base is None or mode == "cpu":
            continue
        differ = [s for s in sorted(base) if s not in unstable and base[s]["score"] != results[s]["score"]]
        lines.append(f"- {mode} vs cpu, deterministic submissions whose scores differ: {differ or 'none'}")
        for student in differ[:4]:
            a, b = failed_tests(base[student]), failed_tests(results[student])
            lines.append(f"  - {student}: cpu {base[student]['score']:g}, {mode} {results[student]['score']:g} "
                         f"({results[student]['extra_data'].get('status')}; {results[student]['extra_data'].get('reason')})")
            for name in sorted(set(a) ^ set(b) | {k for k in a if k in b and a[k] != b[k]}):
                lines.append(f"    - {name}: cpu says {a.get(name, 'passed')!r}; {mode} says {b.get(name, 'passed')!r}"[:600])
        if differ:
            failures.append(f"{exercise}: scores differ between cpu and {mode} for {differ}")
    lines.append("")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--exercises", nargs="*", default=None,
                        help="default: week02 and the exercises that train networks (week03, week04, "
                             "week07, week13, week15), those that exist")
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=list(MODES))
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    course = load_course(ROOT)
    if args.exercises is None:
        wanted = ["week02_autograd", "week03_water_mlp", "week04_cnn_clouds", "week07_segmentation",
                  "week13_mlp_lm", "week15_self_attention_gpt"]
        args.exercises = [e for e in wanted if e in course.exercises]
    smi = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.strip() \
        if subprocess.run(["which", "nvidia-smi"], capture_output=True).returncode == 0 else "no nvidia-smi"
    lines = ["# The GPU path on a real GPU", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
             f"`{smi}`; GPU slots: {visible_gpus()}", "",
             f"Command: `OMP_NUM_THREADS=1 python benchmarks/gpu_check.py --n {args.n} --workers {args.workers} "
             f"--exercises {' '.join(args.exercises)} --modes {' '.join(args.modes)}`", ""]
    failures: list[str] = []
    if not visible_gpus():
        print("no GPU visible: nothing to check here", file=sys.stderr)
        return 2
    steps = [lambda: sandbox_probe(course.get("week03_water_mlp"), lines, failures)]
    steps += [lambda e=e: compare(e, args.n, args.workers, args.modes, lines, failures) for e in args.exercises]
    for step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001 - report and go on to the next check
            failures.append(traceback.format_exc(limit=6))
            lines += ["```", traceback.format_exc(limit=6), "```", ""]
        print("\n".join(lines[-8:]), flush=True)
    lines += ["## Verdict", "", "all checks passed" if not failures else
              "FAILED:\n" + "\n".join(f"- {f}" for f in failures), ""]
    report = "\n".join(lines)
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "gpu_check.md").write_text(report)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_check.md").write_text(report)
    print(report)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
