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
