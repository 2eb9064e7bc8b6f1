"""GPU slots with a fake device list: at most K GPU kernels at once, each pinned to its GPU."""
from __future__ import annotations

import json
import time

import pytest

from grader.engine import GradingError, grade_batch
from grader.gpus import GpuSlot, visible_gpus

from .conftest import write_submission


def test_slots_are_exclusive_and_released():
    devices = ["fake-a", "fake-b"]
    first, second = GpuSlot(devices), GpuSlot(devices)
    assert {first.device, second.device} == set(devices)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        GpuSlot(devices, timeout=0.3)
    assert time.monotonic() - started >= 0.3
    first.release()
    with GpuSlot(devices, timeout=1) as third:
        assert third.device == first.device
    second.release()


def test_device_list_sources(monkeypatch):
    monkeypatch.setenv("GRADER_GPUS", "2,5")
    assert visible_gpus() == ["2", "5"]
    monkeypatch.delenv("GRADER_GPUS")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")  # what Ray gives a task with num_gpus=1
    assert visible_gpus() == ["3"]


def test_cuda_without_gpus_is_a_clear_error(mini_course, tmp_path, monkeypatch):
    _, spec = mini_course
    monkeypatch.delenv("GRADER_GPUS", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("PATH", "/nonexistent")  # no nvidia-smi
    write_submission(spec, tmp_path / "subs", "a")
    with pytest.raises(GradingError, match="no GPU is visible"):
        grade_batch(spec, tmp_path / "subs", tmp_path / "out", device="cuda")


SPAN = ('import os, time\n_t0 = time.time()\ntime.sleep(1.5)\n'
        'print("SPAN", _t0, time.time(), os.environ.get("CUDA_VISIBLE_DEVICES"), DEVICE)\n'
        'def double(x):\n    return 2 * x')


def test_at_most_k_gpu_kernels_at_once(mini_course, tmp_path, monkeypatch):
    _, spec = mini_course
    monkeypatch.setenv("GRADER_GPUS", "0,1")
    for i in range(5):
        write_submission(spec, tmp_path / "subs", f"s{i}", SPAN)
    summary = grade_batch(spec, tmp_path / "subs", tmp_path / "out", workers=3, device="cuda")
    assert all(r["score"] == 4 for r in summary.results.values())
    spans = []
    for student in summary.results:
        nb = json.loads((tmp_path / "out" / "executed" / f"{student}.ipynb").read_text())
        text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
        line = next(ln for ln in text.splitlines() if ln.startswith("SPAN"))
        _, start, end, gpu, device = line.split()
        assert device == "cuda" and gpu in ("0", "1")
        assert summary.results[student]["extra_data"]["isolation"]["gpu"] == gpu
        spans.append((float(start), float(end), gpu))
    for i, (s1, e1, g1) in enumerate(spans):
        for s2, e2, g2 in spans[i + 1:]:
            assert g1 != g2 or e1 <= s2 or e2 <= s1, "two kernels shared a GPU at the same time"
    moments = sorted({s for s, _, _ in spans})
    assert max(sum(s <= m < e for s, e, _ in spans) for m in moments) <= 2
