"""Shared helpers (grader.util)."""
from __future__ import annotations

import os

import pytest





def test_leftover_folders_of_dead_processes_are_swept(tmp_path, monkeypatch):
    import subprocess
    import sys
    import tempfile

    from grader import util
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = tmp_path / f"grader-unit-{dead.pid}-abc"
    kept = tmp_path / f"grader-unit-{os.getpid()}-def"
    other = tmp_path / f"grader-unitx-{dead.pid}-ghi"  # another kind
    for folder in (gone, kept, other):
        (folder / "work").mkdir(parents=True)
    made = util.private_dir("unit")
    assert not gone.exists() and kept.exists() and other.exists()
    assert made.name.startswith(f"grader-unit-{os.getpid()}-") and oct(made.stat().st_mode & 0o777) == "0o700"


def test_progress_lines_where_no_terminal_shows_a_bar():
    """A CI log or a scheduler's file gets a line every few seconds, with an ETA, and a last one."""
    import io

    from grader.cli import LogProgress, _progress
    now = [100.0]
    out = io.StringIO()
    bar = LogProgress(None, "grading week02_autograd", stream=out, every=10, clock=lambda: now[0])
    bar.total = 40                       # known once the engine has looked
    for step in range(10):
        now[0] += 1.5
        bar.update()
        bar.set_postfix(not_clean=step // 4)
    bar.close()
    bar.close()
    assert out.getvalue().splitlines() == [
        "grading week02_autograd: 7/40 done, not clean 1, 10 s elapsed, ETA 50 s",
        "grading week02_autograd: 10/40 done, not clean 2, 15 s elapsed, ETA 45 s",
    ]
    quiet = io.StringIO()
    LogProgress(None, "grading", stream=quiet).close()   # an error before any work: no line
    assert quiet.getvalue() == ""
    # pytest's captured stderr is not a terminal: the commands print lines, not a bar
    assert isinstance(_progress(3, "x"), LogProgress)


def test_remember_tells_large_arrays_apart():
    """repr() shortens arrays over 1000 entries with '...': the cache must not take two of them
    for the same argument."""
    import numpy as np

    from grader.testing import remember

    @remember
    def total(a, scale=1):
        return float(a.sum()) * scale

    zeros = np.zeros(2000)
    five = zeros.copy()
    five[1000] = 5
    assert total(zeros) == 0.0 and total(five) == 5.0 and total(five, scale=2) == 10.0
    assert total(five.astype(np.float32)) == 5.0
    assert total(np.zeros((2, 1000))) == 0.0 and total(np.zeros((2, 1000)) + 1) == 2000.0


def test_reading_notebooks_does_not_load_the_iri_grammar():
    """jsonschema (under nbformat) would import rfc3987_syntax, which builds a Lark grammar as
    it is imported (1.5 s of every command): skipped for jsonschema's own import only."""
    import subprocess
    import sys
    probe = ("import sys, grader, nbformat, jsonschema\n"
             "print('rfc3987_syntax' in sys.modules)\n"
             "print(any(type(f).__name__ == '_JsonschemaWithoutIriFormat' for f in sys.meta_path))\n"
             "try:\n    import rfc3987_syntax\n    print('importable')\nexcept ImportError:\n    print('not installed')\n"
             "nbformat.validate(nbformat.v4.new_notebook())\nprint('validates')")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out[:2] == ["False", "False"]  # not loaded with nbformat; the finder removed itself
    assert out[2] in ("importable", "not installed")  # others may still import it
    assert out[-1] == "validates"


def test_loading_for_long_freezes_what_was_loaded_and_collects_afterwards():
    import gc

    from grader.util import loading_for_long
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with loading_for_long():
            assert not gc.isenabled()
            kept = [[i] for i in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(kept)
    finally:
        gc.unfreeze()


def test_remember_finds_a_helper_again_when_its_module_is_imported_afresh():
    """The suite is imported afresh for every submission: a remembered helper must be found again
    in the new import, also when it holds a lambda or a comprehension (their code objects'
    repr holds an address, which once made every import a new key), and a changed helper must
    not be."""
    from grader.testing import remember

    source = ("calls = []\n"
              "def oracle(xs, scale=2):\n"
              "    calls.append(1)\n"
              "    f = lambda v: v * scale\n"
              "    return [f(x) for x in xs]\n")

    def fresh(text):  # one import of a test module
        space = {"__name__": "test_mod", "__file__": "/suite/test_mod.py"}
        exec(compile(text, "/suite/test_mod.py", "exec"), space)
        space["oracle"] = remember(space["oracle"])
        return space

    first, second = fresh(source), fresh(source)
    assert first["oracle"]([1, 2]) == [2, 4]
    assert second["oracle"]([1, 2]) == [2, 4] and second["calls"] == []   # found again
    assert second["oracle"]([1, 3]) == [2, 6] and second["calls"] == [1]  # other arguments
    changed = fresh(source.replace("v * scale", "v * scale + 1"))
    assert changed["oracle"]([1, 2]) == [3, 5] and changed["calls"] == [1]
    other_default = fresh(source.replace("scale=2", "scale=3"))
    assert other_default["oracle"]([1, 2]) == [3, 6]

    # found or computed, a helper leaves the global generators as they were
    import random as _random

    import numpy as np
    import torch
    drawing = fresh("def oracle(n):\n"
                    "    import random, numpy, torch\n"
                    "    return [random.random(), float(numpy.random.rand()), float(torch.rand(1))] * n\n")
    after = []
    for _ in range(2):   # a miss, then a hit
        _random.seed(1), np.random.seed(1), torch.manual_seed(1)
        drawing["oracle"](1)
        after.append((_random.random(), float(np.random.rand()), float(torch.rand(1))))
    assert after[0] == after[1]
    _random.seed(1), np.random.seed(1), torch.manual_seed(1)
    assert after[0] == (_random.random(), float(np.random.rand()), float(torch.rand(1)))

    def outer(k):
        def inner(x):
            return x * k
        return inner
    with pytest.raises(TypeError, match="enclosing function"):
        remember(outer(2))


def test_each_hidden_test_starts_from_the_same_global_random_state(tmp_path):
    """What a hidden test draws from the grader's global generators (random, NumPy, PyTorch)
    depends only on the grading seed and the test, not on what ran before it in the process."""
    import random

    import numpy as np
    import torch

    from grader.pipeline.suite import run_suite

    (tmp_path / "test_draws.py").write_text(
        "import random, numpy as np, torch, pytest\n"
        "@pytest.mark.points(1)\n"
        "def test_first(student):\n"
        "    assert False, repr((random.random(), float(np.random.rand()), float(torch.rand(1))))\n"
        "@pytest.mark.points(1)\n"
        "def test_second(student):\n"
        "    assert False, repr((random.random(), float(np.random.rand()), float(torch.rand(1))))\n")

    class Nobody:
        def eval(self, src, timeout=None):
            raise AssertionError("no probe here")

    def messages(seed):
        return [outcome.message for outcome in run_suite(tmp_path, Nobody(), Nobody(), seed)]

    first = messages(7)
    random.random(), np.random.rand(5), torch.rand(5)   # the process's state moves on
    assert messages(7) == first
    assert first[0] != first[1]           # each test its own state
    assert messages(8) != first           # and each grading seed
