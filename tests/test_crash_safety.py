"""`kill -9` of the grader in the middle of a batch, then the same command again."""
from __future__ import annotations

import pytest

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from .helpers import write_submission

pytestmark = pytest.mark.slow  # real kernels or processes

SLOW = 'import time\ntime.sleep(2)\n\ndef double(x):\n    return 2 * x'


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_kill_9_then_resume(mini_course, tmp_path):
    course, spec = mini_course
    subs = tmp_path / "subs"
    students = [f"s{i}" for i in range(8)]
    for student in students:
        write_submission(spec, subs, student, SLOW)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader", "grade", spec.id, str(subs), "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=course.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    family: set[int] = set()
    while time.monotonic() < deadline:
        family |= _descendants(proc.pid)
        done = list((out / "results").glob("*.json")) if (out / "results").is_dir() else []
        if len(done) >= 2:
            break
        time.sleep(0.1)
    family |= _descendants(proc.pid)
    finished_before = {p.stem for p in (out / "results").glob("*.json")}
    assert 2 <= len(finished_before) < len(students), "the batch must be killed in the middle"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    # workers and kernels die with the grader (parent-death signal), nothing is left behind
    time.sleep(3)
    left = [pid for pid in family if _alive(pid)]
    assert not left, f"processes left after kill -9: {left}"

    again = subprocess.run(cmd, cwd=course.root, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    match = re.search(r"(\d+) submissions \((\d+) graded, (\d+) unchanged", again.stdout)
    total, graded, reused = map(int, match.groups())
    assert total == len(students) and graded + reused == total
    assert reused >= len(finished_before)  # finished work is not redone
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        rows = db.execute("select student, score from submissions order by student").fetchall()
        tests = db.execute("select count(*) from test_results").fetchone()[0]
    assert rows == [(s, 4.0) for s in students]  # nothing lost, nothing counted twice
    assert tests == 3 * len(students)
    csv_rows = (out / "grades.csv").read_text().splitlines()[2:]   # after the header and the maxima
    assert sorted(r.split(",")[0] for r in csv_rows) == students
