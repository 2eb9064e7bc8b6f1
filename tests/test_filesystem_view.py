"""The kernel's filesystem is an allow-list (DESIGN.md section 5).

A hostile submission walks the whole filesystem for notebooks, hidden tests, results and
gradebooks, with world-readable copies of a course placed under /tmp, /home/<someone> and /srv
and a second batch grading at the same time. It must find nothing but the read-only runtime.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from grader.batch import grade_batch
from grader.kernels.sandbox import is_root, runtime_paths

from .helpers import ROOT, write_submission

pytestmark = pytest.mark.slow

# the answer cell of the mini exercise, plus a walk of everything the kernel can see
HOSTILE = '''
def double(x):
    return 2 * x

import fnmatch, json, os, sys
PATTERNS = ("*.ipynb", "test_*.py", "*.json", "*.sqlite")
here = os.path.dirname(os.path.realpath(os.getcwd()))  # the kernel's own folder
# not worth a look (and thousands of package files): the system and Python's own folders
skip = {"/proc", "/sys", "/dev", "/usr", *(os.path.realpath(p) for p in (sys.prefix, sys.base_prefix))}
found = []
for top, dirs, files in os.walk("/", onerror=lambda e: None):
    if top in skip:
        dirs[:] = []
        continue
    for name in files:
        path = os.path.join(top, name)
        if not path.startswith(here + "/") and any(fnmatch.fnmatch(name, p) for p in PATTERNS):
            found.append(path)
print("FOUND " + json.dumps({
    "found": found, "top": sorted(os.listdir("/")), "tmp": sorted(os.listdir("/tmp")),
    "passwd": open("/etc/passwd").read(), "mountinfo": open("/proc/self/mountinfo").read(),
    "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}))
'''

SLOW = 'def double(x):\n    return 2 * x\n\nimport time\nfor _ in range(12):\n    time.sleep(0.4)'


def _plant_course_copy(target: Path) -> None:
    """A world-readable copy of a course: solutions, hidden tests, a result, a gradebook."""
    for folder in ("solutions", "autograde_tests"):
        shutil.copytree(ROOT / folder, target / folder)
    (target / "grading" / "results").mkdir(parents=True)
    (target / "grading" / "results" / "someone.json").write_text('{"score": 20}')
    (target / "grading" / "gradebook.sqlite").write_bytes(b"SQLite format 3\0")
    for path in [target, *target.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    for parent in target.parents:
        if parent == Path("/"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o005)


def _executed_output(out: Path, student: str) -> dict:
    nb = nbformat.read(out / "executed" / f"{student}.ipynb", as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if output.get("output_type") == "stream" and text.startswith("FOUND "):
                return json.loads(text[len("FOUND "):])
    raise AssertionError("the hostile cell printed nothing")


def _outside_runtime(paths: list[str]) -> list[str]:
    runtime = {os.path.realpath(p) for p in runtime_paths()}
    return [p for p in paths
            if not any(p == r or p.startswith(r.rstrip("/") + "/") for r in runtime)]


@pytest.mark.skipif(not is_root(), reason="plants copies under /home and /srv and runs a second "
                    "batch: needs root (the ordinary-user view is tested in test_student_kit)")
def test_a_hostile_notebook_finds_nothing_outside_its_folder(mini_course, tmp_path):
    _, spec = mini_course
    token = uuid.uuid4().hex[:8]
    planted = [Path(f"/tmp/grader-test-course-{token}"), Path(f"/home/grader-test-{token}/course"),
               Path(f"/srv/grader-test-{token}/course")]
    second_out = Path(f"/tmp/grader-test-second-{token}")
    second = None
    try:
        for place in planted:
            _plant_course_copy(place)
        # a second batch, grading a slow submission of the same exercise at the same time
        write_submission(spec, tmp_path / "slow", "slowpoke", SLOW)
        second = subprocess.Popen(
            [sys.executable, "-m", "grader", "--course", str(spec.course.root), "grade", spec.id,
             str(tmp_path / "slow"), "--out", str(second_out), "--workers", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not list(second_out.glob(".grader/reference-*.json")):  # its student is being graded
            assert second.poll() is None and time.monotonic() < deadline, "the second batch did not start"
            time.sleep(0.2)
        write_submission(spec, tmp_path / "subs", "mallory", HOSTILE)
        summary = grade_batch(spec, tmp_path / "subs", tmp_path / "out")
        assert second.poll() is None, "the second batch should still be grading"
        seen = _executed_output(tmp_path / "out", "mallory")
        iso = summary.results["mallory"]["extra_data"]["isolation"]
        assert iso["filesystem"] == "allow-list", iso["not_applied"]
        assert _outside_runtime(seen["found"]) == [], "files outside the kernel's folder and the runtime"
        assert not [p for p in seen["found"] if token in p or "autograde_tests" in p or "solutions/" in p]
        # only its own folder (and the way to a runtime folder that lies under /tmp, if any)
        runtime_ways = {p.split("/")[2] for p in map(os.path.realpath, runtime_paths()) if p.startswith("/tmp/")}
        own = [name for name in seen["tmp"] if name not in runtime_ways]
        assert len(own) == 1 and own[0].startswith("grader-kernel-"), seen["tmp"]
        assert not {"home", "srv", "opt", "mnt", "media", "var"} & set(seen["top"])
        assert [line.split(":")[0] for line in seen["passwd"].splitlines()] == ["root", "student", "nobody"]
        mounts = [line.split()[4] for line in seen["mountinfo"].splitlines()]
        assert not [m for m in mounts if m.startswith(("/home", "/srv", "/var", "/work/main/solutions"))]
        assert str(spec.course.root) not in seen["mountinfo"] and str(second_out) not in seen["mountinfo"]
        assert seen["processes"] and len(seen["processes"]) < 10, "other users' processes are visible"
    finally:
        if second is not None:
            second.kill()
            second.wait()
        for place in planted:
            shutil.rmtree(place.parent if place.name == "course" else place, ignore_errors=True)
        shutil.rmtree(second_out, ignore_errors=True)
