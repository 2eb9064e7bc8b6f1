"""Fixtures shared by the tests (helpers to import are in tests/helpers.py)."""
from __future__ import annotations

import os
import sys

import pytest

from .helpers import MINI_ID, MINI_TESTS, ROOT, _mini_notebook

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def course():
    from grader.course import load_course
    return load_course(ROOT)


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable


@pytest.fixture
def mini_course(tmp_path):
    """A one-exercise course in tmp_path, released; returns (course, spec)."""
    import nbformat
    from grader.course import load_course
    from grader.authoring.release import release
    root = tmp_path / "course"
    (root / "solutions").mkdir(parents=True)
    (root / "autograde_tests" / MINI_ID).mkdir(parents=True)
    (root / "course.yaml").write_text(
        "course: Mini\nseed: 77\nexercises:\n"
        f"  - id: {MINI_ID}\n    title: Mini\n    week: 1\n    points: 4\n"
        "    cell_timeout: 5\n    notebook_budget: 30\n    test_timeout: 3\n    memory: 1GiB\n")
    nbformat.write(_mini_notebook(), root / "solutions" / f"{MINI_ID}.ipynb")
    (root / "autograde_tests" / MINI_ID / "test_mini.py").write_text(MINI_TESTS)
    course = load_course(root)
    spec = course.get(MINI_ID)
    release(spec)
    return course, spec
