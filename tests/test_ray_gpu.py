"""The Ray backend on GPUs, with a local Ray instance the grader starts itself (its own module:
the cluster of test_ray_backend.py must not be running)."""
from __future__ import annotations

import pytest

from grader.batch import grade_batch

from .helpers import write_submission

pytestmark = pytest.mark.slow  # real kernels or processes

ray = pytest.importorskip("ray", reason="Ray is part of the [dev] extra; install it to test the backend")


@pytest.mark.timeout(240)
def test_ray_on_gpus_gives_each_task_a_gpu_and_a_slot(mini_course, tmp_path, monkeypatch):
    """Tasks ask for num_gpus=1; the local Ray instance gets the grader's GPU list (the grader
    hides the GPUs from its own CUDA, so Ray's own detection would find none and the tasks would
    wait forever); each task's kernel is pinned to the GPU Ray gave it. Faked GPU list."""
    assert not ray.is_initialized()
    _, spec = mini_course
    monkeypatch.setenv("GRADER_GPUS", "0")
    write_submission(spec, tmp_path / "subs", "good", "def double(x):\n    return x + x")
    write_submission(spec, tmp_path / "subs", "wrong", "def double(x):\n    return x * 3")
    summary = grade_batch(spec, tmp_path / "subs", tmp_path / "out", backend="ray", workers=2, device="cuda")
    assert not ray.is_initialized()  # the grader shut down the instance it started
    assert {s: r["score"] for s, r in summary.results.items()} == {"good": 4, "wrong": 1}
    assert {r["extra_data"]["isolation"]["gpu"] for r in summary.results.values()} == {"0"}
