"""The optional container wrapper (``--container podman``), with a real podman.

.ci/run installs podman and sets GRADER_REQUIRE_CONTAINER=1, so there these tests cannot be
skipped; elsewhere they are skipped only when no podman is installed.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from grader.kernels.container import Container
from grader.errors import ContainerError
from grader.kernels.doctor import run_checks
from grader.errors import GradingError
from grader.batch import grade_batch
from grader.kernels.sandbox import is_root

from .helpers import not_another_workers, run_cli, sandbox_leftovers, write_submission
from .test_engine import GOOD

pytestmark = pytest.mark.slow  # real kernels or processes

_PODMAN = shutil.which("podman")
needs_podman = pytest.mark.skipif(
    _PODMAN is None and os.environ.get("GRADER_REQUIRE_CONTAINER") != "1",
    reason="podman is not installed (CI installs it and requires these tests)")


def _kernel_containers() -> list[str]:
    done = subprocess.run(["podman", "ps", "-a", "--filter", "label=grader.owner", "--format",
                           "{{.Names}}"], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_command_line_isolates_and_mounts_only_the_kernel_folder(tmp_path):
    argv, name = Container("podman").kernel_command(
        root=tmp_path, workdir=tmp_path / "work", env={"HOME": str(tmp_path / "work")},
        memory=1024**3, processes=64, threads=1, launcher_options=["--memory", str(1024**3)])
    joined = " ".join(argv)
    for option in ("--network none", "--read-only", "--pids-limit 64", "--cap-drop all",
                   f"--name {name}", f"-e HOME={tmp_path / 'work'}", "--rootfs "):
        assert option in joined, option
    # the memory cap of the container is the rlimit plus a margin, swap included
    assert argv[argv.index("--memory") + 1] == argv[argv.index("--memory-swap") + 1] == str(1024**3 + 512 * 1024**2)
    # read-write: only the kernel's own folder; every other mount is read-only
    mounts = [argv[i + 1] for i, a in enumerate(argv) if a == "-v"]
    assert [m for m in mounts if not m.endswith(":ro")] == [f"{tmp_path}:{tmp_path}"]
    # with an image: the image's Python runs the launcher, no host folders are mounted
    argv, _ = Container("docker", image="course:2026").kernel_command(
        root=tmp_path, workdir=tmp_path, env={}, memory=None, processes=None, threads=2,
        launcher_options=[])
    assert "--rootfs" not in argv and "--memory" not in argv
    assert argv[argv.index("course:2026") + 1:argv.index("course:2026") + 3] == ["python3", "/opt/grader/_launch.py"]
    launcher = f"{os.path.dirname(__import__('grader').__file__)}/kernels/_launch.py"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-v"][1:] == [f"{launcher}:/opt/grader/_launch.py:ro"]


def test_missing_or_misconfigured_engine_is_a_clear_error(mini_course, tmp_path):
    with pytest.raises(ContainerError, match="unknown container engine"):
        Container("lxc")
    with pytest.raises(ContainerError, match="not installed"):
        Container("/nonexistent/podman").check()
    from grader.kernels.spec import KernelLimits
    from grader.kernels.live import LiveKernel
    from grader.kernels.sandbox import Sandbox
    with pytest.raises(ContainerError, match="GPU kernels in containers"):
        LiveKernel(KernelLimits(), device="cuda", gpu="0", sandbox=Sandbox(container=Container("podman")))
    _, spec = mini_course
    write_submission(spec, tmp_path / "subs", "a", GOOD)
    with pytest.raises(GradingError, match="not installed"):
        grade_batch(spec, tmp_path / "subs", tmp_path / "out", container=Container("/nonexistent/docker"))
    # on the command line: a message and exit code 2, no traceback
    done = run_cli("grade", spec.id, str(tmp_path / "subs"), "--out", str(tmp_path / "o"),
                   "--container-image", "x", cwd=spec.course.root)
    assert done.returncode == 2 and "--container-image needs --container" in done.stderr
    assert "Traceback" not in done.stderr


@needs_podman
def test_doctor_checks_every_measure_inside_a_podman_container():
    checks = {c.measure: c for c in run_checks(Container("podman"))}
    failed = {m: c.detail for m, c in checks.items() if not c.ok}
    assert not failed
    assert "podman" in checks["container"].detail
    if is_root():
        assert "uid 6" in checks["unprivileged user"].detail


@needs_podman
def test_grading_in_podman_gives_the_same_scores_and_leaves_nothing(mini_course, tmp_path):
    _, spec = mini_course
    subs = tmp_path / "subs"
    write_submission(spec, subs, "good", GOOD)
    write_submission(spec, subs, "wrong", 'def double(x):\n    return x * 3')
    write_submission(spec, subs, "loops", 'def double(x):\n    while True:\n        pass')
    # doubles honestly only where it is offline and cannot see the hidden tests
    tests_file = spec.tests_dir / "test_mini.py"
    write_submission(spec, subs, "snoops", 'import os, socket\n'
                     'def double(x):\n    try:\n'
                     '        socket.create_connection(("1.1.1.1", 53), timeout=1); online = True\n'
                     '    except OSError:\n        online = False\n'
                     f'    seen = os.path.exists({str(tests_file)!r})\n'
                     '    return 3 * x if online or seen else 2 * x')
    # the kernel dies in a cell: it is restarted (in a new container of the same name) and the
    # cells after the fatal one still run
    write_submission(spec, subs, "exits", 'import os\nos._exit(1)')
    write_submission(spec, subs, "daemon", 'import subprocess\n'
                     "subprocess.Popen(['sh', '-c', 'setsid sleep 600 &'])\n" + GOOD)
    plain = grade_batch(spec, subs, tmp_path / "plain", workers=1)
    boxed = grade_batch(spec, subs, tmp_path / "boxed", workers=2, container=Container("podman"))
    scores = {s: r["score"] for s, r in boxed.results.items()}
    assert scores == {s: r["score"] for s, r in plain.results.items()}
    assert scores == {"good": 4, "wrong": 1, "loops": 1, "snoops": 4, "daemon": 4, "exits": 1}
    assert boxed.results["exits"]["extra_data"]["reason"] == plain.results["exits"]["extra_data"]["reason"]
    assert tests_file.exists()  # (it is there: the kernels could not see it)
    iso = boxed.results["good"]["extra_data"]["isolation"]
    assert iso["started_by"] == "a podman container" and iso["network"].startswith("none")
    assert iso["memory_cap"] and not iso["not_applied"]
    # every container is gone, and every process of the sandbox uids
    assert _kernel_containers() == []
    if is_root():
        assert sandbox_leftovers(counts=not_another_workers) == []


@needs_podman
def test_containers_of_a_killed_grader_are_removed_by_the_next_one(tmp_path):
    import signal
    import sys
    script = ("from grader.kernels.live import LiveKernel\nfrom grader.kernels.spec import KernelLimits\n"
              "from grader.kernels.sandbox import Sandbox\nfrom grader.kernels.container import Container\nimport time\n"
              "k = LiveKernel(KernelLimits(), sandbox=Sandbox(container=Container('podman')))\n"
              "k.start(); print(k.container_name, k.uid, flush=True); time.sleep(600)\n")
    grader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        name, uid = grader.stdout.readline().split()
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()
    assert name in _kernel_containers()  # the engine keeps it: nothing killed it
    assert Container("podman").remove_orphans() == [name]
    assert name not in _kernel_containers()
    if uid != "None":
        assert sandbox_leftovers(int(uid), counts=not_another_workers) == []
