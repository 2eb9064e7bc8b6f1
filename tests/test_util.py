"""Shared helpers (grader.util)."""
from __future__ import annotations

import os





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
