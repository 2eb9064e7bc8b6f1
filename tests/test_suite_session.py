"""The hidden suite's pytest session, kept by a grader process between submissions
(grader.pipeline.suite._KeptSession): every submission still gets the suite imported afresh,
its own fixtures (module- and session-scoped ones too), and pytest's features as before."""
from __future__ import annotations

import gc
import os
import pickle
import sys

import pytest

from grader import cells
from grader.pipeline import suite
from grader.pipeline.suite import run_suite

CONFTEST = """\
import pytest

@pytest.fixture
def offset():
    return 10
"""

# a module-level list that a test appends to: it must start empty for every submission
MODULE_STATE = """\
KEPT = []

@pytest.mark.points(1)
def test_module_state_is_fresh():
    \"\"\"module state\"\"\"
    KEPT.append(1)
    assert KEPT == [1], f"the suite's module kept state from an earlier run: {KEPT}"
"""

SUITE = """\
import os, sys, pytest

@pytest.fixture(scope="module")
def module_box():
    return []

@pytest.fixture(scope="session")
def session_box():
    return []

""" + MODULE_STATE + """
@pytest.mark.points(1)
@pytest.mark.parametrize("k", [1, 2])
def test_fixtures_are_this_submissions(k, module_box, session_box, offset):
    \"\"\"fixtures\"\"\"
    module_box.append(k)
    session_box.append(k)
    assert module_box == [1, 2][:k], f"a module fixture from an earlier run: {module_box}"
    assert session_box == [1, 2][:k], f"a session fixture from an earlier run: {session_box}"
    assert offset == 10

@pytest.mark.points(1)
def test_pytest_fixtures_work(tmp_path, monkeypatch, capsys):
    \"\"\"pytest's fixtures\"\"\"
    monkeypatch.setenv("GRADER_SUITE_PROBE", "1")
    (tmp_path / "f.txt").write_text("x")
    print("to stdout")
    assert capsys.readouterr().out == "to stdout\\n"
    assert os.environ["GRADER_SUITE_PROBE"] == "1"

@pytest.mark.points(1)
def test_output_stays_inside():
    \"\"\"output\"\"\"
    print("printed by a hidden test")
    os.write(1, b"written to fd 1 by a hidden test\\n")
    sys.stderr.write("printed to stderr by a hidden test\\n")
    os.chdir("/")

@pytest.mark.points(1)
def test_fails_with_its_message(student):
    \"\"\"a failing test\"\"\"
    assert student.eval("name") == "A", f"expected A, got {student.eval('name')}"
"""


class Student:
    def __init__(self, name):
        self.name = name

    def eval(self, src, timeout=None):
        assert src == "name"
        return self.name


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_kept.py").write_text(SUITE)
    yield tmp_path
    suite._KEPT.pop(str(tmp_path), None)


def _outcomes(folder, name, seed):
    return {t.id: (t.status, t.message) for t in run_suite(folder, Student(name), Student("ref"), seed)}


def _fixture_count(kept):
    return sum(len(value) for value in vars(kept.session._fixturemanager).values()
               if isinstance(value, (dict, list, set)))


def test_a_kept_session_grades_every_submission_as_a_fresh_one(folder, capfd):
    cwd, stdin = os.getcwd(), (sys.stdin, os.readlink("/proc/self/fd/0"))
    runs = [_outcomes(folder, name, seed) for name, seed in (("A", 1), ("B", 2), ("A", 3), ("B", 4))]
    kept = suite._KEPT[str(folder)]
    assert isinstance(kept, suite._KeptSession) and not kept.broken  # the kept session graded them
    for run, name in zip(runs, "ABAB"):
        failed = {k: v for k, v in run.items() if v[0] != "passed"}
        if name == "A":
            assert not failed, failed
        else:
            assert failed == {"test_fails_with_its_message": ("failed", "expected A, got B")}
        assert len(run) == 6
    assert os.getcwd() == cwd  # a test's chdir does not outlive the run
    assert (sys.stdin, os.readlink("/proc/self/fd/0")) == stdin  # pytest gave stdin back
    out, err = capfd.readouterr()
    assert "hidden test" not in out + err  # what tests print stays in the suite's run
    count = _fixture_count(kept)
    _outcomes(folder, "A", 5)
    assert _fixture_count(kept) == count  # each collection's fixtures replace the last one's

    def reports():
        gc.collect()
        return sum(isinstance(o, pytest.TestReport) for o in gc.get_objects())

    before = reports()
    for seed in range(10):
        _outcomes(folder, "B", seed)
    assert reports() <= before + 3 * 6  # nothing keeps the reports of earlier runs


def test_a_forked_worker_and_a_failing_session_fall_back_to_what_works(folder, monkeypatch):
    _outcomes(folder, "A", 1)
    parent = suite._KEPT[str(folder)]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a forked worker: its own session, not the parent's
        try:
            run = _outcomes(folder, "B", 2)
            kept = suite._KEPT[str(folder)]
            os.write(write, pickle.dumps((run, kept is not parent, kept.pid == os.getpid())))
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        run, other, own = pickle.loads(pipe.read())
    os.waitpid(pid, 0)
    assert other and own
    assert run["test_fails_with_its_message"] == ("failed", "expected A, got B")

    def broken(*args, **kwargs):
        raise RuntimeError("pytest changed")

    monkeypatch.setattr(suite._KeptSession, "run", broken)
    run = _outcomes(folder, "B", 3)  # graded all the same, by pytest.main
    assert run["test_fails_with_its_message"] == ("failed", "expected A, got B")
    assert sum(status == "passed" for status, _ in run.values()) == 5, run


def test_a_suite_whose_folder_name_starts_another_suites_gets_its_own_modules(tmp_path):
    # hw1 and hw10: hw10's conftest and test module are not hw1's because the path starts alike
    for name, value in (("hw10", 10), ("hw1", 1)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "conftest.py").write_text(f"import pytest\n\n@pytest.fixture\ndef value():\n    return {value}\n")
        (folder / "test_hw.py").write_text(
            f"import pytest\n\n\n@pytest.mark.points(1)\ndef test_value(value):\n    assert value == {value}, value\n")
    try:
        for name in ("hw10", "hw1", "hw10", "hw1"):
            run = _outcomes(tmp_path / name, "A", 1)
            assert run == {"test_value": ("passed", "")}, (name, run)
    finally:
        for name in ("hw1", "hw10"):
            suite._KEPT.pop(str(tmp_path / name), None)


def test_libraries_a_hidden_test_imports_inside_a_function_are_loaded_before_the_first_submission(tmp_path):
    """Grader.prepare imports what test_imports lists, before a pool forks its workers: a library
    imported inside an oracle (week08's FID: `from torchmetrics.image.fid import ...`, 3.5 s) was
    imported again by every worker on its first submission (5.7 s of its 'tests' phase)."""
    (tmp_path / "test_x.py").write_text(
        "import numpy as np\n\n\ndef _oracle():\n    from torchmetrics.image.fid import FrechetInceptionDistance\n"
        "    return FrechetInceptionDistance\n", encoding="utf-8")
    assert cells.test_imports(tmp_path) == ["numpy", "torchmetrics", "torchmetrics.image.fid"]


PLAIN_SUITE = """\
import pytest

""" + MODULE_STATE + """
@pytest.mark.points(2)
def test_fails_with_its_message(student, offset, capsys):
    \"\"\"a failing test\"\"\"
    print("captured")
    assert offset == 10
    assert student.eval("name") == "A", f"expected A, got {student.eval('name')}"
"""


def test_a_plain_suite_is_collected_once_and_still_imported_afresh_for_every_run(folder):
    """Plain test functions in a module without fixtures: the kept session collects them once
    and runs the same items again, pointed at the module imported afresh (its state starts
    empty every time); a suite whose files change is collected again."""
    (folder / "test_kept.py").write_text(PLAIN_SUITE)
    modules = []
    for name, seed in (("A", 1), ("B", 2), ("A", 3), ("B", 4)):
        run = _outcomes(folder, name, seed)
        failed = {k: v for k, v in run.items() if v[0] != "passed"}
        assert failed == ({} if name == "A" else
                          {"test_fails_with_its_message": ("failed", "expected A, got B")}), (name, run)
        modules.append(sys.modules.get("test_kept") or next(
            m for n, m in sys.modules.items() if n.endswith("test_kept")))
    kept = suite._KEPT[str(folder)]
    assert isinstance(kept, suite._KeptSession) and kept.collections == 1
    assert len({id(m) for m in modules}) == 4  # a module of its own for every run
    assert all(len(item._report_sections) <= 3 for item in kept._items)  # no output piles up
    del modules
    for seed in range(8):
        _outcomes(folder, "A", seed)
    gc.collect()
    alive = [o for o in gc.get_objects() if type(o) is type(sys)  # (this folder's: not another test's)
             and str(getattr(o, "__file__", "")).startswith(str(folder))]
    assert len(alive) <= 2, f"{len(alive)} imports of the suite's module are still alive"
    # a run of some of the tests (as for a flipped set order) uses the same items
    plugin = suite._Plugin(Student("B"), Student("ref"), 5)
    suite._run(folder, plugin, only={"test_kept.py::test_fails_with_its_message"})
    assert plugin.outcomes == {"test_kept.py::test_fails_with_its_message": ("failed", "expected A, got B")}
    assert kept.collections == 1
    # the suite changed on disk: collected again, the new test included
    (folder / "test_kept.py").write_text(PLAIN_SUITE + "\n\n@pytest.mark.points(1)\ndef test_new():\n"
                                         "    \"\"\"new\"\"\"\n    assert True\n")
    os.utime(folder / "test_kept.py", ns=(1, 1))
    run = _outcomes(folder, "A", 6)
    assert set(run) == {"test_module_state_is_fresh", "test_fails_with_its_message", "test_new"}
    assert kept.collections == 2 and not [v for v in run.values() if v[0] != "passed"]


def test_a_suite_with_fixtures_or_parametrized_tests_is_collected_for_every_run(folder):
    for seed in range(3):
        _outcomes(folder, "A", seed)
    kept = suite._KEPT[str(folder)]
    assert isinstance(kept, suite._KeptSession) and kept.collections == 3 and kept._items is None
