"""GPU slots with a fake device list: at most K GPU kernels at once, each pinned to its GPU."""
from __future__ import annotations

import json
import os
import time

import pytest

from grader.errors import GradingError
from grader.batch import grade_batch
from grader.kernels.gpus import GpuSlot, visible_gpus

from .helpers import add_hidden_test, write_submission

pytestmark = pytest.mark.slow  # real kernels or processes


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


GRADER_ENV = '''
import os
import pytest


@pytest.mark.points(1)
def test_grader_process_sees_no_gpu():
    """the grader's own CUDA sees no GPU; the slots know them"""
    assert os.environ.get("CUDA_VISIBLE_DEVICES") == "", "the grader process can see the GPUs"
    assert os.environ.get("GRADER_GPUS") == "0,1", "the slots lost the GPU list"
'''


def test_at_most_k_gpu_kernels_at_once(mini_course, tmp_path, monkeypatch):
    _, spec = mini_course
    monkeypatch.delenv("GRADER_GPUS", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # the GPUs this grader was given
    # a hidden test that looks at the grader process it runs in (the main one and the workers)
    spec = add_hidden_test(spec, "test_grader_env.py", GRADER_ENV)
    for i in range(5):
        write_submission(spec, tmp_path / "subs", f"s{i}", SPAN)
    summary = grade_batch(spec, tmp_path / "subs", tmp_path / "out", workers=3, device="cuda")
    # while grading, the graders' own torch was kept off the GPUs (and the slots knew them);
    # afterwards the caller's environment is back
    assert all(r["score"] == 5 for r in summary.results.values())
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0,1" and "GRADER_GPUS" not in os.environ
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


def _spans(summary, out):
    spans = []
    for student in summary.results:
        nb = json.loads((out / "executed" / f"{student}.ipynb").read_text())
        text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
        line = next(ln for ln in text.splitlines() if ln.startswith("SPAN"))
        _, start, end, gpu, _ = line.split()
        spans.append((float(start), float(end), gpu))
    return spans


def _most_at_once(spans, gpu):
    mine = [(s, e) for s, e, g in spans if g == gpu]
    return max(sum(s <= m < e for s, e in mine) for m, _ in mine)


def test_kernels_per_gpu_lets_kernels_share_a_gpu(mini_course, tmp_path, monkeypatch):
    course, spec = mini_course
    monkeypatch.setenv("GRADER_GPUS", "0")
    yaml_path = course.root / "course.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("memory: 1GiB\n", "memory: 1GiB\n    kernels_per_gpu: 2\n"))
    from grader.course import load_course
    spec = load_course(course.root).get(spec.id)
    assert spec.kernels_per_gpu == 2
    for i in range(4):
        write_submission(spec, tmp_path / "subs", f"s{i}", SPAN)
    summary = grade_batch(spec, tmp_path / "subs", tmp_path / "out", workers=3, device="cuda")
    assert all(r["score"] == 4 for r in summary.results.values())
    # two kernels on GPU 0 at once (the slots allow it and 3 workers ask), never three
    assert _most_at_once(_spans(summary, tmp_path / "out"), "0") == 2


def test_kernels_per_gpu_is_validated(mini_course):
    course, _ = mini_course
    yaml_path = course.root / "course.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("memory: 1GiB\n", "memory: 1GiB\n    kernels_per_gpu: 0\n"))
    from grader.course import CourseError, load_course
    with pytest.raises(CourseError, match="kernels_per_gpu"):
        load_course(course.root)


MISS = '''
import pytest


@pytest.mark.points(1)
def test_answer_of_the_student(student, reference):
    """a probe built from the student's own answer"""
    v = student.eval("double(3)")
    # not in the reference's answer cache unless the student's answer is 6
    assert reference.eval(f"double(3) + 0 * {v!r}") == v, "double(3) should be 6"
'''


@pytest.mark.timeout(120)
def test_reference_cache_miss_while_the_only_gpu_is_held(mini_course, tmp_path, monkeypatch):
    """A hidden test whose probe depends on the student's answer misses the reference's cache:
    the reference kernel then starts on the GPU the student's kernel holds (it used to wait
    for a slot of its own, i.e. for itself, forever)."""
    _, spec = mini_course
    spec = add_hidden_test(spec, "test_miss.py", MISS)
    monkeypatch.setenv("GRADER_GPUS", "0")
    write_submission(spec, tmp_path / "subs", "right", "def double(x):\n    return 2 * x")
    write_submission(spec, tmp_path / "subs", "off_by_one", "def double(x):\n    return 2 * x + 1")
    summary = grade_batch(spec, tmp_path / "subs", tmp_path / "out", workers=2, device="cuda")
    assert summary.results["right"]["score"] == 5
    miss = {t["name"]: t for t in summary.results["off_by_one"]["tests"]}["a probe built from the student's own answer"]
    assert miss["status"] == "failed" and "double(3) should be 6" in miss["output"]


def test_gpu_spare_kernel_is_pinned_and_reused(mini_course, monkeypatch):
    """On GPU the warm spare is pinned to one GPU; a slot on that GPU takes it, a slot on
    another GPU gets a kernel pinned there instead."""
    from grader.pipeline.reference import Catalog
    from grader.pipeline.grader import Grader
    from grader.pipeline.fingerprint import exercise_fingerprint
    _, spec = mini_course
    monkeypatch.setenv("GRADER_GPUS", "0,1")
    grader = Grader(spec, "cuda", None, Catalog([]), exercise_fingerprint(spec, "cuda"))
    try:
        grader.warm()
        spare = grader._spare
        assert spare is not None and spare.gpu in ("0", "1")
        with GpuSlot(["0", "1"], prefer=spare.gpu) as slot:
            assert slot.device == spare.gpu
            kernel = grader._kernel_for("a", slot)
            assert kernel is spare and grader._spare.gpu == slot.device
            kernel.close()
        other = "1" if spare.gpu == "0" else "0"
        next_spare = grader._spare
        with GpuSlot([other]) as slot:
            kernel = grader._kernel_for("b", slot)
            assert kernel is not next_spare and kernel.gpu == other
            assert kernel.env["CUDA_VISIBLE_DEVICES"] == other
            assert not next_spare._root.exists()  # the spare pinned elsewhere was closed
            kernel.close()
    finally:
        grader.close()


def test_kernels_without_a_gpu_see_no_nvidia_device_node(monkeypatch):
    """CUDA_VISIBLE_DEVICES="" does not stop CUDA from opening the GPUs (on a real GPU a CPU
    kernel had /dev/nvidia0 open): only a kernel with a GPU gets the NVIDIA nodes in its view.
    Faked here with plain files standing in for the nodes."""
    import tempfile
    from pathlib import Path

    from grader.kernels import gpus
    from grader.kernels.spec import KernelLimits
    from grader.kernels.live import LiveKernel
    from grader.kernels.sandbox import Sandbox

    dev = Path(tempfile.mkdtemp(prefix="grader-test-dev-"))
    try:
        os.chmod(dev, 0o755)
        for name in ("nvidia0", "nvidia1", "nvidiactl"):
            (dev / name).write_text("device")
            os.chmod(dev / name, 0o644)
        (dev / "nvidia-caps").mkdir(mode=0o755)
        (dev / "nvidia-caps" / "nvidia-cap1").write_text("cap")
        monkeypatch.setattr(gpus, "DEV", dev)
        assert gpus.device_nodes() == [str(dev / n) for n in ("nvidia-caps", "nvidia0", "nvidia1", "nvidiactl")]
        read = (f"import os\nd = {str(dev)!r}\nNone if not os.path.isdir(d) else "
                "[os.listdir(os.path.join(d, n)) if os.path.isdir(os.path.join(d, n)) "
                "else open(os.path.join(d, n)).read() for n in sorted(os.listdir(d))]")
        visible = [["nvidia-cap1"], "device", "device", "device"]
        for fork_server in ("1", "0"):
            monkeypatch.setenv("GRADER_FORK_SERVER", fork_server)
            with LiveKernel(KernelLimits(), sandbox=Sandbox()) as kernel:
                kernel.start()
                assert kernel.isolation["filesystem"] == "allow-list"
                assert kernel.eval(read) is None
            with LiveKernel(KernelLimits(), device="cuda", gpu="1", sandbox=Sandbox()) as kernel:
                kernel.start()
                started = "the fork server" if fork_server == "1" else "a fresh process"
                assert kernel.isolation["started_by"] == started
                assert kernel.eval(read) == visible
                assert kernel.eval("import os; os.environ['CUDA_VISIBLE_DEVICES'], os.environ['CUDA_DEVICE_ORDER']") \
                    == ["1", "PCI_BUS_ID"]
    finally:
        import shutil
        shutil.rmtree(dev, ignore_errors=True)


def test_gpu_kernels_are_forked_warm_and_each_sees_only_its_slot(monkeypatch):
    """GPU kernels come from the fork server (torch already imported) like CPU ones: the server
    never started CUDA (a child of a process with a CUDA context could not use the GPU), and
    each child has its own slot's CUDA_VISIBLE_DEVICES before anything touches CUDA. A fake
    device list stands in for the GPUs here; benchmarks/gpu_check.py runs it on a real one."""
    from grader.kernels.live import LiveKernel
    from grader.kernels.sandbox import Sandbox
    from grader.kernels.spec import KernelLimits

    monkeypatch.setenv("GRADER_GPUS", "0,1")
    monkeypatch.setenv("GRADER_FORK_SERVER", "1")
    probe = ("import os, sys, torch\n"
             "[os.environ['CUDA_VISIBLE_DEVICES'], torch.cuda.is_initialized(), "
             "torch.cuda._is_in_bad_fork(), sorted(k for k in os.environ if k.startswith('PYTORCH_'))]")
    seen = {}
    for gpu in ("0", "1"):
        with LiveKernel(KernelLimits(), device="cuda", gpu=gpu, sandbox=Sandbox(), preload=["torch"]) as kernel:
            kernel.start()
            assert kernel.isolation["started_by"] == "the fork server"
            assert kernel.eval("'torch' in __import__('sys').modules") is True   # warm: imported by the server
            seen[gpu] = kernel.eval(probe)
    assert seen == {"0": ["0", False, False, []], "1": ["1", False, False, []]}
