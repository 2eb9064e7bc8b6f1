from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def course():
    from grader.course import load_course
    return load_course(ROOT)


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable


def run_cli(*args: str, cwd: Path | None = None) -> "subprocess.CompletedProcess[str]":  # noqa: F821
    import subprocess
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd or ROOT, text=True,
                          capture_output=True, timeout=600)
